"""The gofer protocol (``proto``) and the sentry's client (``client``).

The server lives in ``runtime/gofer.py``; README.md here states the
protocol and its trust model.
"""
