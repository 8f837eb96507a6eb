"""Real programs in real containers under each platform, against native runs.

Issue 3: "Real programs give the same output and exit code natively (same
root, no sandbox) and under both platforms".  The container's root is the
host root read-only with a writable tmpfs at /tmp (gVisor's tests do the
same); natively the same commands run in a private scratch directory.
"""
import os
import shutil
import subprocess
import threading

import pytest

PLATFORMS = ["seccomp", "ptrace"]

HELLO = r'''
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    printf("hello from %s, %d args\n", argv[0], argc);
    return 42;
}
'''

# One shell script per program: it works in $W (a scratch dir), prints
# what it finds, and exits with the program's status.
PROGRAMS = {
    "gcc": (
        'cd "$W" && printf "%s" "$HELLO" > hello.c && gcc -O2 -o hello '
        'hello.c && ./hello a b; echo "exit=$?"'),
    "python": (
        'python3 -c "import json, email, http.client, sqlite3, asyncio, '
        'decimal; print(json.dumps(sorted([\'ok\', email.__name__])))"'),
    "busybox": (
        'cd "$W" && mkdir -p d/e && echo x > d/e/f && ln -s e/f d/l && '
        'busybox find d | sort && busybox cat d/l && busybox ls -l d/l | '
        'busybox awk \'{print $1, $NF}\' && busybox rm -r d && '
        'busybox test ! -e d; echo "exit=$?"'),
    "tar": (
        'cd "$W" && mkdir -p t/a/b && for i in 1 2 3; do echo $i > t/a/b/$i; '
        'done && tar cf t.tar t && rm -r t && tar xf t.tar && '
        'cat t/a/b/* && ls -R t | wc -l'),
}


def _native(script, work):
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "W": work, "HELLO": HELLO}
    p = subprocess.run(["/bin/sh", "-c", script], capture_output=True,
                       text=True, env=env, timeout=120)
    return p.returncode, p.stdout


@pytest.fixture
def hostroot_bundle(bundle_factory):
    if bundle_factory.kind != "hostroot":
        pytest.skip("these programs come from the host root")
    return bundle_factory


@pytest.mark.parametrize("rootfs_kind", ["hostroot"], indirect=True)
@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_program_matches_native(pyrunsc, hostroot_bundle, test_dir, platform,
                                program):
    if program == "gcc" and not shutil.which("gcc"):
        pytest.fail("gcc is missing on the host")
    script = PROGRAMS[program]
    work = os.path.join(test_dir, "native")
    os.makedirs(work)
    want_rc, want_out = _native(script, work)
    assert want_rc == 0 or program == "gcc", (want_rc, want_out)

    def edit(spec):
        spec["process"]["env"] = ["PATH=/usr/local/bin:/usr/bin:/bin",
                                  "W=/tmp/w", f"HELLO={HELLO}"]
        spec["process"]["args"] = ["/bin/sh", "-c", f'mkdir -p "$W" && {script}']
        spec["mounts"].append({"destination": "/tmp", "type": "tmpfs",
                               "source": "tmpfs",
                               "options": ["nosuid", "nodev", "size=256m"]})

    b = hostroot_bundle(["true"], edit=edit)
    cid = pyrunsc.new_id(program)
    res = pyrunsc("--platform", platform, "run", "--bundle", b, cid,
                  timeout=180)
    assert (res.returncode, res.stdout) == (want_rc, want_out), res


@pytest.mark.parametrize("rootfs_kind", ["hostroot"], indirect=True)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_strace_shows_the_apps_openat(pyrunsc, hostroot_bundle, test_dir,
                                      platform):
    """Evidence of interception: the debug log has the app's openat paths."""
    logs = os.path.join(test_dir, "logs")
    b = hostroot_bundle(["/bin/cat", "/etc/hostname", "/etc/os-release"])
    cid = pyrunsc.new_id("strace")
    pyrunsc.ok("--debug-log", logs, "--strace", "--platform", platform,
               "run", "--bundle", b, cid)
    text = ""
    for name in os.listdir(logs):
        if ".boot." in name:
            with open(os.path.join(logs, name)) as f:
                text += f.read()
    # The log quotes the strace line, so its own quotes are escaped.
    lines = [ln.replace('\\"', '"') for ln in text.splitlines()
             if "openat(" in ln]
    assert any('openat(AT_FDCWD, "/etc/os-release", O_RDONLY' in ln
               for ln in lines), text[-3000:]


@pytest.mark.parametrize("rootfs_kind", ["busybox"], indirect=True)
def test_dropped_capabilities_bind_the_sentry(pyrunsc, bundle_factory,
                                              test_dir):
    """A root app without CAP_DAC_OVERRIDE or CAP_CHOWN is served without
    them: the same answers as when the kernel alone serves it."""
    data = os.path.join(test_dir, "data")
    os.makedirs(data)
    for name in ("secret", "mine"):
        path = os.path.join(data, name)
        with open(path, "w") as f:
            f.write("top secret\n")
        os.chown(path, 1000, 1000)
        os.chmod(path, 0o600)
    script = ('cat /data/secret; echo "cat=$?"; chown 0 /data/mine; '
              'echo "chown=$?"; ls -n /data/mine | cut -c1-25')

    def edit(spec):
        spec["process"]["capabilities"] = {k: [] for k in (
            "bounding", "effective", "permitted", "inheritable", "ambient")}
        spec["process"]["args"] = ["/bin/sh", "-c", script]
        spec["mounts"].append({"destination": "/data", "type": "bind",
                               "source": data, "options": ["rbind", "rw"]})

    out = {}
    for platform in ("none", "seccomp", "ptrace"):
        b = bundle_factory(["true"], edit=edit)
        cid = pyrunsc.new_id(f"caps-{platform}")
        res = pyrunsc.ok("--platform", platform, "run", "--bundle", b, cid)
        out[platform] = res.stdout
    assert "cat=1" in out["none"] and "chown=1" in out["none"], out
    assert out["seccomp"] == out["none"], out
    assert out["ptrace"] == out["none"], out


@pytest.mark.parametrize("rootfs_kind", ["busybox"], indirect=True)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_interleaved_users_keep_their_own_credentials(
        pyrunsc, bundle_factory, test_dir, platform):
    """Root and two other users calling at once through one loop thread
    (which keeps an app's credentials between its calls): each is served
    with its own, every time."""
    data = os.path.join(test_dir, "data")
    os.makedirs(data)
    for name, uid in (("root", 0), ("u1000", 1000), ("u2000", 2000)):
        path = os.path.join(data, name)
        with open(path, "w") as f:
            f.write(name + "\n")
        os.chown(path, uid, uid)
        os.chmod(path, 0o600)
    os.chmod(data, 0o777)
    loop = ('i=0; while [ $i -lt 60 ]; do for f in root u1000 u2000; do '
            'if cat /data/$f >/dev/null 2>&1; then echo "$f ok"; '
            'else echo "$f no"; fi; done; i=$((i+1)); done | sort | uniq -c')

    def edit(spec):
        spec["mounts"].append({"destination": "/data", "type": "bind",
                               "source": data, "options": ["rbind", "rw"]})
        spec["process"]["capabilities"] = {k: ["CAP_DAC_OVERRIDE"] for k in (
            "bounding", "effective", "permitted")}

    b = bundle_factory(["sleep", "100"], edit=edit)
    cid = pyrunsc.new_id("users")
    pyrunsc.ok("--platform", platform, "run", "--detach", "--bundle", b, cid)
    out = {}

    def run(user):
        out[user] = pyrunsc.ok("exec", "--user", user, cid, "sh", "-c",
                               loop).stdout

    threads = [threading.Thread(target=run, args=(u,))
               for u in ("0:0", "1000:1000", "2000:2000")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pyrunsc.ok("delete", "--force", cid)

    def counts(text):
        return sorted(" ".join(ln.split()) for ln in text.splitlines())

    assert counts(out["0:0"]) == ["60 root ok", "60 u1000 ok",
                                  "60 u2000 ok"], out
    assert counts(out["1000:1000"]) == ["60 root no", "60 u1000 ok",
                                        "60 u2000 no"], out
    assert counts(out["2000:2000"]) == ["60 root no", "60 u1000 no",
                                        "60 u2000 ok"], out
