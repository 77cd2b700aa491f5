#!/bin/sh
# tests/bench/inventory/run.sh [SECONDS] [BUILD_DIR]: the inventory benchmarks
# of issue 5, in one run on this machine.
#   - a complete reconcile of a 10,000-VM libvirt test-driver host (virt
#     snapshot + diff + SQLite) as a ratio to the bare virConnectListAllDomains
#     + virDomainGetInfo scan of the same host in the same run (goal <= 3x)
#   - GET /api/v1/vms?limit=100 req/s with 64 connections (wrk) as a ratio to
#     GET /api/v1/me (goal >= 0.5x), on a portal caching those 10,000 VMs;
#     also as a tenant member (the list filtered to one tenant's VMs)
# Needs BUILD_DIR/virtportal and BUILD_DIR/tests/bench/inventory/
# inventory_reconcile_bench (default BUILD_DIR: build), wrk, curl, jq.
set -eu
cd "$(dirname "$0")/../../.."
secs=${1:-10}
build=${2:-build}
bin=$build/virtportal
rb=$build/tests/bench/inventory/inventory_reconcile_bench
work=$(mktemp -d /tmp/vp-inv-bench.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
non2xx() { v=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1"); echo "${v:-0}"; }
latency() { sed -n 's/^ *Latency *\([0-9.a-z]*\).*/\1/p' "$1"; }

echo "== reconcile of a 10,000-VM test-driver host vs bare list + GetInfo (same run)"
$rb 10000

echo "== GET /api/v1/vms?limit=100 vs GET /api/v1/me, 64 connections, ${secs}s each"
$rb --write "$work/big.xml" 10000
dir=$work/portal
pw=Bench-Pw-7731-Zeta
echo "$pw" | $bin user add admin --role admin --data-dir "$dir" >/dev/null
$bin serve --data-dir "$dir" --port 0 --port-file "$dir/port" --set server.access_log=off \
    2>"$work/server.log" &
pid=$!
while [ ! -s "$dir/port" ]; do sleep 0.1; done
base="https://127.0.0.1:$(cat "$dir/port")"
cc() { curl -s --cacert "$dir/tls/cert.pem" "$@"; }
login() { cc "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"$pw\"}" | jq -r .access_token; }
token=$(login admin)
post() { cc "$base$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$2"; }
# the demo model puts ~45% of the VMs in tenants 1-3: create them first
for t in research web-shop ci; do post /api/v1/tenants "{\"slug\":\"$t\",\"name\":\"$t\"}" >/dev/null; done
post /api/v1/users "{\"login\":\"member\",\"password\":\"$pw\",\"tenant_id\":1}" >/dev/null
post /api/v1/role-bindings '{"subject_kind":"user","subject_id":2,"role":"tenant-member","scope":"tenant","tenant_id":1}' >/dev/null
t0=$(date +%s.%N)
post /api/v1/hosts "{\"name\":\"big\",\"uri\":\"test://$work/big.xml\"}" >/dev/null
until cc "$base/api/v1/hosts/1" -H "Authorization: Bearer $token" | jq -e '.reconciled_at != null' >/dev/null; do
    sleep 0.2
done
echo "host registered, connected and imported in $(echo "$(date +%s.%N) - $t0" | bc) s: \
$(cc "$base/api/v1/hosts/1" -H "Authorization: Bearer $token" | jq .allocation.vms) VMs"
member=$(login member)
echo "tenant member sees $(cc "$base/api/v1/vms?limit=1000" -H "Authorization: Bearer $member" | jq '.items | length') VMs on a page of 1000"
bytes=$(cc "$base/api/v1/vms?limit=100" -H "Authorization: Bearer $token" | wc -c)

VP_TOKEN=$token wrk -t2 -c64 -d"${secs}s" -s tests/bench/http/get_auth.lua "$base/api/v1/me" >"$work/me.txt"
VP_TOKEN=$token wrk -t2 -c64 -d"${secs}s" -s tests/bench/http/get_auth.lua \
    "$base/api/v1/vms?limit=100" >"$work/vms.txt"
VP_TOKEN=$member wrk -t2 -c64 -d"${secs}s" -s tests/bench/http/get_auth.lua \
    "$base/api/v1/vms?limit=100" >"$work/vms-member.txt"
# every request a distinct URL: no page from the per-thread page cache
VP_TOKEN=$token wrk -t2 -c64 -d"${secs}s" -s tests/bench/inventory/get_nocache.lua \
    "$base/api/v1/vms?limit=100" >"$work/vms-nocache.txt"
VP_TOKEN=$member wrk -t2 -c64 -d"${secs}s" -s tests/bench/inventory/get_nocache.lua \
    "$base/api/v1/vms?limit=100" >"$work/vms-member-nocache.txt"
me=$(rps "$work/me.txt"); vms=$(rps "$work/vms.txt"); vmm=$(rps "$work/vms-member.txt")
vnc=$(rps "$work/vms-nocache.txt"); vmnc=$(rps "$work/vms-member-nocache.txt")
echo "GET /api/v1/me:                        $me req/s (non-2xx $(non2xx "$work/me.txt"), mean latency $(latency "$work/me.txt"))"
echo "GET /api/v1/vms?limit=100:             $vms req/s (non-2xx $(non2xx "$work/vms.txt"), mean latency $(latency "$work/vms.txt"), $bytes bytes)"
echo "  same as a tenant member:             $vmm req/s (non-2xx $(non2xx "$work/vms-member.txt"))"
echo "  every request rendered (no cache):   $vnc req/s (non-2xx $(non2xx "$work/vms-nocache.txt"))"
echo "  tenant member, no cache:             $vmnc req/s (non-2xx $(non2xx "$work/vms-member-nocache.txt"))"
echo "ratio vms / me:                        $(echo "scale=2; $vms / $me" | bc)"
echo "ratio vms (member) / me:               $(echo "scale=2; $vmm / $me" | bc)"
echo "ratio vms (no cache) / me:             $(echo "scale=2; $vnc / $me" | bc)"
echo "ratio vms (member, no cache) / me:     $(echo "scale=2; $vmnc / $me" | bc)"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
