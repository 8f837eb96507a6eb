"""Finding a runtime's own processes and adding up their memory.

A runtime's processes are those whose command line names its private
--root dir (runsc's sandbox and gofer, pyrunsc's boot and gofer carry it),
plus their descendants (runsc's ptrace stubs), minus the container's own
application processes (whose executable is the driver).
"""

import os


def _procs():
    """{pid: (ppid, cmdline)} for every readable process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        out[int(d)] = (ppid, cmd)
    return out


def runtime_pids(root_dir, app_exe):
    """Pids of the processes a runtime keeps for containers under root_dir."""
    procs = _procs()
    me = os.getpid()
    found = {p for p, (_, cmd) in procs.items()
             if root_dir in cmd and p != me}
    grew = True
    while grew:
        grew = False
        for p, (ppid, _) in procs.items():
            if ppid in found and p not in found:
                found.add(p)
                grew = True
    if app_exe:
        # Compare files, not paths: inside its mount namespace the app's
        # executable has the container's path.
        app = os.stat(app_exe)
        for p in list(found):
            try:
                st = os.stat(f"/proc/{p}/exe")
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (app.st_dev, app.st_ino):
                found.discard(p)
    return sorted(found)


def memory(pids):
    """(RSS KiB, PSS KiB) summed over pids, from smaps_rollup."""
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss
