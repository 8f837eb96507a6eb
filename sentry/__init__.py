"""pyrunsc sentry: syscall interception, the filter, emulation, the VFS.

Cython and Python.  Imports neither ``runtime`` nor ``cli``.
"""
