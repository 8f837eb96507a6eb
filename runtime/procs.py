"""Processes of a container, read from the host's /proc.

A process belongs to the container when its pid namespace is the one of
the container's init.  Container pids come from the ``NSpid`` line of
``/proc/<pid>/status`` (its last field is the pid as the container sees it).
"""
import os
import time

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def close_fds_except(keep):
    """Close every fd of this process but those in ``keep`` (a forked
    child about to become boot or a gofer)."""
    prev = -1
    for fd in sorted(set(keep)) + [65536]:
        # N.B. closerange(n, n) closes every fd on CPython 3.11 (it
        # becomes close_range(n, n - 1), an unsigned wrap).
        if fd > prev + 1:
            os.closerange(prev + 1, fd)
        prev = fd


def set_comm(name):
    """This thread's name in /proc (``ps``, ``top``): ``name`` (bytes, at
    most 15).  prctl(PR_SET_NAME) without ctypes (~5 ms to import)."""
    with open("/proc/thread-self/comm", "wb") as f:
        f.write(name)


def ns_inode(pid, ns="pid"):
    try:
        return os.stat(f"/proc/{pid}/ns/{ns}").st_ino
    except OSError:
        return None


def start_time(pid):
    """Field 22 of /proc/<pid>/stat (clock ticks since boot), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(b")") + 2:].split()
    return int(rest[19])


def state(pid):
    """The one-letter state of ``pid`` ('R', 'S', 'Z', ...), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2:].split()[0].decode()


def alive(pid, start):
    """True if ``pid`` runs and is the process that started at ``start``."""
    if not pid:
        return False
    st = start_time(pid)
    if st is None or (start is not None and st != start):
        return False
    return state(pid) not in (None, "Z", "X")


def _status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def list_in_pidns(init_pid):
    """Every host pid in the pid namespace of ``init_pid``."""
    ino = ns_inode(init_pid)
    if ino is None:
        return []
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit() and ns_inode(name) == ino:
            pids.append(int(name))
    return sorted(pids)


def describe(host_pids):
    """ps-like records for ``host_pids`` with container pids and ppids."""
    boot_time = 0
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                boot_time = int(line.split()[1])
    recs, cpid_of = [], {}
    for hp in host_pids:
        try:
            st = _status(hp)
            with open(f"/proc/{hp}/cmdline", "rb") as f:
                cmd = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(
                    errors="replace")
            with open(f"/proc/{hp}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rindex(b")") + 2:].split()
        if not cmd:
            cmd = "[" + data[data.index(b"(") + 1:data.rindex(b")")].decode(
                errors="replace") + "]"
        nspid = int(st.get("NSpid", str(hp)).split()[-1])
        cpid_of[hp] = nspid
        utime, stime = int(rest[11]), int(rest[12])
        started = boot_time + int(rest[19]) / _CLK_TCK
        tty_nr = int(rest[4])
        recs.append({
            "pid": nspid, "host_pid": hp, "host_ppid": int(st["PPid"]),
            "uid": int(st["Uid"].split()[0]),
            "stime": time.strftime("%H:%M", time.localtime(started)),
            "start_time": started,
            "time": int((utime + stime) / _CLK_TCK),
            "tty": f"pts/{tty_nr & 0xff}" if tty_nr else "?",
            "cmd": cmd, "state": rest[0].decode(),
        })
    for r in recs:
        r["ppid"] = cpid_of.get(r.pop("host_ppid"), 0)
    return recs
