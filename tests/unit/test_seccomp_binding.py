"""sentry._seccomp: the libseccomp builder (no filter is installed here)."""
import struct

import pytest

from sentry import _seccomp as sc


def _insns(bpf):
    return [struct.unpack("HBBI", bpf[i:i + 8]) for i in range(0, len(bpf), 8)]


def test_action_values():
    assert sc.ALLOW == 0x7fff0000
    assert sc.KILL_PROCESS == 0x80000000
    assert sc.KILL_THREAD == sc.KILL == 0
    assert sc.TRAP == 0x00030000
    assert sc.LOG == 0x7ffc0000
    assert sc.NOTIFY == 0x7fc00000
    assert sc.ERRNO(1) == 0x00050001
    assert sc.TRACE(7) == 0x7ff00007


def test_version_supports_notify():
    assert sc.version() >= (2, 5, 0)
    assert sc.api_level() >= 5


def test_resolve():
    assert sc.resolve_name("getpid") == 39
    assert sc.resolve_name("getpid", "x86") == 20
    assert sc.resolve_name("getpid", "SCMP_ARCH_X32") == 0x40000000 | 39
    assert sc.resolve_num(39) == "getpid"
    assert sc.resolve_num(20, "x86") == "getpid"
    with pytest.raises(KeyError):
        sc.resolve_name("nosuchcall")
    with pytest.raises(KeyError):
        sc.resolve_name("tuxcall", "x86")  # not an i386 syscall
    with pytest.raises(KeyError):
        sc.resolve_num(1000)
    with pytest.raises(ValueError):
        sc.arch_token("vax")


def test_rules_and_export():
    f = sc.Filter(sc.ERRNO(38))
    f.add_rule(sc.ALLOW, "getpid")
    f.add_rule(sc.ERRNO(1), 165)
    f.add_rule(sc.ALLOW, "clone", (0, "MASKED_EQ", 0x20000, 0))
    f.add_rule(sc.ALLOW, "mmap", (2, sc.CMP_LE, 7), (3, "SCMP_CMP_NE", 1))
    f.add_rule(sc.ALLOW, 462)  # newer than libseccomp: native number
    pfc = f.export_pfc()
    assert '"getpid" (39)' in pfc and "action ERRNO(1);" in pfc
    assert "$syscall == 462" in pfc
    bpf = f.export_bpf()
    assert len(bpf) % 8 == 0
    insns = _insns(bpf)
    # ld arch; jeq AUDIT_ARCH_X86_64 ... ; the last return is BADARCH (kill).
    assert insns[0] == (0x20, 0, 0, 4)
    assert insns[1][3] == sc.ARCH_X86_64
    assert (0x06, 0, 0, sc.ERRNO(38)) in insns
    assert insns[-1] == (0x06, 0, 0, 0)


def test_x32_numbers_go_to_badarch():
    f = sc.Filter(sc.ALLOW)
    f.set_attr("badarch", sc.KILL_PROCESS)
    insns = _insns(f.export_bpf())
    # libseccomp checks nr >= 0x40000000 (jge) in an x86-64 filter.
    assert any(code == 0x35 and k == 0x40000000 for code, _, _, k in insns)
    assert insns[-1] == (0x06, 0, 0, sc.KILL_PROCESS)


def test_bad_rules():
    f = sc.Filter(sc.ALLOW)
    with pytest.raises(ValueError):
        f.add_rule(sc.ERRNO(1), "read", (0, "LIKE", 1))
    with pytest.raises(ValueError):
        f.add_rule(sc.ERRNO(1), "read", (6, "EQ", 1))
    with pytest.raises(ValueError):
        f.add_rule(sc.ERRNO(1), "read", (0, "EQ"))
    with pytest.raises(ValueError):
        f.add_rule(sc.ERRNO(1), "read", *[(i % 6, "EQ", i) for i in range(7)])
    with pytest.raises(KeyError):
        f.add_rule(sc.ERRNO(1), "nosuchcall")
    with pytest.raises(OSError):
        f.add_rule(sc.ALLOW, "read")  # same as the default action
    with pytest.raises(ValueError):
        sc.Filter(0x12340000)


def test_attrs_and_arches():
    f = sc.Filter(sc.ALLOW)
    assert f.get_attr("default") == sc.ALLOW
    f.set_attr("badarch", sc.KILL_PROCESS)
    assert f.get_attr("badarch") == sc.KILL_PROCESS
    for attr in ("nnp", "tsync", "log"):
        f.set_attr(attr, 1)
        assert f.get_attr(attr) == 1
    with pytest.raises(ValueError):
        f.set_attr("bogus", 1)
    assert f.has_arch("native") and not f.has_arch("x86")
    f.add_arch("SCMP_ARCH_X86")
    f.add_arch("x86")  # idempotent
    assert f.has_arch("x86")
    f.add_rule(sc.ERRNO(1), "getpid")
    assert '"getpid" (20)' in f.export_pfc()
    f.remove_arch("x86")
    assert not f.has_arch("x86")


def test_install_rejects_bad_programs():
    with pytest.raises(ValueError):
        sc.install_bpf(b"")
    with pytest.raises(ValueError):
        sc.install_bpf(b"1234567")
    with pytest.raises(ValueError):
        sc.install_bpf(b"\0" * 8 * (sc.BPF_MAXINSNS + 1))
