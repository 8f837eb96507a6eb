"""The sentry's BPF is a binary tree over the syscall number that
classifies every call exactly as libseccomp's linear filter does.

Both filters run in a small classic-BPF interpreter over seccomp_data, so
the test needs no privileges and sees the path each call takes.
"""
import struct

import pytest

from sentry import _seccomp, filter as sfilter, syscalls

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_BIT = 0x40000000
# seccomp_data: nr, arch (u32), instruction_pointer, args[6] (u64)
ARGS_OFF = 16


def insns(bpf):
    return [struct.unpack("HBBI", bpf[i:i + 8]) for i in range(0, len(bpf), 8)]


def run(prog, nr, arch=AUDIT_ARCH_X86_64, args=(0,) * 6):
    """``(action, steps, loaded_offsets)`` of ``prog`` for one call."""
    data = struct.pack("<IIQ6Q", nr & 0xFFFFFFFF, arch, 0,
                       *[a & (2**64 - 1) for a in args])
    a = x = 0
    mem = [0] * 16
    pc = steps = 0
    loaded = set()
    while True:
        code, jt, jf, k = prog[pc]
        steps += 1
        pc += 1
        cls, op, src = code & 0x07, code & 0xF0, code & 0x08
        if code == 0x20:                      # ld [k]
            a = struct.unpack_from("<I", data, k)[0]
            loaded.add(k)
        elif code == 0x00:                    # ld #k
            a = k
        elif code == 0x60:                    # ld M[k]
            a = mem[k]
        elif code == 0x61:                    # ldx M[k]
            x = mem[k]
        elif code == 0x02:                    # st M[k]
            mem[k] = a
        elif code == 0x03:                    # stx M[k]
            mem[k] = x
        elif code == 0x87:                    # tax
            x = a
        elif code == 0x07 and False:
            pass
        elif cls == 0x04:                     # alu
            v = x if src else k
            a = {0x50: a & v, 0x40: a | v, 0xA0: a ^ v, 0x00: a + v,
                 0x10: a - v}[op] & 0xFFFFFFFF
        elif code == 0x05:                    # ja
            pc += k
        elif cls == 0x05:                     # conditional jumps
            v = x if src else k
            cond = {0x10: a == v, 0x20: a > v, 0x30: a >= v,
                    0x40: bool(a & v)}[op]
            pc += jt if cond else jf
        elif code == 0x06:                    # ret k
            return k, steps, loaded
        else:
            raise AssertionError(f"opcode {code:#x} not emulated")


def linear(platform):
    f = sfilter.sentry_filter(platform)
    f.set_attr("optimize", 1)
    return insns(f.export_bpf())


# Argument vectors that tell the argument rules apart: zero, all ones,
# CLONE_NEW* and CLONE_THREAD bits, a non-NULL pointer, AT_FDCWD.
ARGS = [(0,) * 6, (2**64 - 1,) * 6, (0x7E020000,) + (0,) * 5,
        (0x00010F00, 0, 0, 0, 0, 0), (3, 0x1000, 16, 0, 0x2000, 16),
        (0xFFFFFF9C, 0, 0, 0, 0, 0), (1, 0, 0, 0, 0, 0), (8,) * 6]
NRS = list(range(0, 600)) + [1000, 0xFFFF, 0x3FFFFFFF]


@pytest.mark.parametrize("platform", sfilter.PLATFORMS)
def test_tree_classifies_every_call_as_the_linear_filter(platform):
    tree = insns(sfilter.build_sentry_filter(platform))
    lin = linear(platform)
    for nr in NRS:
        for args in ARGS:
            assert run(tree, nr, args=args)[0] == run(lin, nr, args=args)[0], \
                (nr, args)
    for nr in (0, 39, 59, 0x3FFFFFFF):
        for arch, n in ((AUDIT_ARCH_I386, nr), (AUDIT_ARCH_X86_64,
                                                  nr | X32_BIT)):
            assert run(tree, n, arch=arch)[0] == _seccomp.KILL_PROCESS
            assert run(lin, n, arch=arch)[0] == _seccomp.KILL_PROCESS


@pytest.mark.parametrize("platform", sfilter.PLATFORMS)
def test_every_call_takes_a_short_path(platform):
    """A binary tree: no number walks the whole list (the linear filter
    takes hundreds of steps for the last entries)."""
    tree = insns(sfilter.build_sentry_filter(platform))
    worst = max(run(tree, nr, args=args)[1] for nr in NRS for args in ARGS)
    assert worst <= 60


@pytest.mark.parametrize("platform", sfilter.PLATFORMS)
def test_unconditionally_allowed_calls_read_no_argument(platform):
    """What the kernel's constant-action bitmap needs to answer a call
    without running the BPF: only nr and arch are read on its path."""
    tree = insns(sfilter.build_sentry_filter(platform))
    for e in syscalls.TABLE:
        if e.cls == syscalls.ALLOW and not e.rules:
            action, _, loaded = run(tree, e.nr)
            assert action == _seccomp.ALLOW, e.name
            assert all(off < ARGS_OFF for off in loaded), e.name
