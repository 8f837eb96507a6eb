#!/bin/sh
# Install Docker, containerd and Podman from Debian and print how to start
# each PRIVATELY with pyrunsc as its runtime (own data dirs, sockets, pid
# files and config files under one directory; no system-wide daemon, no
# bridge, no iptables).  Nothing is started here.  See docs/engines.md.
#
#   scripts/engines-setup.sh [DIR]      (DIR defaults to /tmp/pyrunsc-engines)
set -eu

DIR=${1:-/tmp/pyrunsc-engines}
RUNTIME=${PYRUNSC:-/usr/local/bin/pyrunsc}

if [ "$(id -u)" != 0 ]; then
    echo "engines-setup.sh: run as root" >&2
    exit 1
fi

# Without systemd the packages' postinst scripts do not start daemons.
PKGS="docker.io containerd podman conmon crun"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PKGS >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
}
dpkg-query -W -f '${Package} ${Version}\n' docker.io containerd podman \
    conmon runc 2>/dev/null || true

cat <<EOF

# --- Docker (its own containerd is started under --exec-root) -------------
mkdir -p $DIR/docker
echo '{"runtimes": {"pyrunsc": {"path": "$RUNTIME"}}}' > $DIR/docker/daemon.json
dockerd --config-file $DIR/docker/daemon.json \\
    --data-root $DIR/docker/data --exec-root $DIR/docker/exec \\
    --pidfile $DIR/docker/dockerd.pid -H unix://$DIR/docker/docker.sock \\
    --bridge=none --iptables=false --ip-masq=false --ip6tables=false \\
    --cgroup-parent=/pyrunsc-engines >$DIR/docker/dockerd.log 2>&1 &
/usr/bin/docker -H unix://$DIR/docker/docker.sock import ROOTFS.tar busybox
/usr/bin/docker -H unix://$DIR/docker/docker.sock run --rm --runtime pyrunsc \\
    --network none busybox echo hello
# stop: kill \$(cat $DIR/docker/dockerd.pid)

# --- containerd ---------------------------------------------------------------
mkdir -p $DIR/containerd
cat > $DIR/containerd/config.toml <<EOT
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$DIR/containerd/containerd.sock"
[ttrpc]
  address = "$DIR/containerd/containerd.sock.ttrpc"
EOT
containerd --config $DIR/containerd/config.toml >$DIR/containerd/log 2>&1 &
ctr --address $DIR/containerd/containerd.sock images import IMAGE.tar
ctr --address $DIR/containerd/containerd.sock run --rm \\
    --runtime io.containerd.runc.v2 --runc-binary $RUNTIME \\
    --runc-root $DIR/containerd/runc --fifo-dir $DIR/containerd/fifo \\
    docker.io/library/busybox:latest t1 echo hello

# --- Podman (conmon; no daemon) ----------------------------------------------
podman --root $DIR/podman/root --runroot $DIR/podman/runroot \\
    --tmpdir $DIR/podman/tmp --cgroup-manager cgroupfs \\
    --events-backend file --runtime $RUNTIME import ROOTFS.tar busybox
podman --root $DIR/podman/root --runroot $DIR/podman/runroot \\
    --tmpdir $DIR/podman/tmp --cgroup-manager cgroupfs \\
    --events-backend file --runtime $RUNTIME run --rm --network none \\
    --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 busybox echo hello
EOF
