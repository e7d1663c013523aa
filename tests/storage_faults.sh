#!/bin/sh
# The storage-fault tests that mount file systems (tests/integration/storage_fault_test.cpp, tagged [.storage]): a
# 64 MiB tmpfs filled up under load, an ext4 image on a loop device the kernel turns read-only, a read-only bind
# mount, the daemon run as nobody through setpriv. They need root, util-linux and e2fsprogs, and a mount namespace
# of their own, so that nothing they mount reaches the host or outlives them. .ci/run runs this after the suite.
#
#   sudo tests/storage_faults.sh              # in build/ (built already: scripts/test)
#   sudo BUILD_DIR=build-san tests/storage_faults.sh
#
# `unshare -m --propagation private` makes every mount of the new namespace private. In a chroot (as
# ../shared/tools/fresh-debian runs CI) the root is no mount point and its propagation cannot be changed; when no
# mount of this host is shared (/proc/self/mountinfo has no "shared:" tag) nothing made in a new namespace can
# propagate anywhere, so the namespace is made without changing it. On a host with shared mounts, inside a chroot,
# the tests refuse to run rather than risk mounting on the host.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ "$(id -u)" -eq 0 ] || { echo "storage faults: needs root (mount, losetup, setpriv)"; exit 77; }
[ -x "$build/tests/integration_tests" ] || { echo "storage faults: build $build first (scripts/test)"; exit 1; }
scripts/install-missing "storage faults" e2fsprogs util-linux
if unshare -m --propagation private true 2>/dev/null; then
  propagation=private
elif ! grep -q ' shared:' /proc/self/mountinfo; then
  propagation=unchanged
  echo "storage faults: / is no mount point here (a chroot); no mount is shared, so a new namespace suffices"
else
  echo "storage faults: cannot make a private mount namespace here (a chroot on a host with shared mounts)"
  exit 1
fi
started=$(date +%s)
status=0
unshare -m --propagation "$propagation" "$build/tests/integration_tests" '[.][storage]' || status=$?
echo "storage faults: $(($(date +%s) - started)) s, exit status $status"
exit "$status"
