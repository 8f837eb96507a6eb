"""User namespaces: config-linux.md "User namespace mappings".

A container with ``{"type": "user"}`` and linux.uidMappings/gidMappings runs
as root inside and as the mapped host ids outside; files it creates belong
to the mapped ids on the host; ``exec`` joins the same user namespace;
invalid mappings fail ``create`` naming the field and leave nothing behind.

Through the sentry (both platforms, gofer and --directfs): owners shown
through the maps (stat, statx, /proc/<pid>/status, POSIX ACLs,
security.capability), ids taken through them (chown, ACLs), and the
container root's capabilities applying only to files whose owner maps into
its namespace; the expected answers are the kernel's (runc, or a native
user namespace where noted).

Runs over the busybox rootfs (its mount points exist: the mapped root
cannot create directories in a rootfs owned by the host's root); the xattr
tests need a Python inside and use the host's root read-only.  The
host-side leak checks are the ``pyrunsc`` fixture's (tests/conftest.py).
"""
import array
import os
import resource
import shutil
import socket
import struct
import subprocess
import time

import pytest

HOST_UID, HOST_GID, SIZE = 100000, 200000, 65536


@pytest.fixture
def rootfs_kind():
    """Only the busybox rootfs (overrides the conftest parametrisation)."""
    return "busybox"


def _userns(uid_maps=None, gid_maps=None):
    def edit(spec):
        spec["linux"]["namespaces"].append({"type": "user"})
        spec["linux"]["uidMappings"] = uid_maps if uid_maps is not None else [
            {"containerID": 0, "hostID": HOST_UID, "size": SIZE}]
        spec["linux"]["gidMappings"] = gid_maps if gid_maps is not None else [
            {"containerID": 0, "hostID": HOST_GID, "size": SIZE}]
    return edit


def _both(*edits):
    def edit(spec):
        for e in edits:
            e(spec)
    return edit


def _status_ids(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("Uid", "Gid"):
                out[key] = [int(v) for v in val.split()]
    return out


def _pid(pyrunsc, cid):
    return pyrunsc.ok("state", cid).json()["pid"]


def _wait_for(path, timeout=20):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.fixture(params=["seccomp", "ptrace"])
def platform(request, pyrunsc):
    """Both sentry platforms."""
    pyrunsc.global_args = ["--platform", request.param]
    return request.param


def test_root_inside_mapped_maps(pyrunsc, platform, bundle_factory):
    """id is 0:0 inside; /proc/self/uid_map and gid_map show the spec's
    mappings; the user namespace is not the host's."""
    script = ("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; "
              "readlink /proc/self/ns/user")
    bundle = bundle_factory(["sh", "-c", script], edit=_userns())
    res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id("id"))
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    assert lines[0:2] == ["0", "0"], res
    assert lines[2].split() == ["0", str(HOST_UID), str(SIZE)]
    assert lines[3].split() == ["0", str(HOST_GID), str(SIZE)]
    assert lines[4].startswith("user:[")
    assert lines[4] != os.readlink("/proc/self/ns/user")


def test_host_sees_mapped_ids_and_exec_joins(pyrunsc, platform,
                                              bundle_factory):
    """The host sees the container's init as the mapped host ids, from
    create on; exec runs in the same user namespace, as the namespace's
    root by default and as a mapped user with --user."""
    cid = pyrunsc.new_id("exec")
    bundle = bundle_factory(["sleep", "100"], edit=_userns())
    pyrunsc.ok("create", "--bundle", bundle, cid)
    pid = _pid(pyrunsc, cid)
    ids = _status_ids(pid)
    assert ids["Uid"] == [HOST_UID] * 4 and ids["Gid"] == [HOST_GID] * 4
    init_ns = os.readlink(f"/proc/{pid}/ns/user")
    assert init_ns != os.readlink("/proc/self/ns/user")
    pyrunsc.ok("start", cid)

    res = pyrunsc.ok("exec", cid, "sh", "-c",
                     "id -u; id -g; readlink /proc/self/ns/user; "
                     "cat /proc/self/uid_map")
    lines = res.stdout.splitlines()
    assert lines[0:2] == ["0", "0"], res
    assert lines[2] == init_ns
    assert lines[3].split() == ["0", str(HOST_UID), str(SIZE)]

    pidfile = os.path.join(pyrunsc.base, "exec.pid")
    pyrunsc.ok("exec", "-d", "--pid-file", pidfile, "--user", "1000:1000",
               cid, "sleep", "100")
    with open(pidfile) as f:
        epid = int(f.read())
    ids = _status_ids(epid)
    assert ids["Uid"] == [HOST_UID + 1000] * 4
    assert ids["Gid"] == [HOST_GID + 1000] * 4
    assert os.readlink(f"/proc/{epid}/ns/user") == init_ns
    pyrunsc.ok("delete", "--force", cid)


def test_created_files_owned_by_mapped_ids(pyrunsc, platform,
                                           bundle_factory):
    """Files the container's root creates in a writable bind mount and in
    a tmpfs belong to the mapped host uid and gid."""
    data = os.path.join(pyrunsc.base, "data")
    os.mkdir(data)
    os.chmod(data, 0o777)
    done = os.path.join(data, "done")

    def mounts(spec):
        spec["mounts"] += [
            {"destination": "/mnt", "type": "bind", "source": data,
             "options": ["rbind", "rw"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev"]}]
    script = ("echo hi > /mnt/f && mkdir /mnt/d && echo t > /tmp/t && "
              "touch /mnt/done && sleep 100")
    cid = pyrunsc.new_id("files")
    bundle = bundle_factory(["sh", "-c", script], edit=_both(_userns(),
                                                             mounts))
    pyrunsc.ok("create", "--bundle", bundle, cid)
    pyrunsc.ok("start", cid)
    _wait_for(done)
    for name in ("f", "d"):
        st = os.lstat(os.path.join(data, name))
        assert (st.st_uid, st.st_gid) == (HOST_UID, HOST_GID), name
    st = os.stat(f"/proc/{_pid(pyrunsc, cid)}/root/tmp/t")
    assert (st.st_uid, st.st_gid) == (HOST_UID, HOST_GID)
    pyrunsc.ok("delete", "--force", cid)


def test_devices_bound_from_host(pyrunsc, platform, bundle_factory):
    """No mknod in a user namespace: the default devices are the host's
    nodes bound into /dev, usable although the root is read-only."""
    script = ("stat -c '%t:%T' /dev/null /dev/zero && echo x > /dev/null "
              "&& head -c 3 /dev/zero | wc -c")
    bundle = bundle_factory(["sh", "-c", script], edit=_userns())
    res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id("dev"))
    assert res.returncode == 0, res
    assert res.stdout.split() == ["1:3", "1:5", "3"], res


def _recv_fd(srv):
    conn, _ = srv.accept()
    fds = array.array("i")
    with conn:
        conn.settimeout(30)
        _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16))
        for level, typ, data in anc:
            if (level, typ) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                fds.frombytes(data[:len(data) - len(data) % 4])
    assert len(fds) == 1
    return fds[0]


def _read_all(fd, timeout=30):
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:          # EIO: the slave side is closed
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def test_terminal(pyrunsc, bundle_factory):
    """A terminal container in a user namespace: its pty (devpts with
    gid=5 mapped) reaches the console socket and works."""
    path = os.path.join(pyrunsc.base, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)
    cid = pyrunsc.new_id("tty")
    master = None
    try:
        bundle = bundle_factory(["sh", "-c", "tty; id -u"], terminal=True,
                                edit=_userns())
        pyrunsc.ok("create", "--bundle", bundle, "--console-socket", path,
                   cid)
        master = _recv_fd(srv)
        pyrunsc.ok("start", cid)
        out = _read_all(master).split()
        assert out[0].startswith("/dev/pts/") or out[0] == "/dev/console", out
        assert out[1] == "0", out
    finally:
        if master is not None:
            os.close(master)
        srv.close()
    pyrunsc.ok("delete", "--force", cid)


def test_oom_score_and_rlimits_apply(pyrunsc, bundle_factory):
    """oomScoreAdj and rlimits still apply with a user namespace (they are
    set up before the process enters it)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    want = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard - 1)

    def settings(spec):
        spec["process"]["oomScoreAdj"] = 500
        spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE",
                                       "soft": 1000, "hard": want}]
    bundle = bundle_factory(
        ["sh", "-c", "cat /proc/self/oom_score_adj; ulimit -Hn; ulimit -Sn"],
        edit=_both(_userns(), settings))
    res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id("rlim"))
    assert res.returncode == 0, res
    assert res.stdout.split() == ["500", str(want), "1000"], res


def test_join_user_namespace_by_path(pyrunsc, bundle_factory):
    """A user namespace given by path is joined: same namespace and maps,
    root inside; the container's new namespaces belong to it."""
    first = pyrunsc.new_id("owner")
    pyrunsc.ok("create", "--bundle",
               bundle_factory(["sleep", "100"], edit=_userns()), first)
    pid = _pid(pyrunsc, first)

    def join(spec):
        spec["linux"]["namespaces"].append(
            {"type": "user", "path": f"/proc/{pid}/ns/user"})
    script = "id -u; readlink /proc/self/ns/user; cat /proc/self/uid_map"
    res = pyrunsc("run", "--bundle",
                  bundle_factory(["sh", "-c", script], edit=join),
                  pyrunsc.new_id("joiner"))
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1] == os.readlink(f"/proc/{pid}/ns/user")
    assert lines[2].split() == ["0", str(HOST_UID), str(SIZE)]
    pyrunsc.ok("delete", "--force", first)


def _mapping(c, h, n):
    return {"containerID": c, "hostID": h, "size": n}


@pytest.mark.parametrize("uid_maps, gid_maps, field", [
    ([_mapping(0, 100000, 1000), _mapping(500, 300000, 10)], None,
     "linux.uidMappings[1].containerID"),
    (None, [_mapping(0, 200000, 100), _mapping(100, 200050, 10)],
     "linux.gidMappings[1].hostID"),
    ([_mapping(0, 100000, 0)], None, "linux.uidMappings[0].size"),
    ([], None, "linux.uidMappings"),
    (None, [], "linux.gidMappings"),
], ids=["uid-overlap", "gid-host-overlap", "size-0", "no-uid-maps",
        "no-gid-maps"])
def test_invalid_mappings_fail_create(pyrunsc, bundle_factory, uid_maps,
                                      gid_maps, field):
    """create fails naming the field; nothing is left (the fixture checks
    processes, mounts, cgroups and --root files)."""
    cid = pyrunsc.new_id("bad")
    bundle = bundle_factory(["true"], edit=_userns(uid_maps, gid_maps))
    res = pyrunsc.fails("create", "--bundle", bundle, cid)
    assert f"{field}:" in res.stderr, res
    assert pyrunsc.list_ids() == []
    assert "does not exist" in pyrunsc.fails("state", cid).stderr


def test_mappings_without_user_namespace_fail(pyrunsc, bundle_factory):
    def edit(spec):
        spec["linux"]["uidMappings"] = [_mapping(0, HOST_UID, SIZE)]
        spec["linux"]["gidMappings"] = [_mapping(0, HOST_GID, SIZE)]
    cid = pyrunsc.new_id("nouserns")
    res = pyrunsc.fails("create", "--bundle", bundle_factory(["true"],
                                                             edit=edit), cid)
    assert "linux.uidMappings: needs a user namespace" in res.stderr, res
    assert pyrunsc.list_ids() == []



# -- ids through the sentry: stat, chown, permission checks ---------------
#
# The files live in a bind mount the test prepares on the host; the sentry
# serves every call on them (gofer mode, or --directfs).  Owners show as
# the container's ids, unmapped ones as the overflow id; chown takes the
# container's ids; the container root's capabilities apply only to files
# whose owner maps into its namespace (the kernel's rules, compared with
# runc where it runs).

OVERFLOW = 65534


def _id_files(base):
    """A host directory of files with known owners; returns its path."""
    data = os.path.join(base, "ids")
    os.mkdir(data)
    files = {                       # name: (uid, gid, mode, content)
        "mapped": (HOST_UID, HOST_GID, 0o644, "m"),
        "unmapped": (0, 0, 0o644, "u"),
        "user": (HOST_UID + 1000, HOST_GID + 1000, 0o600, "user"),
        "secret": (0, 0, 0o600, "secret"),
        "secretexe": (0, 0, 0o700, "#!/bin/sh\n"),
        "chown_me": (HOST_UID, HOST_GID, 0o644, ""),
        "rootowned_user": (0, HOST_GID + 1000, 0o640, "g"),
    }
    for name, (uid, gid, mode, text) in files.items():
        p = os.path.join(data, name)
        with open(p, "w") as f:
            f.write(text)
        os.chown(p, uid, gid)
        os.chmod(p, mode)
    for name, uid, gid, mode in (("rootdir", 0, 0, 0o755),
                                 ("mydir", HOST_UID, HOST_GID, 0o755),
                                 ("closed", HOST_UID + 1000, HOST_GID + 1000,
                                  0o700),
                                 ("rootclosed", 0, 0, 0o700),
                                 ("sticky", HOST_UID + 1000, HOST_GID + 1000,
                                  0o1777)):
        p = os.path.join(data, name)
        os.mkdir(p)
        os.chown(p, uid, gid)
        os.chmod(p, mode)
    with open(os.path.join(data, "closed", "in"), "w") as f:
        f.write("in")
    os.chown(os.path.join(data, "closed", "in"), HOST_UID + 1000,
             HOST_GID + 1000)
    with open(os.path.join(data, "rootclosed", "in"), "w") as f:
        f.write("in")
    for name, uid, gid in (("hosts", 0, 0),
                           ("users", HOST_UID + 1000, HOST_GID + 1000)):
        p = os.path.join(data, "sticky", name)
        with open(p, "w"):
            pass
        os.chown(p, uid, gid)
    return data


# Docker's default set: CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER among them
# (runc spec's three would leave root nothing to show about capabilities)
DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
               "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
               "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
               "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def _bind(data, user=None):
    """``data`` at /mnt; root with Docker's capabilities, or ``user``."""
    def edit(spec):
        spec["mounts"].append({"destination": "/mnt", "type": "bind",
                               "source": data, "options": ["rbind", "rw"]})
        if user is not None:
            spec["process"]["user"] = {"uid": user, "gid": user}
        else:
            spec["process"]["capabilities"] = {
                k: list(DOCKER_CAPS) for k in ("bounding", "effective",
                                               "permitted")}
    return edit


# As the container's root.  Each line: what the kernel answers.
_ROOT_SCRIPT = """
cd /mnt
stat -c %u:%g mapped unmapped user mydir rootdir
ls -ln unmapped | awk '{print $3":"$4}'
chown 1000:1000 chown_me && stat -c %u:%g chown_me
chown 70000 chown_me 2>&1 | grep -q 'Invalid argument' && echo einval
chown :70000 chown_me 2>&1 | grep -q 'Invalid argument' && echo einval
chown -1:1000 chown_me 2>/dev/null; stat -c %u:%g chown_me
chown 0 unmapped 2>/dev/null || echo chown-denied
cat user; echo
cat secret 2>/dev/null || echo read-denied
which /mnt/secretexe >/dev/null || echo exec-denied
cat closed/in; echo
cat rootclosed/in 2>/dev/null || echo search-denied
stat rootclosed/in >/dev/null 2>&1 || echo stat-denied
rm -f sticky/hosts 2>/dev/null || echo unlink-denied
rm -f sticky/users && echo unlinked
touch rootdir/x 2>/dev/null || echo create-denied
touch mydir/x && stat -c %u:%g mydir/x
mkdir mydir/d && stat -c %u:%g mydir/d
mknod mydir/nod c 1 3 2>/dev/null || echo mknod-denied
mknod mydir/fifo p && stat -c %F:%u mydir/fifo
"""
_ROOT_WANT = [
    "0:0", f"{OVERFLOW}:{OVERFLOW}", "1000:1000", "0:0",
    f"{OVERFLOW}:{OVERFLOW}",
    f"{OVERFLOW}:{OVERFLOW}",
    "1000:1000", "einval", "einval", "1000:1000", "chown-denied",
    "user", "read-denied", "exec-denied", "in", "search-denied",
    "stat-denied", "unlink-denied", "unlinked", "create-denied",
    "0:0", "0:0", "mknod-denied", "fifo:0"]

# As container user 1000 (busybox's test(1) judges by stat's owner).
_USER_SCRIPT = """
cd /mnt
id -u
cat user; echo
[ -r user ] && echo r-user
[ -w user ] && echo w-user
[ -r mapped ] && echo r-mapped
[ -w mapped ] || echo nw-mapped
cat closed/in; echo
cat rootowned_user; echo
touch mydir/y 2>/dev/null || echo create-denied
chown 1000:0 user 2>/dev/null || echo chgrp-denied
"""
_USER_WANT = ["1000", "user", "r-user", "w-user", "r-mapped", "nw-mapped",
              "in", "g", "create-denied", "chgrp-denied"]


@pytest.fixture(params=[[], ["--directfs"]], ids=["gofer", "directfs"])
def fs_mode(request):
    return request.param


def test_ids_in_sentry_as_root(pyrunsc, platform, fs_mode, bundle_factory):
    """stat shows container ids (unmapped: 65534); chown maps container
    ids to host ids, EINVAL for an unmapped one; root's capabilities
    apply only to files whose owner maps into the namespace."""
    data = _id_files(pyrunsc.base)
    bundle = bundle_factory(["sh", "-c", _ROOT_SCRIPT],
                            edit=_both(_userns(), _bind(data)))
    pyrunsc.global_args += fs_mode
    res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id("ids"))
    assert res.returncode == 0, res
    assert res.stdout.split() == _ROOT_WANT, res
    st = os.stat(os.path.join(data, "chown_me"))
    assert (st.st_uid, st.st_gid) == (HOST_UID + 1000, HOST_GID + 1000)
    st = os.stat(os.path.join(data, "unmapped"))
    assert (st.st_uid, st.st_gid) == (0, 0)
    for name in ("x", "d"):
        st = os.lstat(os.path.join(data, "mydir", name))
        assert (st.st_uid, st.st_gid) == (HOST_UID, HOST_GID), name
    assert not os.path.exists(os.path.join(data, "rootdir", "x"))


def test_ids_in_sentry_as_user(pyrunsc, platform, fs_mode, bundle_factory):
    """A non-root container user: its own files by their container owner,
    search and read checks by the host owners."""
    data = _id_files(pyrunsc.base)
    bundle = bundle_factory(["sh", "-c", _USER_SCRIPT],
                            edit=_both(_userns(), _bind(data, 1000)))
    pyrunsc.global_args += fs_mode
    res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id("idu"))
    assert res.returncode == 0, res
    assert res.stdout.split() == _USER_WANT, res
    assert not os.path.exists(os.path.join(data, "mydir", "y"))


@pytest.mark.parametrize("user", [None, 1000], ids=["root", "user"])
def test_ids_expectations_match_runc(pyrunsc, bundle_factory, user):
    """The answers the two tests above expect are the kernel's: the same
    scripts under runc (no sentry) print the same."""
    runc = shutil.which("runc")
    assert runc, "runc is missing: run scripts/install-deps.sh"
    data = _id_files(pyrunsc.base)
    script, want = ((_ROOT_SCRIPT, _ROOT_WANT) if user is None
                    else (_USER_SCRIPT, _USER_WANT))
    bundle = bundle_factory(["sh", "-c", script],
                            edit=_both(_userns(), _bind(data, user)))
    root = os.path.join(pyrunsc.base, "runc-root")
    cid = pyrunsc.new_id("runc")
    try:
        res = subprocess.run([runc, "--root", root, "run", "--bundle",
                              bundle, cid], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run([runc, "--root", root, "delete", "--force", cid],
                       capture_output=True, timeout=60)
    assert res.returncode == 0, res
    assert res.stdout.split() == want, res


@pytest.mark.parametrize("user", [0, 1000])
def test_proc_status_ids(pyrunsc, platform, bundle_factory, user):
    """/proc/<pid>/status shows the ids as the container numbers them (the
    kernel prints them for the opener's namespace, and the sentry opens)."""
    def edit(spec):
        spec["process"]["user"] = {"uid": user, "gid": user,
                                   "additionalGids": [user + 5]}
    script = ("grep -E '^(Uid|Gid|Groups):' /proc/self/status; "
              "grep -E '^(Uid|Gid):' /proc/1/status /proc/1/task/1/status")
    bundle = bundle_factory(["sh", "-c", script],
                            edit=_both(_userns(), edit))
    res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id("status"))
    assert res.returncode == 0, res
    ids = " ".join([str(user)] * 4)
    assert res.stdout.split("\n")[:3] == [
        f"Uid:\t{ids}".replace(" ", "\t"), f"Gid:\t{ids}".replace(" ", "\t"),
        f"Groups:\t{user + 5} "], res
    assert [line.split(":", 1)[1].replace(":", " ").split()
            for line in res.stdout.splitlines()[3:]] == [
        ["Uid", *[str(user)] * 4], ["Gid", *[str(user)] * 4],
        ["Uid", *[str(user)] * 4], ["Gid", *[str(user)] * 4]], res


# POSIX ACL xattrs carry ids: what the kernel does for a caller in a user
# namespace (checked natively with a process in such a namespace): ids
# read back through the maps, an unmapped one as -1; ids written mapped
# to host ids, an unmapped one EINVAL.
_ACL_HELPERS = '''
import errno, os, struct
ACL = "system.posix_acl_access"
def acl(uid, gid):
    ents = [(1, 6, 0xffffffff), (2, 4, uid), (4, 4, 0xffffffff),
            (8, 4, gid), (0x10, 4, 0xffffffff), (0x20, 4, 0xffffffff)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e)
                                           for e in ents)
def ids(v):
    ents = [struct.unpack_from("<HHI", v, 4 + 8 * i)
            for i in range((len(v) - 4) // 8)]
    return [e[2] for e in ents if e[0] in (2, 8)]
'''
_ACL_SCRIPT = _ACL_HELPERS + '''
os.setxattr("/mnt/f", ACL, acl(1000, 1001))
print(*ids(os.getxattr("/mnt/f", ACL)))
try:
    os.setxattr("/mnt/f", ACL, acl(70000, 1001))
    print("set")
except OSError as e:
    print(errno.errorcode[e.errno])
print(*ids(os.getxattr("/mnt/g", ACL)))
'''


def test_acl_xattr_ids(pyrunsc, platform, fs_mode):
    """getxattr/setxattr of a POSIX ACL translate its user and group ids
    (over the host root: the busybox rootfs has no program for xattrs)."""
    helpers = {}
    exec(_ACL_HELPERS, helpers)
    data = _mapped_root_files(pyrunsc.base, "acl")
    os.setxattr(os.path.join(data, "g"), helpers["ACL"],
                helpers["acl"](HOST_UID + 5, 7))
    res = _run_python(pyrunsc, _ACL_SCRIPT, _both(_userns(), _bind(data)),
                      fs_mode, "acl")
    assert res.stdout.split("\n")[:3] == ["1000 1001", "EINVAL",
                                          "5 4294967295"], res
    host = helpers["ids"](os.getxattr(os.path.join(data, "f"),
                                      helpers["ACL"]))
    assert host == [HOST_UID + 1000, HOST_GID + 1001]


def _mapped_root_files(base, name):
    """A new directory ``base/name`` with empty files f and g owned by the
    container's root (the mapped host ids)."""
    data = os.path.join(base, name)
    os.mkdir(data)
    for f in ("f", "g"):
        p = os.path.join(data, f)
        open(p, "w").close()
        os.chown(p, HOST_UID, HOST_GID)
    return data


def _run_python(pyrunsc, script, edit, fs_mode, name):
    """Run ``script`` with the host's python3 on the host root (read-only)
    in ``fs_mode``; the run's result, which must have exited 0."""
    from tests.testlib import BundleFactory
    assert os.path.exists("/usr/bin/python3"), "the host's python3 is missing"
    bundle = BundleFactory(pyrunsc.base, "/")(
        ["/usr/bin/python3", "-c", script], edit=edit)
    pyrunsc.global_args += fs_mode
    res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id(name))
    assert res.returncode == 0, res
    return res



_XATTR_SCRIPT = '''
import os, struct
for name in ("trusted.x", "security.x"):
    try:
        os.setxattr("/mnt/f", name, b"1")
        print("set")
    except OSError as e:
        print(e.errno)
try:
    print(os.getxattr("/mnt/g", "trusted.y"))
except OSError as e:
    print(e.errno)
print(*sorted(os.listxattr("/mnt/g")))
os.setxattr("/mnt/f", "security.capability",
            struct.pack("<IIIII", 0x02000000, 1 << 10, 0, 0, 0))
print("cap")
'''


@pytest.mark.parametrize("userns", [True, False], ids=["userns", "no-userns"])
def test_privileged_xattrs(pyrunsc, platform, fs_mode, userns):
    """trusted.* and security.* xattrs need CAP_SYS_ADMIN in the host's
    namespace (the sentry holds it, the app does not): EPERM to set,
    ENODATA to get, left out of listxattr; security.capability written
    from a user namespace is stored as v3 with the namespace's root as
    its root id (the kernel's answers, checked natively)."""
    data = _mapped_root_files(pyrunsc.base, "xattr")
    g = os.path.join(data, "g")
    os.setxattr(g, "trusted.y", b"2")
    os.setxattr(g, "user.z", b"3")
    edit = _both(_userns(), _bind(data)) if userns else _bind(data)
    res = _run_python(pyrunsc, _XATTR_SCRIPT, edit, fs_mode, "xattr")
    assert res.stdout.split() == ["1", "1", "61", "user.z", "cap"], res
    f = os.path.join(data, "f")
    assert os.listxattr(f) == ["security.capability"]
    cap = os.getxattr(f, "security.capability")
    if userns:
        assert cap == struct.pack("<IIIIII", 0x03000000, 1 << 10, 0, 0, 0,
                                  HOST_UID)
    else:
        assert cap == struct.pack("<IIIII", 0x02000000, 1 << 10, 0, 0, 0)


_CAP_READ_SCRIPT = '''
import os, struct
for n in ("v2", "v3root", "v3five", "v3seven"):
    try:
        v = os.getxattr("/mnt/" + n, "security.capability")
        print(n, len(v), v[3], *struct.unpack("<%dI" % ((len(v) - 20) // 4),
                                          v[20:]))
    except OSError as e:
        print(n, e.errno)
'''


def test_capability_xattr_read(pyrunsc, platform, fs_mode):
    """security.capability read from a user namespace: v2 as it is, a v3
    of the namespace's root as v2, another mapped root id in container
    numbers, an unmapped one EOVERFLOW (the kernel's answers, checked
    natively)."""
    data = os.path.join(pyrunsc.base, "caps")
    os.mkdir(data)
    values = {"v2": struct.pack("<IIIII", 0x02000000, 1 << 10, 0, 0, 0)}
    for name, root in (("v3root", HOST_UID), ("v3five", HOST_UID + 5),
                       ("v3seven", 7)):
        values[name] = struct.pack("<IIIIII", 0x03000000, 1 << 10, 0, 0, 0,
                                   root)
    for name, value in values.items():
        p = os.path.join(data, name)
        open(p, "w").close()
        os.chown(p, HOST_UID, HOST_GID)
        os.setxattr(p, "security.capability", value)
    res = _run_python(pyrunsc, _CAP_READ_SCRIPT,
                      _both(_userns(), _bind(data)), fs_mode, "capr")
    assert res.stdout.splitlines() == ["v2 20 2", "v3root 20 2",
                                       "v3five 24 3 5", "v3seven 75"], res


_BIND_UTIME_SCRIPT = '''
import os, socket
for d in ("rootdir", "mydir"):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind("/mnt/%s/sock" % d)
        print(d, "bound")
    except OSError as e:
        print(d, e.errno)
for n in ("unmapped", "user"):
    fd = os.open("/mnt/" + n, os.O_RDONLY)
    try:
        os.utime(fd, (1, 1))
        print(n, "utime")
    except OSError as e:
        print(n, e.errno)
'''


def test_bind_and_futimens_by_owner(pyrunsc, platform, fs_mode):
    """A socket bound in a directory of an unmapped owner is EACCES to the
    container's root, in its own directory fine; futimens with explicit
    times needs CAP_FOWNER over the file: EPERM for an unmapped owner, fine
    for a mapped one."""
    data = _id_files(pyrunsc.base)
    res = _run_python(pyrunsc, _BIND_UTIME_SCRIPT,
                      _both(_userns(), _bind(data)), fs_mode, "bind")
    assert res.stdout.splitlines() == ["rootdir 13", "mydir bound",
                                       "unmapped 1", "user utime"], res
    assert os.stat(os.path.join(data, "user")).st_mtime == 1


def test_proc_net_uids(pyrunsc, platform, bundle_factory):
    """/proc/net/tcp6 names a listening socket's owner as the container
    numbers it, in the kernel's %5u column."""
    script = ("nc -l -p 12345 & sleep 0.5; grep ':3039 ' /proc/net/tcp6 "
              "/proc/self/net/tcp6; kill %1")
    bundle = bundle_factory(["sh", "-c", script], edit=_userns())
    res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id("net"))
    lines = res.stdout.splitlines()
    assert len(lines) == 2, res
    for line in lines:
        cols = line.split(":", 1)[1].split()
        assert cols[7] == "0", res
        assert f"{cols[6]}     0 " in line, res
