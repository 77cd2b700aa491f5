#!/bin/bash
# guest.sh: the tiny TCG test guest on a libvirt URI (kernel/initramfs from
# scripts/setup-guest, found through VP_GUEST_DIR, default /var/cache/virtportal/guest).
#
# The domain: type 'qemu' (TCG: this machine's /dev/kvm cannot boot Linux), 128 MiB
# (VP_GUEST_MEM_MB), 1 vCPU (VP_GUEST_CPUS), direct kernel boot of the PVH vmlinux +
# busybox initramfs, ACPI (so `virsh shutdown` works through the power button), a virtio
# disk backed by WORKDIR/NAME.qcow2 (32 MiB, so internal snapshots work), a virtio NIC on
# QEMU user networking (no host bridge or dnsmasq needed; migrates), the serial console
# appended to WORKDIR/NAME.serial.log. The guest prints "VP-GUEST-READY kernel=..." on
# it once userspace is up (about 2-6 s), once per boot, then "VP-GUEST-ALIVE up=<s>"
# every second while its CPU runs (none while paused).
# WORKDIR must be visible inside the libvirtd namespaces: not under /run or
# /var/{cache,log,lib} (see libvirtd.sh).
#
# CLI:
#   guest.sh xml NAME WORKDIR              print the domain XML
#   guest.sh define URI NAME WORKDIR       create the disk (if missing) and define
#   guest.sh boot URI NAME WORKDIR         define + start + wait for the marker; prints
#                                          the serial log path
#   guest.sh start URI NAME                virsh start
#   guest.sh wait-ready LOG [COUNT [SECS]] wait until LOG holds COUNT ready markers
#                                          (default 1, 120 s): boot number COUNT is up
#   guest.sh ready-count LOG               how many times the guest has come up
#   guest.sh alive-count LOG               heartbeats so far
#   guest.sh wait-alive LOG [AFTER [SECS]] wait for heartbeat number AFTER+1 (default:
#                                          a new one), 60 s
#   guest.sh state URI NAME                virsh domstate
#   guest.sh wait-state URI NAME STATE [SECS]  wait for a domstate ("running",
#                                          "paused", "shut off")
#   guest.sh shutdown URI NAME [SECS]      ACPI shutdown, wait for "shut off" (60 s)
#   guest.sh remove URI NAME               destroy + undefine with snapshot metadata
# Sourced: the same as vp_guest_xml, vp_guest_define, vp_guest_boot, vp_guest_start,
# vp_guest_wait_ready, vp_guest_ready_count, vp_guest_alive_count, vp_guest_wait_alive,
# vp_guest_state, vp_guest_wait_state,
# vp_guest_shutdown, vp_guest_remove (vp_guest_boot sets VP_GUEST_SERIAL).

_vp_g_log() { echo "guest.sh: $*" >&2; }

_vp_g_env() {
    local gdir=${VP_GUEST_DIR:-/var/cache/virtportal/guest}
    if [ ! -f "$gdir/guest.env" ]; then
        _vp_g_log "no guest assets in $gdir (run scripts/setup-guest)"
        return 1
    fi
    # shellcheck source=/dev/null
    . "$gdir/guest.env"
}

_vp_g_workdir() {
    local d
    d=$(realpath -m "$1")
    case $d/ in /run/* | /var/cache/* | /var/log/* | /var/lib/*)
        _vp_g_log "WORKDIR $d is hidden from libvirtd (under /run or /var/{cache,log,lib})"
        return 1
        ;;
    esac
    mkdir -p "$d" && echo "$d"
}

_vp_g_xmlesc() { printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e "s/'/\&apos;/g"; }

vp_guest_xml() {
    local name=$1 dir
    dir=$(_vp_g_workdir "$2") || return 1
    _vp_g_env || return 1
    cat <<EOF
<domain type='qemu'>
  <name>$(_vp_g_xmlesc "$name")</name>
  <memory unit='MiB'>${VP_GUEST_MEM_MB:-128}</memory>
  <vcpu>${VP_GUEST_CPUS:-1}</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$(_vp_g_xmlesc "$VP_GUEST_KERNEL")</kernel>
    <initrd>$(_vp_g_xmlesc "$VP_GUEST_INITRD")</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$(_vp_g_xmlesc "$dir/$name.qcow2")'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'>
      <model type='virtio'/>
      <rom enabled='no'/>
    </interface>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='$(_vp_g_xmlesc "$dir/$name.serial.log")' append='on'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

vp_guest_define() {
    local uri=$1 name=$2 dir
    dir=$(_vp_g_workdir "$3") || return 1
    if [ ! -f "$dir/$name.qcow2" ]; then
        qemu-img create -q -f qcow2 "$dir/$name.qcow2" 32M || return 1
    fi
    : >>"$dir/$name.serial.log"
    vp_guest_xml "$name" "$dir" >"$dir/$name.xml" || return 1
    virsh -q -c "$uri" define "$dir/$name.xml" >/dev/null
}

vp_guest_start() { virsh -q -c "$1" start "$2" >/dev/null; }

vp_guest_ready_count() {
    local n
    n=$(grep -c '^VP-GUEST-READY' "$1" 2>/dev/null)
    echo "${n:-0}"
}

vp_guest_alive_count() {
    local n
    n=$(grep -c '^VP-GUEST-ALIVE' "$1" 2>/dev/null)
    echo "${n:-0}"
}

# vp_guest_wait_alive LOG [AFTER [SECS]]: wait for a heartbeat beyond the first AFTER
# ones (default: those already in LOG), i.e. proof that the guest's CPU runs now.
vp_guest_wait_alive() {
    local log=$1 after=${2:-} secs=${3:-60} end
    [ -n "$after" ] || after=$(vp_guest_alive_count "$log")
    end=$(($(date +%s) + secs))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ "$(vp_guest_alive_count "$log")" -gt "$after" ] && return 0
        sleep 0.2
    done
    _vp_g_log "no heartbeat after #$after in $log within ${secs}s; its tail:"
    tail -n 5 "$log" >&2
    return 1
}

vp_guest_wait_ready() {
    local log=$1 count=${2:-1} secs=${3:-120} end
    end=$(($(date +%s) + secs))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ "$(vp_guest_ready_count "$log")" -ge "$count" ] && return 0
        sleep 0.2
    done
    _vp_g_log "no ready marker #$count in $log after ${secs}s; its tail:"
    tail -n 20 "$log" >&2
    return 1
}

vp_guest_boot() {
    local uri=$1 name=$2 dir n
    VP_GUEST_SERIAL=
    dir=$(_vp_g_workdir "$3") || return 1
    vp_guest_define "$uri" "$name" "$dir" || return 1
    n=$(vp_guest_ready_count "$dir/$name.serial.log")
    vp_guest_start "$uri" "$name" || return 1
    vp_guest_wait_ready "$dir/$name.serial.log" $((n + 1)) || return 1
    VP_GUEST_SERIAL=$dir/$name.serial.log
}

vp_guest_state() { virsh -q -c "$1" domstate "$2" 2>/dev/null | head -n1; }

vp_guest_wait_state() {
    local uri=$1 name=$2 want=$3 secs=${4:-60} end st
    end=$(($(date +%s) + secs))
    while [ "$(date +%s)" -lt "$end" ]; do
        st=$(vp_guest_state "$uri" "$name")
        [ "$st" = "$want" ] && return 0
        sleep 0.2
    done
    _vp_g_log "$name on $uri is '$st', not '$want', after ${secs}s"
    return 1
}

vp_guest_shutdown() {
    virsh -q -c "$1" shutdown "$2" >/dev/null || return 1
    vp_guest_wait_state "$1" "$2" "shut off" "${3:-60}"
}

vp_guest_remove() {
    virsh -q -c "$1" destroy "$2" >/dev/null 2>&1
    virsh -q -c "$1" undefine --snapshots-metadata "$2" >/dev/null 2>&1
    return 0
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    return 0
fi

cmd=${1:-}
shift || true
case $cmd in
xml) vp_guest_xml "$@" ;;
define) vp_guest_define "$@" ;;
boot) vp_guest_boot "$@" && echo "$VP_GUEST_SERIAL" ;;
start) vp_guest_start "$@" ;;
wait-ready) vp_guest_wait_ready "$@" ;;
ready-count) vp_guest_ready_count "$@" ;;
alive-count) vp_guest_alive_count "$@" ;;
wait-alive) vp_guest_wait_alive "$@" ;;
state) vp_guest_state "$@" ;;
wait-state) vp_guest_wait_state "$@" ;;
shutdown) vp_guest_shutdown "$@" ;;
remove) vp_guest_remove "$@" ;;
*)
    sed -n '2,/^$/s/^# \{0,1\}//p' "$(readlink -f "${BASH_SOURCE[0]}")" >&2
    exit 2
    ;;
esac
