"""One module per pyrunsc command; each exposes ``command`` (click).

The registry is ``cli.main.COMMANDS``; modules starting with ``_`` are
helpers, not commands.
"""
