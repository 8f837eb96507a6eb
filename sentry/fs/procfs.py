"""The content of the ``/proc`` files the sentry synthesizes for a container.

Most of the container's ``/proc`` is the kernel's own procfs instance
mounted in the container's pid namespace (container pids, the app's mount
namespace for ``mounts``/``mountinfo``); sentry.fs.special opens those.  The
files here are the ones whose kernel content describes the host instead of
the container, answered from the container's cgroup:

* ``meminfo``: MemTotal is the memory limit, MemFree/MemAvailable/Cached
  come from the cgroup's usage (as lxcfs does);
* ``cpuinfo``, ``stat``: only the container's virtual CPUs - the first
  ceil(quota/period) CPUs the container may run on (``cpus``);
* ``uptime``: since the container's init started; idle time is the CPU
  time of the virtual CPUs the container did not use;
* ``loadavg``: the host's load, the container's task counts.

Every function reads the live cgroup (a ``pyrunsc update`` shows at once)
and returns ``bytes``; None means "the kernel's file is right as it is".
"""
import math
import os
import re

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_cg_mounts = None


def _read(path, default=None):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return default


def _read_int(path, default=None):
    data = _read(path)
    if data is None:
        return default
    try:
        return int(data.split()[0])
    except (ValueError, IndexError):
        return default


def _cgroup_mounts():
    """{controller: (mount point, version)} of the host's cgroup
    hierarchies as boot sees them; "" names the cgroup2 mount."""
    global _cg_mounts
    if _cg_mounts is not None:
        return _cg_mounts
    out = {}
    for line in (_read("/proc/self/mountinfo", b"") or b"").decode(
            errors="replace").splitlines():
        parts = line.split()
        if " - " not in line:
            continue
        sep = parts.index("-")
        fstype = parts[sep + 1]
        point = parts[4]
        if fstype == "cgroup2":
            out.setdefault("", (point, 2))
        elif fstype == "cgroup":
            for opt in parts[sep + 3].split(","):
                if opt in ("cpu", "cpuacct", "memory", "pids", "cpuset",
                           "devices"):
                    out.setdefault(opt, (point, 1))
    _cg_mounts = out
    return out


def cgroup_dir(pid, controller):
    """``(host directory, version)`` of ``pid``'s cgroup for
    ``controller``, or ``(None, 0)``."""
    mounts = _cgroup_mounts()
    data = _read(f"/proc/{pid}/cgroup", b"") or b""
    v2path = None
    for line in data.decode(errors="replace").splitlines():
        hid, ctrls, path = (line.split(":", 2) + ["", ""])[:3]
        if hid == "0" and ctrls == "":
            v2path = path
        elif controller in ctrls.split(",") and controller in mounts:
            point, _ = mounts[controller]
            return os.path.join(point, path.lstrip("/")), 1
    if v2path is not None and "" in mounts:
        point, _ = mounts[""]
        d = os.path.join(point, v2path.lstrip("/"))
        ctrl_file = _read(os.path.join(d, "cgroup.controllers"), b"") or b""
        if controller.encode() in ctrl_file.split() or controller == "cpuacct":
            return d, 2
    return None, 0


def memory_limit(ctx):
    """The container's memory limit in bytes, or None (unlimited)."""
    d, v = cgroup_dir(ctx.init_pid, "memory")
    if d is not None:
        if v == 1:
            lim = _read_int(os.path.join(d, "memory.limit_in_bytes"))
            if lim is not None and lim < (1 << 62):
                return lim
            return None
        raw = _read(os.path.join(d, "memory.max"))
        if raw is not None:
            raw = raw.strip()
            return None if raw == b"max" else int(raw)
    return getattr(ctx, "memory_limit", None)


def cpu_quota(ctx):
    """The container's CPU quota in CPUs (a float), or None."""
    d, v = cgroup_dir(ctx.init_pid, "cpu")
    if d is not None:
        if v == 1:
            q = _read_int(os.path.join(d, "cpu.cfs_quota_us"), -1)
            p = _read_int(os.path.join(d, "cpu.cfs_period_us"), 0)
        else:
            parts = (_read(os.path.join(d, "cpu.max"), b"") or b"").split()
            if len(parts) == 2 and parts[0] != b"max":
                q, p = int(parts[0]), int(parts[1])
            else:
                q, p = -1, 0
        return q / p if q > 0 and p > 0 else None
    q = getattr(ctx, "cpu_quota", None)
    if isinstance(q, (tuple, list)) and len(q) == 2 and q[0] and q[1] and \
            q[0] > 0 and q[1] > 0:
        return q[0] / q[1]
    if isinstance(q, (int, float)) and q > 0:
        return float(q)
    return None


def cpus(ctx):
    """The container's virtual CPUs: host CPU numbers, sorted.  The CPUs
    its init may run on (cpuset, affinity), the first ceil(quota) of them
    when a CPU quota is set."""
    try:
        real = sorted(os.sched_getaffinity(ctx.init_pid))
    except OSError:
        real = sorted(os.sched_getaffinity(0))
    q = cpu_quota(ctx)
    if q is not None:
        real = real[:max(1, math.ceil(q - 1e-9))]
    return real


def format_cpus(cpu_list):
    """"0-3,5\\n" - the list format of /sys/devices/system/cpu/online."""
    out = []
    for c in cpu_list:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return (",".join(str(a) if a == b else f"{a}-{b}" for a, b in out)
            + "\n").encode()


_MEMLINE = re.compile(rb"^([^:]+:\s*)(\d+)( kB)?$")


def _memory_usage(ctx):
    """(usage, page cache, inactive file) in bytes of the container's
    memory cgroup; zeros when unknown."""
    d, v = cgroup_dir(ctx.init_pid, "memory")
    if d is None:
        return 0, 0, 0
    stat = {}
    for line in (_read(os.path.join(d, "memory.stat"), b"") or b"").splitlines():
        k, _, val = line.partition(b" ")
        try:
            stat[k.decode()] = int(val)
        except ValueError:
            pass
    if v == 1:
        usage = _read_int(os.path.join(d, "memory.usage_in_bytes"), 0)
        cache = stat.get("total_cache", stat.get("cache", 0))
        inactive = stat.get("total_inactive_file", stat.get("inactive_file", 0))
    else:
        usage = _read_int(os.path.join(d, "memory.current"), 0)
        cache = stat.get("file", 0)
        inactive = stat.get("inactive_file", 0)
    return usage, cache, inactive


def meminfo(ctx):
    """/proc/meminfo with the memory limit as MemTotal - proc(5)."""
    limit = memory_limit(ctx)
    if limit is None:
        return None
    return render_meminfo(_read("/proc/meminfo", b""), limit,
                          *_memory_usage(ctx))


def render_meminfo(host, limit, usage, cache, inactive):
    """``host`` meminfo text for a cgroup with memory ``limit`` that uses
    ``usage`` bytes, ``cache`` of them page cache, ``inactive`` of them
    inactive file pages (reclaimable first)."""
    vals = {}
    lines = host.splitlines()
    for line in lines:
        m = _MEMLINE.match(line)
        if m:
            vals[m.group(1).split(b":")[0]] = int(m.group(2))
    host_total = vals.get(b"MemTotal", 0)
    total = min(limit // 1024, host_total) if host_total else limit // 1024
    usage_kb = min(usage // 1024, total)
    cache_kb = min(cache // 1024, usage_kb)
    free = total - usage_kb
    avail = min(free + min(inactive // 1024, usage_kb), total)
    if b"MemAvailable" in vals:
        avail = min(avail, vals[b"MemAvailable"])
    new = {b"MemTotal": total, b"MemFree": free, b"MemAvailable": avail,
           b"Cached": cache_kb, b"Buffers": 0}
    out = []
    for line in lines:
        m = _MEMLINE.match(line)
        key = m.group(1).split(b":")[0] if m else None
        if key in new:
            # the kernel's layout: a 16-column label, 8-column value
            out.append((key + b":").ljust(16) + str(new[key]).rjust(8).encode()
                       + b" kB")
        else:
            out.append(line)
    return b"\n".join(out) + b"\n"


def _virtual(ctx):
    """The virtual CPUs, or None when they are all the host's CPUs."""
    keep = cpus(ctx)
    if cpu_quota(ctx) is None and set(keep) == set(os.sched_getaffinity(0)):
        return None
    return set(keep)


def cpuinfo(ctx):
    """/proc/cpuinfo with the container's virtual CPUs only."""
    keep = _virtual(ctx)
    if keep is None:
        return None
    return render_cpuinfo(_read("/proc/cpuinfo", b""), keep)


def render_cpuinfo(host, keep):
    """The blocks of ``host`` cpuinfo whose processor is in ``keep``."""
    out = []
    for b in host.split(b"\n\n"):
        if not b.strip():
            continue
        m = re.match(rb"processor\s*:\s*(\d+)", b)
        if m and int(m.group(1)) not in keep:
            continue
        out.append(b.strip(b"\n"))
    return b"\n\n".join(out) + b"\n\n"


def stat(ctx):
    """/proc/stat with the container's virtual CPUs."""
    keep = _virtual(ctx)
    if keep is None:
        return None
    return render_stat(_read("/proc/stat", b""), keep)


def render_stat(host, keep):
    """``host`` /proc/stat with the ``cpuN`` lines of ``keep`` only and a
    ``cpu`` line that sums them."""
    percpu, rest, total = [], [], None
    for line in host.splitlines():
        m = re.match(rb"cpu(\d*)\s", line)
        if not m:
            rest.append(line)
        elif not m.group(1):
            continue
        elif int(m.group(1)) in keep:
            percpu.append(line)
            vals = [int(x) for x in line.split()[1:]]
            total = vals if total is None else [a + b for a, b in
                                                zip(total, vals)]
    head = [b"cpu  " + b" ".join(str(v).encode() for v in (total or []))]
    return b"\n".join(head + percpu + rest) + b"\n"


def _container_start(ctx):
    """Seconds since boot when the container's init started."""
    data = _read(f"/proc/{ctx.init_pid}/stat", b"") or b""
    rest = data[data.rfind(b")") + 2:].split()
    try:
        return int(rest[19]) / _CLK_TCK
    except (IndexError, ValueError):
        return 0.0


def _cpu_usage_seconds(ctx):
    d, v = cgroup_dir(ctx.init_pid, "cpuacct")
    if d is not None and v == 1:
        ns = _read_int(os.path.join(d, "cpuacct.usage"))
        if ns is not None:
            return ns / 1e9
    d, v = cgroup_dir(ctx.init_pid, "cpu")
    if d is not None and v == 2:
        for line in (_read(os.path.join(d, "cpu.stat"), b"") or b"").splitlines():
            if line.startswith(b"usage_usec "):
                return int(line.split()[1]) / 1e6
    return 0.0


def uptime(ctx):
    """/proc/uptime: seconds since the container started, and the idle
    time of its virtual CPUs - proc(5)."""
    host = (_read("/proc/uptime", b"0 0") or b"0 0").split()
    up = max(0.0, float(host[0]) - _container_start(ctx))
    idle = max(0.0, up * len(cpus(ctx)) - _cpu_usage_seconds(ctx))
    return f"{up:.2f} {idle:.2f}\n".encode()


def container_tasks(ctx):
    """Host tids of the container's tasks (its pids cgroup, else cpu)."""
    for ctrl in ("pids", "cpu", "memory"):
        d, v = cgroup_dir(ctx.init_pid, ctrl)
        if d is None:
            continue
        name = "tasks" if v == 1 else "cgroup.threads"
        data = _read(os.path.join(d, name))
        if data is not None:
            return [int(x) for x in data.split()]
    return [ctx.init_pid]


def loadavg(ctx):
    """/proc/loadavg: the host's load averages; runnable/total tasks and
    the highest pid of the container - proc(5)."""
    host = (_read("/proc/loadavg", b"0.00 0.00 0.00 0/0 0") or b"").split()
    running = total = 0
    last = 0
    for tid in container_tasks(ctx):
        st = _read(f"/proc/{tid}/stat")
        if st is None:
            continue
        total += 1
        if st[st.rfind(b")") + 2:st.rfind(b")") + 3] == b"R":
            running += 1
        status = _read(f"/proc/{tid}/status", b"") or b""
        m = re.search(rb"\nNSpid:([\t 0-9]+)", status)
        if m:
            last = max(last, int(m.group(1).split()[-1]))
    return b"%s %s %s %d/%d %d\n" % (host[0], host[1], host[2], running,
                                     total, last)


# name below /proc -> content function
FILES = {"meminfo": meminfo, "cpuinfo": cpuinfo, "stat": stat,
         "uptime": uptime, "loadavg": loadavg}
