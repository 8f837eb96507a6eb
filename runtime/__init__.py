"""pyrunsc runtime: containers, sandboxes, specs, cgroups, boot and gofer.

Pure Python.  Imports ``sentry``; never imports ``cli``.
"""
