#!/bin/sh
# Build the lineage-server image with podman where no container registry and no Docker daemon are reachable
# (as root): a bare Debian base made by debootstrap and imported, then `podman build` in chroot isolation.
#
#   deploy/build-image.sh                 # builds localhost/lineage-server:latest
#   . /var/tmp/lineage-image/env          # the same podman configuration for `podman run` afterwards
#
# Needs: apt-get install -y podman buildah debootstrap runc. Knobs: LINEAGE_IMAGE (the tag),
# LINEAGE_IMAGE_WORK (podman's storage and the configuration, default /var/tmp/lineage-image),
# DEBIAN_MIRROR. Where a registry is reachable, plain `podman build -f deploy/Dockerfile .` is enough.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${LINEAGE_IMAGE_WORK:-/var/tmp/lineage-image}
image=${LINEAGE_IMAGE:-localhost/lineage-server:latest}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=localhost/debian-bookworm:minbase
mkdir -p "$work"

# Root here may only lower resource limits, so the limits are explicit; crun refuses hybrid cgroups, runc not.
cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
cat >"$work/storage.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$work/run"
graphroot = "$work/storage"
CONF
cat >"$work/env" <<CONF
export CONTAINERS_CONF=$work/containers.conf
export CONTAINERS_STORAGE_CONF=$work/storage.conf
CONF
. "$work/env"

if ! podman image exists "$base"; then
    rm -rf "$work/rootfs"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror"
    tar -C "$work/rootfs" --numeric-owner -c . | podman import - "$base"
    rm -rf "$work/rootfs"
fi

# The base has no CA bundle: pip inside the build uses the host's, mounted for the build only.
podman build --isolation chroot --format docker \
    --build-arg BASE="$base" \
    --build-arg PIP_CERT=/run/host-ca.crt \
    -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro \
    -t "$image" -f "$top/deploy/Dockerfile" "$top"
echo "built $image"
