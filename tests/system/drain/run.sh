#!/bin/bash
# run.sh DRAIN_PROGRAM VIRTPORTAL: the drain of issue 8's "must show". Two private
# libvirtd instances (A, B) on loopback and the tiny TCG guest running on A; then
# drain_system (C, through the REST API of a real virtportal): both hosts registered,
# a drain plan for A (CPU compatibility asked of libvirt), executed as live
# migrations; A must end empty and the guest run on B, still alive; then a drain of B
# cancelled mid-migration leaves the guest on B. Exit 77 (skip)
# only when not root or the guest assets are missing; VP_SYSTEM_REQUIRED=1 turns that
# into a failure (CI).
# shellcheck source-path=SCRIPTDIR
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# = 2 ] || { echo "usage: $0 DRAIN_PROGRAM VIRTPORTAL" >&2; exit 2; }
# shellcheck source=../lib/common.sh
. "$here/../lib/common.sh"
vp_require libvirtd virsh qemu-system-x86_64 qemu-img unshare
vp_system_base drain
# shellcheck source=../lib/libvirtd.sh
. "$here/../lib/libvirtd.sh"
# shellcheck source=../lib/guest.sh
. "$here/../lib/guest.sh"
g=vp-drain
vp_on_exit "$VP_SYSTEM_BASE/libvirtd/*/libvirtd.log" "$VP_SYSTEM_BASE/libvirtd/*/log/qemu/*.log" "$work/$g.serial.log"
fail() {
    echo "FAIL: $*"
    exit 1
}

t0=$(date +%s)
vp_libvirtd_start a || fail "start libvirtd A"
A=$VP_LIBVIRTD_URI
vp_libvirtd_start b || fail "start libvirtd B"
B=$VP_LIBVIRTD_URI
echo "ok: libvirtd A=$A B=$B ($(($(date +%s) - t0)) s)"
vp_guest_boot "$A" "$g" "$work" >/dev/null || fail "boot the guest on A"
vp_guest_wait_alive "$work/$g.serial.log" || fail "guest heartbeat on A"
echo "ok: guest $g running on A ($(($(date +%s) - t0)) s)"

# the REST part: register, plan, execute, check through the API
VP_BINARY=$2 VP_DRAIN_URI_A=$A VP_DRAIN_URI_B=$B VP_DRAIN_GUEST=$g "$1" || fail "drain_system"

# and from the hypervisors' side: A holds no domain at all, the guest runs on B
left=$(virsh -q -c "$A" list --all --name | grep -c .)
[ "$left" = 0 ] || fail "host A still has $left domain(s): $(virsh -q -c "$A" list --all --name)"
[ "$(vp_guest_state "$B" "$g")" = running ] || fail "the guest is '$(vp_guest_state "$B" "$g")' on B"
vp_guest_wait_alive "$work/$g.serial.log" || fail "no heartbeat after the migration"
echo "ok: A is empty, $g runs on B and is alive ($(($(date +%s) - t0)) s in all)"
failed=0
