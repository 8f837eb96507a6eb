"""sentry.fs.devfs: the container's device rules as the device cgroup
applies them, and /dev/tty's controlling-terminal lookup."""
import errno
import os
import stat

import pytest

from sentry.fs import devfs

DENY_ALL = [{"allow": False, "access": "rwm"}]


def test_no_rules_allow_everything():
    """Boot leaves the device cgroup alone without rules."""
    assert devfs.allowed([], "c", 10, 229, "rw")
    assert devfs.allowed(None, "b", 8, 0, "r")


def test_deny_all_keeps_runc_defaults():
    for major, minor in ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0),
                         (5, 1), (5, 2), (136, 4), (10, 200)):
        assert devfs.allowed(DENY_ALL, "c", major, minor, "rw"), (major, minor)
    assert not devfs.allowed(DENY_ALL, "c", 10, 229, "r")      # fuse
    assert not devfs.allowed(DENY_ALL, "b", 8, 0, "r")         # sda
    # mknod of anything is allowed by the defaults
    assert devfs.allowed(DENY_ALL, "b", 8, 0, "m")


def test_later_rule_wins_per_access_letter():
    rules = DENY_ALL + [{"allow": True, "type": "c", "major": 10,
                         "minor": 229, "access": "r"}]
    assert devfs.allowed(rules, "c", 10, 229, "r")
    assert not devfs.allowed(rules, "c", 10, 229, "w")
    assert not devfs.allowed(rules, "c", 10, 229, "rw")
    rules2 = rules + [{"allow": False, "type": "c", "major": 10,
                       "minor": 229, "access": "r"}]
    assert not devfs.allowed(rules2, "c", 10, 229, "r")


def test_wildcards_and_types():
    rules = DENY_ALL + [{"allow": True, "type": "b", "major": 8,
                         "minor": -1, "access": "rw"}]
    assert devfs.allowed(rules, "b", 8, 17, "rw")
    assert not devfs.allowed(rules, "c", 8, 17, "r")
    rules = DENY_ALL + [{"allow": True, "type": "a", "access": "rwm"}]
    assert devfs.allowed(rules, "c", 99, 1, "rw")


def test_open_access():
    assert devfs.open_access(os.O_RDONLY) == "r"
    assert devfs.open_access(os.O_WRONLY | os.O_APPEND) == "w"
    assert devfs.open_access(os.O_RDWR) == "rw"


def test_check_mode():
    fuse = os.makedev(10, 229)
    chr_mode = stat.S_IFCHR | 0o666
    assert devfs.check_mode(DENY_ALL, chr_mode, fuse, os.O_RDONLY) == \
        -errno.EPERM
    assert devfs.check_mode(DENY_ALL, chr_mode, fuse, os.O_PATH) == 0
    assert devfs.check_mode(DENY_ALL, stat.S_IFREG | 0o644, 0,
                            os.O_RDWR) == 0
    assert devfs.check_mode(DENY_ALL, chr_mode, os.makedev(1, 3),
                            os.O_RDWR) == 0


def test_check_fd_on_real_nodes():
    fd = os.open("/dev/null", os.O_PATH)
    try:
        assert devfs.check_fd(DENY_ALL, fd, os.O_WRONLY) == 0
        assert devfs.check_fd([{"allow": False, "type": "c", "major": 1,
                                "minor": 3, "access": "w"}], fd,
                              os.O_WRONLY) == 0   # the defaults come after
    finally:
        os.close(fd)


@pytest.mark.parametrize("major,minor", [(136, 3), (4, 1), (5, 1),
                                         (136, 300), (204, 64)])
def test_tty_nr_decoding(major, minor):
    # proc(5): "The minor device number is contained in the combination of
    # bits 31 to 20 and 7 to 0; the major device number is in bits 15 to 8."
    nr = (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)
    assert devfs._kernel_dev(nr) == os.makedev(major, minor)


def test_no_controlling_terminal_is_enxio():
    pid = os.fork()
    if pid == 0:
        os.setsid()             # a new session has no controlling terminal
        code = 0 if devfs.open_tty(os.getpid(), os.O_RDWR) == -errno.ENXIO \
            else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_controlling_terminal_reopened():
    """A session with a pty as its controlling terminal: /dev/tty is that
    pty, reopened."""
    r, w = os.pipe()
    pid, master = os.forkpty()
    if pid == 0:
        fd = devfs.open_tty(os.getpid(), os.O_RDWR)
        ok = fd >= 0 and os.fstat(fd).st_rdev == os.fstat(0).st_rdev
        os.write(w, b"1" if ok else b"0")
        os._exit(0)
    try:
        os.close(w)
        assert os.read(r, 1) == b"1"
    finally:
        os.waitpid(pid, 0)
        os.close(master)
        os.close(r)


def test_live_devices_list(tmp_path, monkeypatch):
    """The v1 devices.list of the container's cgroup is the truth when
    there is one: it holds the linux.devices boot allowed."""
    from sentry.fs import procfs
    (tmp_path / "devices.list").write_text(
        "c 1:3 rwm\nc 10:229 rw\nc 136:* rwm\nb *:* m\n")
    monkeypatch.setattr(procfs, "cgroup_dir", lambda pid, c: (str(tmp_path), 1))
    monkeypatch.setattr(devfs, "_live", {})
    assert devfs.allowed(DENY_ALL, "c", 10, 229, "rw", init_pid=4242)
    assert devfs.allowed(DENY_ALL, "c", 136, 7, "rw", init_pid=4242)
    assert devfs.allowed(DENY_ALL, "b", 8, 0, "m", init_pid=4242)
    assert not devfs.allowed(DENY_ALL, "b", 8, 0, "r", init_pid=4242)
    assert not devfs.allowed([], "c", 1, 5, "r", init_pid=4242)
    monkeypatch.setattr(devfs, "_live", {})
    (tmp_path / "devices.list").write_text("a *:* rwm\n")
    assert devfs.allowed(DENY_ALL, "c", 10, 229, "rw", init_pid=4242)
    # no cgroup: the spec's rules
    monkeypatch.setattr(devfs, "_live", {})
    monkeypatch.setattr(procfs, "cgroup_dir", lambda pid, c: (None, 0))
    assert not devfs.allowed(DENY_ALL, "c", 10, 229, "rw", init_pid=4242)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_open_checked_judges_the_file_it_opens(tmp_path):
    """open_checked (the Python twin of devcheck.pxi's checked_openat2):
    a denied node is EPERM before anything opens it (1:1 opened here would
    give the driver's own answer), an allowed one opens, plain files keep
    open(2)'s answers, O_CREAT makes a new file."""
    os.mknod(tmp_path / "mem", stat.S_IFCHR | 0o600, os.makedev(1, 1))
    os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    (tmp_path / "file").write_text("x")
    os.symlink("file", tmp_path / "link")
    os.symlink("new", tmp_path / "dangling")
    d = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        def o(name, flags, mode=0):
            r = devfs.open_checked(DENY_ALL, d, name, flags, mode,
                                   0x08)            # RESOLVE_BENEATH
            if r >= 0:
                st = os.fstat(r)
                os.close(r)
                return stat.S_IFMT(st.st_mode)
            return errno.errorcode[-r]
        assert o("mem", os.O_RDONLY) == "EPERM"
        assert o("null", os.O_WRONLY) == stat.S_IFCHR
        assert o("mem", os.O_PATH) == stat.S_IFCHR      # opens no device
        assert o("file", os.O_RDWR) == stat.S_IFREG
        assert o("link", os.O_RDONLY) == stat.S_IFREG
        assert o("link", os.O_RDONLY | os.O_NOFOLLOW) == "ELOOP"
        assert o("file", os.O_CREAT | os.O_EXCL | os.O_WRONLY) == "EEXIST"
        assert o("made", os.O_CREAT | os.O_WRONLY, 0o600) == stat.S_IFREG
        assert o("dangling", os.O_CREAT | os.O_WRONLY, 0o600) == \
            stat.S_IFREG
        assert (tmp_path / "new").exists()
        assert o("../x", os.O_RDONLY) == "EXDEV"        # RESOLVE_BENEATH
        assert o("nothing", os.O_RDONLY) == "ENOENT"
        assert o(".", os.O_CREAT | os.O_RDONLY, 0o600) == "EISDIR"
    finally:
        os.close(d)
