#!/bin/bash
# run.sh PROGRAM: runs the quota cgroup system test program (cgroup_system.c) inside the
# cgroup v2 guest and passes its exit code on. Exit 77 (skip) only when not root or the
# guest assets are missing; VP_SYSTEM_REQUIRED=1 turns that into a failure (CI).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
skip() {
    echo "SKIP: $*"
    [ "${VP_SYSTEM_REQUIRED:-0}" = 1 ] && exit 1
    exit 77
}
[ $# = 1 ] || { echo "usage: $0 PROGRAM" >&2; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root"
[ -f "${VP_GUEST_DIR:-/var/cache/virtportal/guest}/guest.env" ] ||
    skip "no guest assets (run scripts/setup-guest)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
t0=$(date +%s)
VP_GUEST_TIMEOUT=${VP_GUEST_TIMEOUT:-240} "$here/../lib/cgroup-guest-run.sh" "$1"
rc=$?
echo "quota_cgroup_system: guest exit code $rc after $(($(date +%s) - t0)) s"
exit "$rc"
