#!/bin/bash
# System smoke test: two private libvirtd instances on loopback and one TCG guest.
# Define + boot on A, suspend/resume, internal qcow2 snapshot + revert, live migration
# A -> B (direct, tcp data URI) and B -> A (peer-to-peer tunnelled), ACPI shutdown.
# Exit 77 (skip) only when not root or the guest assets are missing; VP_SYSTEM_REQUIRED=1
# turns that into a failure (CI).
# shellcheck source-path=SCRIPTDIR disable=SC2016 # step ... eval '...' expands later
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
vp_require libvirtd virsh qemu-system-x86_64 qemu-img unshare
vp_system_base smoke-libvirt
# shellcheck source=lib/libvirtd.sh
. "$here/lib/libvirtd.sh"
# shellcheck source=lib/guest.sh
. "$here/lib/guest.sh"
g=vp-smoke
serial=$work/$g.serial.log
vp_on_exit "$VP_SYSTEM_BASE/libvirtd/*/libvirtd.log" "$VP_SYSTEM_BASE/libvirtd/*/log/qemu/*.log" "$serial"
expect_state() { # URI STATE
    local st
    st=$(vp_guest_state "$1" "$g")
    [ "$st" = "$2" ] || {
        echo "state of $g on $1 is '$st', expected '$2'"
        return 1
    }
}
# Heartbeats must stop while paused: none may appear in 1.5 s.
no_heartbeat_while_paused() {
    local n
    n=$(vp_guest_alive_count "$serial")
    sleep 1.5
    [ "$(vp_guest_alive_count "$serial")" = "$n" ] || {
        echo "the guest printed heartbeats while paused"
        return 1
    }
}
qcow2_has_snapshot() { qemu-img snapshot -U -l "$work/$g.qcow2" | grep -qw "$1"; }
qcow2_lacks_snapshot() { ! qcow2_has_snapshot "$1"; }
# libvirt 9.0 refuses to migrate a domain that has snapshot metadata ("cannot migrate
# domain with 1 snapshots"); the internal snapshot itself lives in the qcow2 on shared
# storage. So: keep its XML, drop the metadata, migrate, redefine it on the target.
drop_snapshot_meta() { # URI
    virsh -q -c "$1" snapshot-dumpxml "$g" s1 >"$work/s1.xml" &&
        virsh -q -c "$1" snapshot-delete --metadata "$g" s1 >/dev/null
}
redefine_snapshot() { # URI
    virsh -q -c "$1" snapshot-create --redefine "$g" "$work/s1.xml" >/dev/null &&
        virsh -q -c "$1" snapshot-list --name "$g" | grep -qx s1
}
migrate_direct() { # FROM TO: live, data over a loopback TCP connection
    virsh -q -c "$1" migrate --live --unsafe "$g" "$2" tcp://127.0.0.1 >/dev/null
}
migrate_tunnelled() { # FROM TO: peer-to-peer, data through the libvirtd connection
    virsh -q -c "$1" migrate --live --unsafe --p2p --tunnelled "$g" "$2" >/dev/null
}
running_on() { # URI OTHER: running on URI, not on OTHER (shut off or transient gone)
    expect_state "$1" running || return 1
    local st
    st=$(vp_guest_state "$2" "$g")
    if [ "$st" = running ] || [ "$st" = paused ]; then
        echo "$g is still '$st' on the source"
        return 1
    fi
}
power_button_seen() { grep -q '^VP-GUEST-POWER-BUTTON' "$serial"; }

t_all=$(now)
step "start libvirtd A" vp_libvirtd_start a
A=$VP_LIBVIRTD_URI
step "start libvirtd B" vp_libvirtd_start b
B=$VP_LIBVIRTD_URI
echo "A=$A B=$B"
step "define + boot guest on A (to userspace)" vp_guest_boot "$A" "$g" "$work"
step "guest heartbeat on A" vp_guest_wait_alive "$serial"
step "suspend" virsh -q -c "$A" suspend "$g"
step "state paused" expect_state "$A" paused
step "no heartbeat while paused" no_heartbeat_while_paused
step "resume" virsh -q -c "$A" resume "$g"
step "state running + heartbeat" eval 'expect_state "$A" running && vp_guest_wait_alive "$serial"'
step "internal snapshot s1 (running)" virsh -q -c "$A" snapshot-create-as "$g" s1
step "s1 is inside the qcow2" qcow2_has_snapshot s1
step "revert to s1 + heartbeat" eval 'virsh -q -c "$A" snapshot-revert "$g" s1 && expect_state "$A" running && vp_guest_wait_alive "$serial"'
step "drop s1 metadata on A" drop_snapshot_meta "$A"
step "live migrate A -> B (tcp data uri)" migrate_direct "$A" "$B"
step "running on B + heartbeat" eval 'running_on "$B" "$A" && vp_guest_wait_alive "$serial"'
step "redefine s1 on B" redefine_snapshot "$B"
step "drop s1 metadata on B" drop_snapshot_meta "$B"
step "live migrate B -> A (p2p tunnelled)" migrate_tunnelled "$B" "$A"
step "running on A + heartbeat" eval 'running_on "$A" "$B" && vp_guest_wait_alive "$serial"'
step "redefine s1 on A, delete it" eval 'redefine_snapshot "$A" && virsh -q -c "$A" snapshot-delete "$g" s1 >/dev/null'
step "s1 is gone from the qcow2" qcow2_lacks_snapshot s1
step "ACPI shutdown (virsh shutdown)" vp_guest_shutdown "$A" "$g" 60
step "guest saw the power button" power_button_seen
step "boot again after shutdown" eval 'vp_guest_start "$A" "$g" && vp_guest_wait_ready "$serial" 2'
step "undefine" vp_guest_remove "$A" "$g"
step "stop both libvirtd" vp_libvirtd_stop_all
failed=0

echo "--- timings"
printf '%s\n' "${timings[@]}"
printf '%-42s %6d ms\n' "total" $((($(now) - t_all) / 1000000))
