"""Conformance: config.md "Process" (args, env, cwd, user, umask, rlimits,
capabilities, noNewPrivileges, oomScoreAdj), checked from inside the
container by the probe.
"""

import resource

import pytest

from ocitest import CAPS, cap_mask, probe_spec

INFINITY = 2 ** 64 - 1


def test_process_args(rt):
    """process.args: executed with execvp semantics, argv as given"""
    spec = probe_spec("stat=/probe", "x y")
    p = rt.container(spec).probe()
    assert p["args"] == ["/probe", "stat=/probe", "x y"]


def test_process_args_path_lookup(rt):
    """process.args[0] is looked up like execvp's file (PATH from process.env)
    """
    spec = probe_spec()
    spec["process"]["args"] = ["sh", "-c", "exec /probe"]
    p = rt.container(spec).probe()
    assert p["args"] == ["/probe"]


def test_process_env(rt):
    """process.env: the process MUST see exactly the given variables (HOME may
    be added)"""
    env = ["PATH=/bin", "FOO=bar", "EMPTY=", "WITH_EQ=a=b"]
    p = rt.container(probe_spec(env=env)).probe()
    got = [e for e in p["env"] if not e.startswith("HOME=")]
    assert sorted(got) == sorted(env)


def test_process_cwd(rt):
    """process.cwd: the working directory of the executable"""
    p = rt.container(probe_spec(cwd="/srv")).probe()
    assert p["cwd"] == "/srv"


def test_process_user_uid_gid(rt):
    """process.user: uid and gid in the container namespace"""
    spec = probe_spec()
    spec["process"]["user"] = {"uid": 1000, "gid": 1001}
    p = rt.container(spec).probe()
    ids = (p["uid"], p["euid"], p["gid"], p["egid"])
    assert ids == (1000, 1000, 1001, 1001)


def test_process_user_additional_gids(rt):
    """process.user.additionalGids: added to the process; no other groups leak
    in"""
    spec = probe_spec()
    spec["process"]["user"] = {"uid": 1000, "gid": 1001,
                               "additionalGids": [2001, 2002]}
    p = rt.container(spec).probe()
    assert set(p["groups"]) - {1001} == {2001, 2002}


def test_process_user_no_additional_gids(rt):
    """process.user: without additionalGids the host's supplementary groups do
    not leak"""
    spec = probe_spec()
    spec["process"]["user"] = {"uid": 1000, "gid": 1001}
    p = rt.container(spec).probe()
    assert set(p["groups"]) <= {1001}


@pytest.mark.parametrize("umask", [0o027, 0o077, 0])
def test_process_umask(rt, umask):
    """process.user.umask: the process starts with this umask"""
    spec = probe_spec()
    spec["process"]["user"] = {"uid": 0, "gid": 0, "umask": umask}
    p = rt.container(spec).probe()
    assert p["umask"] == umask


def test_process_rlimits(rt):
    """process.rlimits: getrlimit soft (rlim_cur) and hard (rlim_max) MUST
    match"""
    rl = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
          {"type": "RLIMIT_CORE", "soft": 4096, "hard": 8192},
          {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600},
          {"type": "RLIMIT_MSGQUEUE", "soft": 4096, "hard": 4096}]
    p = rt.container(probe_spec(rlimits=rl)).probe()
    for r in rl:
        assert p["rlimits"][r["type"]] == [r["soft"], r["hard"]], r["type"]


def test_process_rlimits_unset_inherited(rt):
    """process.rlimits: a type not listed keeps the runtime's value"""
    p = rt.container(probe_spec(rlimits=[])).probe()
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    conv = [INFINITY if v == resource.RLIM_INFINITY else v
            for v in (soft, hard)]
    assert p["rlimits"]["RLIMIT_STACK"] == conv


def test_process_rlimits_invalid_type_fails(rt):
    """process.rlimits: a type that maps to no kernel resource MUST generate an
    error"""
    spec = probe_spec(rlimits=[{"type": "RLIMIT_BOGUS", "soft": 1,
                                "hard": 1}])
    c = rt.container(spec)
    assert not c.create().ok
    assert not c.state_result().ok


def test_process_rlimits_duplicate_fails(rt):
    """process.rlimits: duplicated entries of one type MUST generate an error
    """
    spec = probe_spec(rlimits=[
        {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100},
        {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200}])
    c = rt.container(spec)
    assert not c.create().ok
    assert not c.state_result().ok


def test_capabilities_root(rt):
    """process.capabilities: bounding/effective/permitted/inheritable/ambient
    as given (uid 0)"""
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    spec = probe_spec()
    spec["process"]["capabilities"] = {
        "bounding": caps, "effective": caps, "permitted": caps,
        "inheritable": [], "ambient": []}
    p = rt.container(spec).probe()
    m = cap_mask(caps)
    assert p.cap("CapBnd") == m
    assert p.cap("CapEff") == m
    assert p.cap("CapPrm") == m
    assert p.cap("CapInh") == 0
    assert p.cap("CapAmb") == 0


def test_capabilities_non_root_all_sets(rt):
    """process.capabilities: all five sets survive the switch to a non-root
    user"""
    spec = probe_spec()
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    kept = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    spec["process"]["capabilities"] = {
        "bounding": kept + ["CAP_CHOWN", "CAP_SETUID"],
        "effective": kept, "permitted": kept,
        "inheritable": kept, "ambient": kept}
    p = rt.container(spec).probe()
    assert p.cap("CapBnd") == cap_mask(kept + ["CAP_CHOWN", "CAP_SETUID"])
    assert p.cap("CapEff") == cap_mask(kept)
    assert p.cap("CapPrm") == cap_mask(kept)
    assert p.cap("CapInh") == cap_mask(kept)
    assert p.cap("CapAmb") == cap_mask(kept)


def test_capabilities_empty(rt):
    """process.capabilities: empty sets leave the process with no capabilities
    """
    spec = probe_spec()
    spec["process"]["capabilities"] = {
        "bounding": [], "effective": [], "permitted": [],
        "inheritable": [], "ambient": []}
    p = rt.container(spec).probe()
    for s in ("CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert p.cap(s) == 0, s


def test_capabilities_default_drops_others(rt):
    """process.capabilities: capabilities not listed (e.g. CAP_SYS_ADMIN) are
    absent"""
    p = rt.container(probe_spec()).probe()
    for s in ("CapBnd", "CapEff", "CapPrm"):
        assert not p.cap(s) & (1 << CAPS["CAP_SYS_ADMIN"]), s
        assert not p.cap(s) & (1 << CAPS["CAP_SYS_MODULE"]), s


@pytest.mark.runc_deviation(
    "runc 1.1 ignores unknown capability names with a warning")
def test_capabilities_unknown_fails(rt):
    """process.capabilities: a value that maps to no kernel capability MUST
    cause an error"""
    spec = probe_spec()
    spec["process"]["capabilities"]["bounding"].append("CAP_NOT_A_CAP")
    c = rt.container(spec)
    assert not c.create().ok
    assert not c.state_result().ok


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(rt, nnp):
    """process.noNewPrivileges: prctl(PR_GET_NO_NEW_PRIVS) reflects the setting
    """
    p = rt.container(probe_spec(noNewPrivileges=nnp)).probe()
    assert p["no_new_privs"] == (1 if nnp else 0)
    assert p.status_field("NoNewPrivs") == ("1" if nnp else "0")


# Raising needs no privilege; lowering below the runtime's own value needs
# CAP_SYS_RESOURCE in the init user namespace, which a test host may lack.
@pytest.mark.parametrize("adj", [123, 987])
def test_oom_score_adj_set(rt, adj):
    """process.oomScoreAdj: if set, oom_score_adj MUST be set to the value"""
    p = rt.container(probe_spec(oomScoreAdj=adj)).probe()
    got = p.text("oom_score_adj", "/proc/self/oom_score_adj").strip()
    assert got == str(adj)


def test_oom_score_adj_unset(rt):
    """process.oomScoreAdj: if not set, oom_score_adj MUST NOT be changed"""
    with open("/proc/self/oom_score_adj") as f:
        ours = f.read().strip()
    p = rt.container(probe_spec()).probe()
    got = p.text("oom_score_adj", "/proc/self/oom_score_adj").strip()
    assert got == ours


def test_terminal_false_uses_given_stdio(rt):
    """process.terminal=false: the process writes to the runtime's
    stdout/stderr"""
    spec = probe_spec()
    spec["process"]["args"] = ["/bin/sh", "-c", "echo out; echo err >&2"]
    c = rt.container(spec)
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped")
    assert c.output() == "out\n"
    assert "err\n" in c.err.read_text()


def test_seccomp_filter_applied(rt):
    """linux.seccomp: the profile is installed (filter mode) and its rules act
    """
    spec = probe_spec()
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1}],
    }
    p = rt.container(spec).probe()
    assert p.status_field("Seccomp") == "2"
    assert p["cwd"] is None, "getcwd was not blocked by the profile"


def test_no_seccomp_without_profile(rt):
    """linux.seccomp absent: getcwd works (control of the filter test)"""
    p = rt.container(probe_spec()).probe()
    assert p["cwd"] == "/"
