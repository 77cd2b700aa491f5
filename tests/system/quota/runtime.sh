#!/bin/bash
# System test of runtime quota enforcement through libvirt tunables (issue 6,
# server/quota/runtime.c): a private libvirtd (tests/system/lib/libvirtd.sh)
# runs the tiny TCG guest; the real portal registers it over its
# qemu+tcp://127.0.0.1 URI (a remote host for the portal: not its own cgroup
# tree, and this machine's /sys/fs/cgroup is a tmpfs anyway), so the host's
# enforcement mode must be "libvirt". The guest is assigned to a tenant, the
# tenant gets cpu_cores 0.5 and I/O limits, and `virsh schedinfo` /
# `virsh blkdeviotune` on that libvirtd must show what tunables.c computes for
# one VM with one vCPU and one disk holding the whole budget:
#   global_period = vcpu_period = 100000, global_quota = vcpu_quota =
#   cpu_cores * 100000; iotune = the io_* limits.
# Then the quota is lowered (the values follow) and removed (reset: quota -1
# or libvirt's "unlimited", iotune 0). Usage samples of the host appear with
# mode "libvirt". The guest only needs to run (no boot wait).
#
#   runtime.sh [path/to/virtportal]      (default: $VP_BINARY_DIR/virtportal)
#
# Exit 77 (skip) when not root or the guest assets are missing, unless
# VP_SYSTEM_REQUIRED=1 (CI).
# shellcheck source-path=SCRIPTDIR disable=SC2016
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$here/../lib
bin=${1:-${VP_BINARY_DIR:-build}/virtportal}

# shellcheck source=../lib/common.sh
. "$lib/common.sh"
vp_require libvirtd virsh qemu-system-x86_64 qemu-img unshare curl jq
[ -x "$bin" ] || { echo "FAIL: no binary at $bin"; exit 1; }
vp_system_base sys-qrt
# shellcheck source=../lib/libvirtd.sh
. "$lib/libvirtd.sh"
# shellcheck source=../lib/guest.sh
. "$lib/guest.sh"
data=$VP_SYSTEM_BASE/portal
# shellcheck source=../lib/portal.sh
. "$lib/portal.sh"
g=vp-qrt
vp_cleanup_hook() { stop_portal; }
vp_on_exit "$data/server.log" "$VP_SYSTEM_BASE/libvirtd/*/libvirtd.log"

expect() { # STATUS METHOD PATH [BODY]
    local want=$1
    shift
    api "$@" && [ "$code" = "$want" ] || { echo "$1 $2: expected $want, got $code $body"; return 1; }
}

# ---- libvirt's view ----

# sched KEY: the value of KEY in `virsh schedinfo --live`
sched() { virsh -q -c "$A" schedinfo "$g" --live | awk -v k="$1" '$1 == k { print $3 }'; }
# iotune KEY: the value of KEY in `virsh blkdeviotune vda --live`
iotune() {
    virsh -q -c "$A" blkdeviotune "$g" vda --live |
        awk -F: -v k="$1" '{ gsub(/ /, "") } $1 == k { print $2 }'
}
# until_libvirt SECS "KEY=VALUE..." (sched keys, and io.KEY for iotune keys)
until_libvirt() {
    local secs=$1 end kv k v got ok
    shift
    end=$(($(now) + secs * 1000000000))
    while :; do
        ok=1
        for kv in "$@"; do
            k=${kv%%=*} v=${kv#*=}
            case $k in io.*) got=$(iotune "${k#io.}") ;; *) got=$(sched "$k") ;; esac
            # "unlimited" quota: -1, or what cgroup v2 reports for it
            [ "$v" = unlimited ] && case $got in -1 | 17592186044415) continue ;; esac
            [ "$got" = "$v" ] || { ok=0; break; }
        done
        [ "$ok" = 1 ] && return 0
        if [ "$(now)" -ge "$end" ]; then
            echo "libvirt: $k is '$got', expected '$v'"
            virsh -q -c "$A" schedinfo "$g" --live
            virsh -q -c "$A" blkdeviotune "$g" vda --live
            return 1
        fi
        sleep 0.2
    done
}

# ---- the steps ----

host=
tenant=
vm=
register_host() {
    expect 201 POST /api/v1/hosts "{\"name\":\"lv-a\",\"uri\":\"$A\"}" || return 1
    host=$(jq .id <<<"$body")
    until_api 60 "/api/v1/hosts/$host" '.state == "connected" and .reconciled_at != null'
}
mode_is_libvirt() {
    until_api 20 "/api/v1/hosts/$host" '.quota_enforcement.mode == "libvirt"' &&
        echo "   detail: $(jq -r .quota_enforcement.detail <<<"$body")"
}
assign() {
    expect 201 POST /api/v1/tenants '{"slug":"qrt","name":"Quota runtime"}' || return 1
    tenant=$(jq .id <<<"$body")
    until_api 10 "/api/v1/vms?q=$g" "[.items[] | select(.name == \"$g\")] | length == 1" ||
        return 1
    vm=$(jq ".items[] | select(.name == \"$g\") | .id" <<<"$body")
    expect 200 PATCH "/api/v1/vms/$vm" "{\"tenant_id\":$tenant}"
}
put_quota() { expect 200 PUT "/api/v1/tenants/$tenant/quota" "$1"; }
# applied JQ-EXPR-ON-BUDGET: the usage shows host's entry applied with that budget
applied() {
    until_api 20 "/api/v1/tenants/$tenant/usage" \
        ".runtime.enforcement[] | select(.host_id == $host) | .mode == \"libvirt\" and
         .error == null and .applied_at != null and (.budget | $1)"
}
sampled() {
    until_api 20 "/api/v1/tenants/$tenant/usage" \
        ".runtime.hosts[] | select(.host_id == $host) | .mode == \"libvirt\" and .cpu_usage_usec > 0"
}

t_all=$(now)
step "start libvirtd A" vp_libvirtd_start a
A=$VP_LIBVIRTD_URI
echo "A=$A"
step "define + start the guest on A (virsh; no boot wait)" eval \
    'vp_guest_define "$A" "$g" "$work" && vp_guest_start "$A" "$g"'
step "start the portal (samples every second)" start_portal --set quota.sample_interval_s=1
step "log in" login
step "POST /api/v1/hosts A, connected" register_host
step "host quota_enforcement.mode is libvirt" mode_is_libvirt
step "tenant qrt, the guest assigned to it" assign
step "PUT quota cpu_cores 0.5 + io limits" put_quota \
    '{"cpu_cores":0.5,"io_read_bps":10485760,"io_write_bps":5242880,"io_read_iops":200,"io_write_iops":100}'
step "usage: applied on A in mode libvirt, whole budget" applied \
    '.cpu_cores == 0.5 and .io_read_bps == 10485760 and .io_write_iops == 100'
step "virsh schedinfo: quota 50000/100000 (global and vCPU)" until_libvirt 10 \
    global_period=100000 global_quota=50000 vcpu_period=100000 vcpu_quota=50000
step "virsh blkdeviotune vda: the io limits" until_libvirt 10 \
    io.read_bytes_sec=10485760 io.write_bytes_sec=5242880 io.read_iops_sec=200 \
    io.write_iops_sec=100
step "lower: cpu_cores 0.25, io_read_bps 1 MiB/s" put_quota \
    '{"cpu_cores":0.25,"io_read_bps":1048576}'
step "virsh: quota 25000, read 1 MiB/s, the rest reset" until_libvirt 20 \
    global_quota=25000 vcpu_quota=25000 io.read_bytes_sec=1048576 io.write_bytes_sec=0 \
    io.read_iops_sec=0 io.write_iops_sec=0
step "unlimited: PUT {}" put_quota '{}'
step "usage: empty budget applied" applied 'length == 0'
step "virsh: quota unlimited, iotune 0" until_libvirt 20 \
    global_quota=unlimited vcpu_quota=unlimited io.read_bytes_sec=0
step "usage samples of A from libvirt stats" sampled
step "stop the portal and libvirtd" eval 'kill "$portal_pid"; wait "$portal_pid"; portal_pid=; vp_libvirtd_stop_all'
failed=0

echo "--- timings"
printf '%s\n' "${timings[@]}"
printf '%-60s %6d ms\n' "total" $((($(now) - t_all) / 1000000))
