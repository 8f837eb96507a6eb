"""Round trips of the gofer protocol, client and server on this host.

    python3 -m bench.gofer_rtt [--n 5000] [--same-cpu] [--server c|py]

A server forked on a temporary tree (the code of ``runtime/gofer.py``,
without the namespace setup; ``--server py`` without its C loop), clients
over SOCK_SEQPACKET socketpairs: the Python ``Client``/``GoferFs`` and the
nogil fast path; prints the mean and median microseconds per operation.
``--same-cpu`` pins both to CPU 0 (the wake-up cost across CPUs dominates
on a VM).
"""
import argparse
import os
import shutil
import socket
import statistics
import tempfile
import time

from runtime import gofer
from sentry.gofer import client as gc
from sentry.gofer._fast import FastConn
from sentry.gofer import proto as P


def _serve(root, socks, others, accel):
    pid = os.fork()
    if pid == 0:
        try:
            for s in others:
                s.close()
            srv = gofer.Server(os.open(root, os.O_PATH | os.O_DIRECTORY),
                               gofer.open_proc_fd(), accel=accel)
            srv.prepare_process()
            for t in [srv.serve_in_thread(s) for s in socks]:
                t.join()
        finally:
            os._exit(0)
    for s in socks:
        s.close()
    return pid


def _time(fn, n):
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    return statistics.mean(samples) / 1000, statistics.median(samples) / 1000


def run(n, accel=True):
    root = tempfile.mkdtemp(prefix="gofer-rtt-")
    os.makedirs(os.path.join(root, "usr", "lib"))
    with open(os.path.join(root, "usr", "lib", "f"), "wb") as f:
        f.write(b"x" * 100)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fa, fb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = _serve(root, [b, fb], [a, fa], accel)
    try:
        c = gc.Client(a)
        fast = FastConn(fa)
        fs = gc.GoferFs(c)
        fid = c.alloc()
        c.walk(c.root, [b"usr", b"lib", b"f"], fid)

        def open_close_fid():
            fd, _ = c.open(fid, os.O_RDONLY)
            os.close(fd)

        def open_close_path():
            fd, _ = fs.open("/usr/lib/f", os.O_RDONLY)
            os.close(fd)

        cases = [
            ("getattr (Tgetattr on a fid)", lambda: c.getattr(fid)),
            ("open+close (Topen on a fid)", open_close_fid),
            ("stat /usr/lib/f (GoferFs: one Twalk)",
             lambda: fs.stat("/usr/lib/f")),
            ("open+close /usr/lib/f (GoferFs: walk+open+clunk pipelined)",
             open_close_path),
            ("no-op (Tflush)", lambda: c.call(P.Tflush(0))),
            ("fast path (C, nogil): stat /usr/lib/f",
             lambda: fast.stat("/usr/lib/f")),
            ("fast path (C, nogil): open+close /usr/lib/f",
             lambda: os.close(fast.open("/usr/lib/f", os.O_RDONLY))),
        ]
        for name, fn in cases:
            _time(fn, n // 10)                      # warm up
            mean, med = _time(fn, n)
            print(f"{name:62s} mean {mean:7.1f} us  median {med:7.1f} us")
        c.close()
        fast.close()
    finally:
        a.close()
        fa.close()
        os.waitpid(pid, 0)
        shutil.rmtree(root)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--same-cpu", action="store_true")
    ap.add_argument("--server", choices=("c", "py"), default="c")
    args = ap.parse_args(argv)
    if args.same_cpu:
        os.sched_setaffinity(0, {0})
    run(args.n, accel=args.server == "c")


if __name__ == "__main__":
    main()
