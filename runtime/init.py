"""Fork the container's init and drive the child side of the sync protocol.

``spawn_init`` (called by boot) forks an *intermediate* child that joins or
creates the spec's namespaces and forks again: the grandchild is the
container's pid 1.  The intermediate reports the grandchild's host pid and
exits, so init is reparented to the caller.

Preconditions: the caller is a child subreaper
(``sentry._sys.set_child_subreaper()``; boot sets it at startup), or init
would be reparented to the host's pid 1 instead of to the caller.

The child side follows docs/architecture.md "Processes and the create/start
protocol": pid → continue → (cgroup namespace, rootfs) → createRuntime →
continue+state → createContainer hooks, pivot_root, finishing → created →
start+state → startContainer hooks → process.  Any failure is reported as
``{"type":"error","stage":...,"message":...}`` and the child exits 127.

User namespace (config-linux.md "User namespace mappings"): the
intermediate joins the namespaces given by path while it still holds the
host's capabilities, then enters the user namespace (setns to its path, or
unshare and ``<- {"type":"userns"}``: the parent, in the initial user
namespace, writes /proc/<pid>/uid_map and gid_map from
``InitHandle.write_id_maps`` and replies ``continue``), becomes root inside
(setresgid/setresuid 0) and only then unshares the other new namespaces, so
that the user namespace owns them.
"""
import logging
import os

from runtime import console, control, hooks
from runtime import mounts
from runtime import process as proc
from runtime.errors import InvalidSpecError, ProcessError
from sentry import _sys

log = logging.getLogger(__name__)

# spec type → (clone flag name in sentry._sys, /proc/<pid>/ns entry)
NAMESPACES = {
    "pid": ("CLONE_NEWPID", "pid"), "network": ("CLONE_NEWNET", "net"),
    "mount": ("CLONE_NEWNS", "mnt"), "ipc": ("CLONE_NEWIPC", "ipc"),
    "uts": ("CLONE_NEWUTS", "uts"), "cgroup": ("CLONE_NEWCGROUP", "cgroup"),
    "user": ("CLONE_NEWUSER", "user"), "time": ("CLONE_NEWTIME", "time"),
}


def namespace_plan(spec, netns_path=None):
    """``[(type, path or None)]`` of the spec's namespaces, validated.

    ``path`` means setns to it, None means a new namespace.  ``netns_path``
    (boot's ``--network=host``) overrides the spec's network namespace.
    """
    nss = (spec.get("linux") or {}).get("namespaces") or []
    plan, seen = [], set()
    for i, ns in enumerate(nss):
        typ = ns.get("type")
        field = f"linux.namespaces[{i}]"
        if typ not in NAMESPACES:
            raise InvalidSpecError(f"{field}.type",
                                   f"unknown namespace type {typ!r}")
        if typ in seen:
            raise InvalidSpecError(f"{field}.type",
                                   f"namespace {typ!r} given twice")
        seen.add(typ)
        path = ns.get("path") or None
        if typ == "network" and netns_path:
            path = netns_path
        plan.append((typ, path))
    if netns_path and "network" not in seen:
        plan.append(("network", netns_path))
    return plan


def new_namespaces(plan):
    return {typ for typ, path in plan if path is None}


# "The maximum number of lines that may be written to the file" is 340 -
# user_namespaces(7) (Linux 4.15 and later).
_MAX_EXTENTS = 340
_ID_LIMIT = 1 << 32         # (uid_t)-1 is no valid id


def id_mappings(spec, plan):
    """``(uid_map, gid_map)`` texts to write for a new user namespace.

    None when the plan creates no user namespace.  Validated as the kernel
    and runc would: mappings are required with a new user namespace and
    refused without one; every ``size`` is positive; no range overflows;
    neither the container ranges nor the host ranges overlap; the
    container's root and ``process.user`` are mapped.  With a user
    namespace joined by path the spec's mappings, if any, are checked in
    the child against the namespace's own (``check_joined_maps``).
    """
    linux = spec.get("linux") or {}
    user = dict(plan).get("user", False)
    texts = []
    for key, what in (("uidMappings", "uid"), ("gidMappings", "gid")):
        maps = linux.get(key) or []
        field = f"linux.{key}"
        if user is False:
            if maps:
                raise InvalidSpecError(field, "needs a user namespace in "
                                       "linux.namespaces")
            continue
        if user is not None:            # joined: the namespace has its maps
            continue
        if not maps:
            raise InvalidSpecError(field, "is required with a new user "
                                   "namespace")
        if len(maps) > _MAX_EXTENTS:
            raise InvalidSpecError(field, f"more than {_MAX_EXTENTS} "
                                   "mappings")
        extents = [_extent(m, f"{field}[{i}]") for i, m in enumerate(maps)]
        for j, (c, h, n) in enumerate(extents):
            for i in range(j):
                c0, h0, n0 = extents[i]
                if c < c0 + n0 and c0 < c + n:
                    raise InvalidSpecError(
                        f"{field}[{j}].containerID",
                        f"container {what}s {c}-{c + n - 1} overlap "
                        f"{field}[{i}]")
                if h < h0 + n0 and h0 < h + n:
                    raise InvalidSpecError(
                        f"{field}[{j}].hostID",
                        f"host {what}s {h}-{h + n - 1} overlap "
                        f"{field}[{i}]")
        process_user = (spec.get("process") or {}).get("user") or {}
        for want, pfield in ((0, None), (process_user.get(what, 0),
                                         f"process.user.{what}")):
            if not any(c <= want < c + n for c, h, n in extents):
                if pfield is None:
                    raise InvalidSpecError(field, f"container {what} 0 "
                                           "(the runtime's root) is not "
                                           "mapped")
                raise InvalidSpecError(pfield, f"{what} {want} is not mapped "
                                       f"in {field}")
        texts.append("".join(f"{c} {h} {n}\n" for c, h, n in extents))
    return tuple(texts) if len(texts) == 2 else None


def _extent(m, field):
    vals = []
    for k in ("containerID", "hostID", "size"):
        v = m.get(k) if isinstance(m, dict) else None
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise InvalidSpecError(f"{field}.{k}", "must be a non-negative "
                                   f"integer, got {v!r}")
        vals.append(v)
    c, h, n = vals
    if n == 0:
        raise InvalidSpecError(f"{field}.size", "must be greater than zero")
    if c + n > _ID_LIMIT - 1 or h + n > _ID_LIMIT - 1:
        raise InvalidSpecError(f"{field}.size", f"range of {n} ids from "
                               f"{c} (container) or {h} (host) overflows")
    return c, h, n


def parse_id_map(text):
    """``[(inside, outside, count)]`` from /proc/<pid>/uid_map text."""
    return [tuple(int(x) for x in line.split()) for line in text.splitlines()
            if line.strip()]


class InitHandle:
    """Boot's end of one child's sync socket (init or exec)."""

    def __init__(self, sock, intermediate, id_maps=None):
        self.sock = sock
        self.pid = None
        self.intermediate = intermediate
        self.id_maps = id_maps      # (uid_map, gid_map) texts or None

    def recv(self):
        """The next sync message; None on EOF (the child exec'd or died).

        Received fds are put in the message as ``"_fds"``.  On the ``pid``
        message the intermediate child is reaped (ECHILD when the caller's
        reaper got it first is fine).
        """
        msg, fds = control.recv_msg(self.sock)
        if msg is None:
            return None
        if fds:
            msg["_fds"] = fds
        if msg.get("type") == "pid":
            self.pid = msg["pid"]
            self._reap_intermediate()
        return msg

    def send(self, msg):
        control.send_msg(self.sock, msg)

    def write_id_maps(self):
        """Answer ``{"type": "userns"}``: write the child's uid_map and
        gid_map (the parent must be in the parent user namespace with
        CAP_SETUID and CAP_SETGID).  Each map is one write(2), as the
        kernel requires.  The caller then replies ``continue``."""
        if self.id_maps is None or not self.intermediate:
            raise ProcessError("unexpected userns sync message",
                               stage="userns")
        for name, text, field in zip(("uid_map", "gid_map"), self.id_maps,
                                     ("linux.uidMappings",
                                      "linux.gidMappings")):
            path = f"/proc/{self.intermediate}/{name}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
                try:
                    os.write(fd, text.encode())
                finally:
                    os.close(fd)
            except OSError as e:
                raise ProcessError(f"{field}: writing {path}: {e.strerror}",
                                   stage="userns", errno=e.errno) from None

    def expect(self, *types):
        """recv() that raises ProcessError on an error, EOF or another type."""
        msg = self.recv()
        if msg is None:
            raise ProcessError("container process exited before "
                               + "/".join(types))
        if msg.get("type") == "error":
            raise ProcessError(msg.get("message", "failed"),
                               stage=msg.get("stage"))
        if msg.get("type") not in types:
            raise ProcessError(f"unexpected sync message {msg.get('type')!r}")
        return msg

    def kill(self, sig=9):
        for pid in (self.pid, self.intermediate):
            if pid:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
                if pid == self.pid:
                    break

    def _reap_intermediate(self):
        if self.intermediate:
            try:
                os.waitpid(self.intermediate, 0)
            except ChildProcessError:
                pass
            self.intermediate = None

    def close(self):
        self.sock.close()

    def fileno(self):
        return self.sock.fileno()


def spawn_init(spec, bundle, cid, *, stdio=(0, 1, 2), console_fd=None,
               child_hook=None, netns_path=None, extra_fds=()):
    """Fork the container's init; return its InitHandle at once.

    ``stdio`` become the app's 0, 1, 2 and ``extra_fds`` its 3, 4, ...
    (runc's --preserve-fds); the caller keeps and closes its own copies.
    Spec errors found before forking raise InvalidSpecError here; later
    failures arrive as ``error`` messages.
    """
    plan = namespace_plan(spec, netns_path)
    id_maps = id_mappings(spec, plan)
    rootfs = mounts.rootfs_path(spec, bundle)
    if not os.path.isdir(rootfs):
        raise InvalidSpecError("root.path", f"{rootfs}: not a directory")
    process = spec.get("process") or {}
    prep = proc.Prepared(spec, process)
    if process.get("terminal") and console_fd is None:
        raise InvalidSpecError("process.terminal",
                               "needs a console socket")
    new = new_namespaces(plan)
    if "mount" not in new:
        raise InvalidSpecError("linux.namespaces",
                               "a new mount namespace is required")
    for field in ("hostname", "domainname"):
        # Without its own uts namespace this would rename the host.
        if spec.get(field) and "uts" not in new:
            raise InvalidSpecError(field, "needs a new uts namespace")
    for key in ((spec.get("linux") or {}).get("sysctl") or {}):
        proc.check_sysctl(key, new)
    floor = 3 + len(extra_fds)
    parent, child = proc.sync_pair(floor)
    if console_fd is not None:
        console_fd = proc.lift_fd(console_fd, floor)
    log.debug("cid=%s spawning init, namespaces %s", cid, plan)
    pid = os.fork()
    if pid == 0:
        parent.close()
        proc.child_main(child, lambda: _intermediate(
            spec, bundle, rootfs, plan, child, stdio, console_fd, child_hook,
            prep, list(extra_fds)))
    child.close()
    if console_fd is not None:
        os.close(console_fd)
    return InitHandle(parent, pid, id_maps)


def _open_ns(plan):
    fds = []
    for typ, path in plan:
        if path is None:
            continue
        try:
            fds.append((typ, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
        except OSError as e:
            raise ProcessError(f"linux.namespaces: opening {typ} namespace "
                               f"{path}: {e.strerror}", stage="namespaces",
                               errno=e.errno) from None
    return fds


def _intermediate(spec, bundle, rootfs, plan, sock, stdio, console_fd,
                  child_hook, prep, extra_fds):
    proc.enter_intermediate(prep, sock, stdio, console_fd, extra_fds)
    # Join the given namespaces (mount last: it changes what paths mean;
    # the user one after the others, while we still may), then the user
    # namespace, then create the new ones; the cgroup one waits until init
    # is in its cgroup.
    joined = _open_ns(plan)
    joined.sort(key=lambda t: (t[0] == "user", t[0] == "mount"))
    # Our own /proc entry, reachable after joining another mount namespace.
    self_fd = os.open("/proc/self", os.O_PATH | os.O_DIRECTORY
                      | os.O_CLOEXEC)
    user_fd = None
    for typ, fd in joined:
        if typ == "cgroup":
            continue
        if typ == "user":
            user_fd = fd
            continue
        _setns(typ, fd)
    new = new_namespaces(plan)
    if user_fd is not None:
        _setns("user", user_fd)
        check_joined_maps(spec, self_fd)
        become_root()
    elif "user" in new:
        try:
            _sys.unshare(_sys.CLONE_NEWUSER)
        except OSError as e:
            raise ProcessError(f"linux.namespaces: user namespace: "
                               f"{e.strerror}", stage="namespaces",
                               errno=e.errno) from None
        proc.Stage.name = "userns"
        control.send_msg(sock, {"type": "userns"})
        proc.expect(sock, "continue")
        become_root()
        proc.Stage.name = "namespaces"
    flags = 0
    for typ in new:
        if typ not in ("cgroup", "user"):
            flags |= getattr(_sys, NAMESPACES[typ][0])
    if flags:
        try:
            _sys.unshare(flags)
        except OSError as e:
            raise ProcessError(f"linux.namespaces: unshare: {e.strerror}",
                               stage="namespaces", errno=e.errno) from None
    os.close(self_fd)
    cgroup_fd = next((fd for typ, fd in joined if typ == "cgroup"), None)
    proc.fork_and_report(sock)
    _init(spec, bundle, rootfs, plan, sock, console_fd, child_hook,
          cgroup_fd, prep)


def _setns(typ, fd):
    try:
        _sys.setns(fd, 0)
    except OSError as e:
        raise ProcessError(f"linux.namespaces: joining {typ} namespace: "
                           f"{e.strerror}", stage="namespaces",
                           errno=e.errno) from None
    os.close(fd)


def become_root():
    """In a user namespace just entered: uid and gid 0 of the namespace,
    no supplementary groups.  The capabilities stay (the effective set
    is only cleared when the euid leaves the namespace's root) -
    capabilities(7)."""
    try:
        _sys.setgroups([])
        _sys.setresgid(0, 0, 0)
        _sys.setresuid(0, 0, 0)
    except OSError as e:
        raise ProcessError(f"linux.namespaces: becoming root in the user "
                           f"namespace (is 0 mapped?): {e.strerror}",
                           stage="namespaces", errno=e.errno) from None


def check_joined_maps(spec, self_fd):
    """A joined user namespace has its own maps: spec mappings given as
    well must be the same ones (runc checks this too).  ``self_fd`` is an
    O_PATH fd of our /proc/self; the maps are read relative to the joined
    namespace's parent, as the spec writes them."""
    linux = spec.get("linux") or {}
    for key, name in (("uidMappings", "uid_map"), ("gidMappings", "gid_map")):
        want = linux.get(key)
        if not want:
            continue
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=self_fd)
        with open(fd) as f:
            have = sorted(parse_id_map(f.read()))
        spec_maps = sorted((m.get("containerID"), m.get("hostID"),
                            m.get("size")) for m in want)
        if have != spec_maps:
            raise InvalidSpecError(f"linux.{key}", "does not match the "
                                   "mappings of the joined user namespace")


def _init(spec, bundle, rootfs, plan, sock, console_fd, child_hook,
          cgroup_fd, prep):
    new = new_namespaces(plan)
    linux = spec.get("linux") or {}
    process = spec.get("process") or {}
    proc.Stage.name = "continue"
    proc.expect(sock, "continue")
    # Now in the container's cgroup: read our paths, then hide them.
    proc.Stage.name = "cgroup"
    cgroup_paths = mounts.read_cgroup_paths()
    try:
        if cgroup_fd is not None:
            _sys.setns(cgroup_fd, 0)
            os.close(cgroup_fd)
        elif "cgroup" in new:
            _sys.unshare(_sys.CLONE_NEWCGROUP)
    except OSError as e:
        raise ProcessError(f"linux.namespaces: cgroup namespace: {e.strerror}",
                           stage="cgroup", errno=e.errno) from None
    os.setsid()
    proc.Stage.name = "mounts"
    mounts.prepare_rootfs(spec, bundle, rootfs, cgroup_paths=cgroup_paths,
                          new_netns="network" in new,
                          new_cgroupns="cgroup" in new,
                          userns=any(t == "user" for t, _ in plan))
    proc.Stage.name = "createRuntime"
    control.send_msg(sock, {"type": "createRuntime"})
    state = proc.expect(sock, "continue").get("state") or {}
    proc.Stage.name = "createContainer"
    spec_hooks = spec.get("hooks") or {}
    hooks.run_all(spec_hooks.get("createContainer") or [], state,
                  "createContainer")
    proc.Stage.name = "pivot_root"
    mounts.pivot_root(rootfs)
    if process.get("terminal"):
        proc.Stage.name = "console"
        console.setup_terminal(process, console_fd, bind_console=True)
        console_fd = None
    proc.Stage.name = "hostname"
    try:
        if spec.get("hostname") and "uts" in new:
            _sys.sethostname(spec["hostname"])
        if spec.get("domainname") and "uts" in new:
            _sys.setdomainname(spec["domainname"])
    except OSError as e:
        raise ProcessError(f"hostname: {e.strerror}", stage="hostname",
                           errno=e.errno) from None
    proc.Stage.name = "sysctl"
    proc.apply_sysctl(linux.get("sysctl"), new)
    proc.Stage.name = "rootfs"
    mounts.finish_rootfs(spec)
    proc.Stage.name = "created"
    control.send_msg(sock, {"type": "created"})
    msg = proc.expect(sock, "start")
    proc.Stage.name = "startContainer"
    hooks.run_all(spec_hooks.get("startContainer") or [],
                  msg.get("state") or state, "startContainer")
    if console_fd is not None:
        os.close(console_fd)
    proc.finish_and_exec(prep, sock, child_hook)
