"""Side-by-side benchmark harness: pyrunsc against native, runc and runsc.

`python3 -m bench --help` (or `make bench`) runs it; docs/performance.md
describes the method and holds the latest results.
"""
