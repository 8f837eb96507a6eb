"""Fixtures of tests/engines: private Docker, containerd and Podman.

The helpers (and what "private" means) are in tests/engines/enginelib.py.
"""
import json
import os
import shutil

import pytest

from tests.engines.enginelib import (IMAGE, BUSYBOX, Ctr, Docker, Podman,
                                     Private, _docker_archive, _rootfs_tar,
                                     _which, need)


@pytest.fixture(scope="session")
def rootfs_tar():
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static is not installed")
    return _rootfs_tar()


# -- Docker -------------------------------------------------------------------

@pytest.fixture(scope="module")
def docker(rootfs_tar):
    need("dockerd", "docker", "containerd", "containerd-shim-runc-v2")
    priv = Private("docker")
    try:
        with open(priv.path("daemon.json"), "w") as f:
            # Docker runs a runtime with runtimeArgs through a /bin/sh
            # script that does not exec.
            json.dump({"runtimes": {
                "pyrunsc": {"path": priv.runtime},
                "pyrunsc-args": {"path": priv.runtime,
                                 "runtimeArgs": ["--log-format", "json"]}}},
                f)
        argv = [_which("dockerd"),
                "--config-file", priv.path("daemon.json"),
                "--data-root", priv.path("data"),
                "--exec-root", priv.path("exec"),
                "--pidfile", priv.path("dockerd.pid"),
                "-H", f"unix://{priv.path('docker.sock')}",
                "--bridge=none", "--iptables=false", "--ip-masq=false",
                "--ip6tables=false", f"--cgroup-parent=/{priv.cgroup_name}",
                "--storage-driver", "overlay2"]
        d = priv.start_daemon(argv, "dockerd.log")
        dk = Docker(priv, "pyrunsc-busybox:latest")

        dk.wait_daemon(d, "dockerd.log", "dockerd")
        tar = priv.path("rootfs.tar")
        with open(tar, "wb") as f:
            f.write(rootfs_tar)
        dk.ok("import", tar, dk.image)
        yield dk
        ids = dk("ps", "-aq").stdout.split()
        if ids:
            dk("rm", "-f", *ids)
        priv.check_no_leftovers()
    finally:
        priv.cleanup()


# -- containerd ---------------------------------------------------------------

@pytest.fixture(scope="module")
def ctr(rootfs_tar):
    need("containerd", "ctr", "containerd-shim-runc-v2")
    priv = Private("containerd")
    try:
        conf = priv.path("config.toml")
        with open(conf, "w") as f:
            f.write(f'''version = 2
root = "{priv.path('root')}"
state = "{priv.path('state')}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{priv.path('containerd.sock')}"
[ttrpc]
  address = "{priv.path('containerd.sock.ttrpc')}"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = "{priv.path('runtime-v1')}"
''')
        d = priv.start_daemon([_which("containerd"), "--config", conf],
                              "containerd.log")
        c = Ctr(priv, "docker.io/library/" + IMAGE)

        c.wait_daemon(d, "containerd.log", "containerd")
        arch = priv.path("image.tar")
        with open(arch, "wb") as f:
            f.write(_docker_archive(rootfs_tar, IMAGE))
        c.ok("images", "import", arch)
        yield c
        for tid in c("tasks", "ls", "-q").stdout.split():
            c("tasks", "kill", "-s", "SIGKILL", tid)
            c("tasks", "delete", "-f", tid)
        for cid in c("containers", "ls", "-q").stdout.split():
            c("containers", "rm", cid)
        priv.check_no_leftovers()
    finally:
        priv.cleanup()


# -- Podman -------------------------------------------------------------------

@pytest.fixture(scope="module")
def podman(rootfs_tar):
    need("podman", "conmon")
    priv = Private("podman")
    cache = "/var/lib/containers"
    had_cache = os.path.exists(cache)
    try:
        with open(priv.path("containers.conf"), "w") as f:
            f.write(f'''[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{priv.path('events.log')}"
tmp_dir = "{priv.path('tmp')}"
volume_path = "{priv.path('volumes')}"
static_dir = "{priv.path('root', 'libpod')}"
[network]
network_config_dir = "{priv.path('net')}"
''')
        with open(priv.path("storage.conf"), "w") as f:
            f.write(f'''[storage]
driver = "overlay"
runroot = "{priv.path('runroot')}"
graphroot = "{priv.path('root')}"
''')
        pm = Podman(priv, "localhost/" + IMAGE)
        tar = priv.path("rootfs.tar")
        with open(tar, "wb") as f:
            f.write(rootfs_tar)
        pm.ok("import", tar, pm.image)
        yield pm
        ids = pm("ps", "-aq").stdout.split()
        if ids:
            pm("rm", "-f", "-t", "0", *ids)
        priv.check_no_leftovers()
    finally:
        priv.cleanup()
        if not had_cache:
            # containers/image's blob-info cache has no private location.
            shutil.rmtree(cache, ignore_errors=True)
