"""``python -m cli``: the same as the ``pyrunsc`` console script.

The sandbox starts ``pyrunsc boot`` this way (runtime/sandbox.py), so that
boot runs the interpreter and checkout of the CLI that spawned it.
"""
from cli.main import main

main()
