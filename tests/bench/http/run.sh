#!/bin/sh
# tests/bench/http/run.sh [SECONDS] [WAL_SECONDS]: the HTTP benchmarks of the
# foundation and identity issues, all in one run on this machine.
#   - durable mutations/s (POST /api/v1/tenants, 64 connections): one commit per
#     request, group commit with synchronous=FULL (ours), and synchronous=OFF
#   - unauthenticated JSON GET req/s vs a minimal civetweb hello handler
#   - authenticated GET /api/v1/me vs the unauthenticated one (401)
#   - share of 64 keep-alive clients that get responses
#   - peak WAL size over a sustained-write run of WAL_SECONDS (default 300)
#   - idle RSS (right after start) and RSS after the load
# Needs build/virtportal and build/tests/bench/http/bench_* (cmake --build build).
set -eu
cd "$(dirname "$0")/../../.."
secs=${1:-10}
wal_secs=${2:-300}
bin=build/virtportal
bdir=build/tests/bench/http
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
non2xx() { v=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1"); echo "${v:-0}"; }
total() { sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$1"; }

start_portal() { # MODE SYNC -> sets dir, port, pid, token
    dir=$(mktemp -d "$work/$1-$2-XXXX")
    echo "Bench-Pw-7731-Zeta" | $bin user add admin --role admin --data-dir "$dir" >/dev/null
    $bin serve --data-dir "$dir" --port 0 --port-file "$dir/port" \
        --set db.commit_mode="$1" --set db.synchronous="$2" --set server.access_log=off &
    pid=$!
    while [ ! -s "$dir/port" ]; do sleep 0.1; done
    port=$(cat "$dir/port")
    token=$(curl -s --cacert "$dir/tls/cert.pem" "https://127.0.0.1:$port/api/v1/auth/login" \
        -H 'Content-Type: application/json' -d '{"login":"admin","password":"Bench-Pw-7731-Zeta"}' |
        sed 's/.*"access_token":"\([^"]*\)".*/\1/')
}
stop_portal() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

mutations() { # MODE SYNC -> prints durable mutations/s
    start_portal "$1" "$2"
    VP_TOKEN=$token wrk -t2 -c64 -d"${secs}s" -s tests/bench/http/post_tenant.lua \
        "https://127.0.0.1:$port" >"$work/m-$1-$2.txt"
    stop_portal
    t=$(total "$work/m-$1-$2.txt"); bad=$(non2xx "$work/m-$1-$2.txt")
    echo "$(( (t - bad) / secs ))"
}

echo "== durable mutations/s, 64 connections, ${secs}s each"
single=$(mutations single full)
group=$(mutations group full)
off=$(mutations group off)
echo "one commit per request (FULL): $single/s"
echo "group commit, FULL (ours):     $group/s"
echo "group commit, OFF (ceiling):   $off/s"
echo "ours / non-durable ceiling:    $(echo "scale=2; $group / $off" | bc)"

echo "== unauthenticated JSON GET vs civetweb hello"
start_portal group full
sleep 2
echo "idle RSS right after start: $(grep VmRSS "/proc/$pid/status" | tr -s ' \t' ' ')"
cat "$dir/tls/key.pem" "$dir/tls/cert.pem" >"$work/hello.pem"
mkfifo "$work/hello.in"
$bdir/bench_hello "$work/hello.pem" 128 <"$work/hello.in" >"$work/hello.port" &
exec 3>"$work/hello.in"
while [ ! -s "$work/hello.port" ]; do sleep 0.1; done
hport=$(cat "$work/hello.port")
wrk -t2 -c64 -d"${secs}s" "https://127.0.0.1:$hport/" >"$work/hello.txt"
wrk -t2 -c64 -d"${secs}s" "https://127.0.0.1:$port/api/v1/version" >"$work/version.txt"
h=$(rps "$work/hello.txt"); v=$(rps "$work/version.txt")
echo "civetweb hello: $h req/s; GET /api/v1/version: $v req/s; ratio $(echo "scale=2; $v / $h" | bc)"
exec 3>&-

echo "== authenticated GET /api/v1/me vs unauthenticated (401)"
VP_TOKEN=$token wrk -t2 -c64 -d"${secs}s" -s tests/bench/http/get_auth.lua \
    "https://127.0.0.1:$port/api/v1/me" >"$work/me.txt"
wrk -t2 -c64 -d"${secs}s" "https://127.0.0.1:$port/api/v1/me" >"$work/me-anon.txt"
a=$(rps "$work/me.txt"); u=$(rps "$work/me-anon.txt")
echo "authenticated: $a req/s (non-2xx $(non2xx "$work/me.txt")); unauthenticated: $u req/s; ratio $(echo "scale=2; $a / $u" | bc)"

echo "== 64 keep-alive clients"
$bdir/bench_keepalive "https://127.0.0.1:$port/api/v1/version" "$dir/tls/cert.pem" 64 "$secs"

echo "== RSS after the load above"
sleep 2
grep VmRSS "/proc/$pid/status"
stop_portal

echo "== WAL peak over ${wal_secs}s of sustained writes (group commit, FULL)"
start_portal group full
VP_TOKEN=$token wrk -t2 -c64 -d"${wal_secs}s" -s tests/bench/http/post_tenant.lua \
    "https://127.0.0.1:$port" >"$work/wal.txt" &
wpid=$!
peak=0
while kill -0 "$wpid" 2>/dev/null; do
    s=$(stat -c %s "$dir/virtportal.db-wal" 2>/dev/null || echo 0)
    [ "$s" -gt "$peak" ] && peak=$s
    sleep 0.2
done
t=$(total "$work/wal.txt"); bad=$(non2xx "$work/wal.txt")
echo "writes: $(( (t - bad) / wal_secs ))/s over ${wal_secs}s; WAL peak $(( peak / 1048576 )) MiB ($peak bytes)"
stop_portal
