#!/bin/sh
# tests/bench/http/run.sh [SECONDS] [WAL_SECONDS]: the HTTP benchmarks of the
# foundation and identity issues, all in one run on this machine.
#   - durable mutations/s (POST /api/v1/tenants, 64 connections): one commit per
#     request, group commit with synchronous=FULL (ours), and synchronous=OFF
#   - unauthenticated JSON GET req/s vs a minimal civetweb hello handler
#   - authenticated GET /api/v1/me vs the unauthenticated one (401)
#   - share of 64 keep-alive clients that get responses
#   - peak WAL size over a sustained-write run of WAL_SECONDS (default 300)
#   - idle memory of `serve` and `demo` with their default configuration, RSS and
#     PSS side by side, and the same binary's floor (libraries loaded, nothing started)
#   - RSS after the load
# Needs $VP_BUILD/virtportal and $VP_BUILD/tests/bench/http/bench_* (VP_BUILD defaults
# to build; cmake --build build).
# Environment: VP_BUILD (build dir), BENCH_PARTS (default
# "mutations ratio me keepalive memory wal"), RATIO_RUNS (hello/version pairs, default 3;
# each pair is measured back to back and the median ratio is reported), BENCH_ACCESS_LOG
# (server.access_log of the measured portal: "off" by default, or a file path to
# count the structured access log in; its default in production is stderr).
# RSS counts every resident page mapped, shared library pages included (what ps and top
# show); PSS divides each shared page by the processes sharing it, so it depends on
# what else runs on the machine. Both are in MB (1 MB = 1024 kB here, as in ps).
set -eu
cd "$(dirname "$0")/../../.."
secs=${1:-10}
wal_secs=${2:-300}
build=${VP_BUILD:-build}
bin=$build/virtportal
bdir=$build/tests/bench/http
parts=${BENCH_PARTS:-mutations ratio me keepalive memory wal}
ratio_runs=${RATIO_RUNS:-3}
# the log sink of the measured portal: off (the request path alone) or a file
access_log=${BENCH_ACCESS_LOG:-off}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

want() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
mb() { echo "scale=1; $1 / 1024" | bc; }
# One line: RSS and PSS side by side, then where the RSS is (private copies vs file pages).
mem() { # PID
    rss=$(awk '/^VmRSS:/{print $2}' "/proc/$1/status")
    anon=$(awk '/^RssAnon:/{print $2}' "/proc/$1/status")
    file=$(awk '/^RssFile:/{print $2}' "/proc/$1/status")
    pss=$(awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup")
    echo "RSS $(mb "$rss") MB | PSS $(mb "$pss") MB  (RSS = anonymous $(mb "$anon") MB + file-backed $(mb "$file") MB; $(ls "/proc/$1/task" | wc -l) threads)"
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
non2xx() { v=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1"); echo "${v:-0}"; }
total() { sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$1"; }

start_portal() { # MODE SYNC -> sets dir, port, pid, token
    dir=$(mktemp -d "$work/$1-$2-XXXX")
    echo "Bench-Pw-7731-Zeta" | $bin user add admin --role admin --data-dir "$dir" >/dev/null
    $bin serve --data-dir "$dir" --port 0 --port-file "$dir/port" \
        --set db.commit_mode="$1" --set db.synchronous="$2" --set server.access_log="$access_log" &
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

if want mutations; then
    echo "== durable mutations/s, 64 connections, ${secs}s each"
    single=$(mutations single full)
    group=$(mutations group full)
    off=$(mutations group off)
    echo "one commit per request (FULL): $single/s"
    echo "group commit, FULL (ours):     $group/s"
    echo "group commit, OFF (ceiling):   $off/s"
    echo "ours / non-durable ceiling:    $(echo "scale=2; $group / $off" | bc)"
fi

if want memory; then
    echo "== idle memory, default configuration, 3 s after the port is open"
    # the floor: this binary with its libraries loaded and relocated, nothing started
    # (user add waits for the password on stdin before it opens anything)
    mkfifo "$work/pw"
    $bin user add floor --data-dir "$work/floor" <"$work/pw" 2>/dev/null &
    fpid=$!
    exec 4>"$work/pw"
    sleep 1
    echo "floor (binary + libraries only): $(mem $fpid)"
    exec 4>&-
    wait $fpid 2>/dev/null || true
    dir=$(mktemp -d "$work/idle-XXXX")
    for run in "first start (makes its certificate)" "restart"; do
        rm -f "$dir/port"
        $bin serve --data-dir "$dir" --port 0 --port-file "$dir/port" 2>/dev/null &
        pid=$!
        while [ ! -s "$dir/port" ]; do sleep 0.1; done
        sleep 3
        echo "serve, $run: $(mem $pid)"
        [ "$run" = restart ] && tests/bench/http/rss_map.sh $pid 12 >"$work/map.txt"
        stop_portal
    done
    demo=$(mktemp -d "$work/demo-XXXX")
    $bin demo --dir "$demo/data" --port 0 --set server.port_file="$demo/port" >/dev/null 2>&1 &
    pid=$!
    while [ ! -s "$demo/port" ]; do sleep 0.1; done
    sleep 3
    echo "demo (test:/// inventory): $(mem $pid)"
    stop_portal
    echo "where the idle RSS of serve (restart) is, per mapping (kB):"
    cat "$work/map.txt"
fi

if want ratio || want me || want keepalive; then
    start_portal group full
    sleep 2
fi

if want ratio; then
    echo "== unauthenticated JSON GET vs civetweb hello (${ratio_runs} pairs, ${secs}s each)"
    cat "$dir/tls/key.pem" "$dir/tls/cert.pem" >"$work/hello.pem"
    mkfifo "$work/hello.in"
    $bdir/bench_hello "$work/hello.pem" 128 <"$work/hello.in" >"$work/hello.port" &
    exec 3>"$work/hello.in"
    while [ ! -s "$work/hello.port" ]; do sleep 0.1; done
    hport=$(cat "$work/hello.port")
    : >"$work/ratios"
    i=0
    while [ $i -lt "$ratio_runs" ]; do
        i=$((i + 1))
        wrk -t2 -c64 -d"${secs}s" "https://127.0.0.1:$hport/" >"$work/hello.txt"
        wrk -t2 -c64 -d"${secs}s" "https://127.0.0.1:$port/api/v1/version" >"$work/version.txt"
        h=$(rps "$work/hello.txt"); v=$(rps "$work/version.txt")
        r=$(echo "scale=3; $v / $h" | bc)
        echo "$r" >>"$work/ratios"
        echo "pair $i: civetweb hello: $h req/s; GET /api/v1/version: $v req/s; ratio $r (load $(cut -d' ' -f1 /proc/loadavg))"
    done
    echo "median ratio: $(median <"$work/ratios")"
    exec 3>&-
fi

if want me; then
    echo "== authenticated GET /api/v1/me vs unauthenticated (401)"
    VP_TOKEN=$token wrk -t2 -c64 -d"${secs}s" -s tests/bench/http/get_auth.lua \
        "https://127.0.0.1:$port/api/v1/me" >"$work/me.txt"
    wrk -t2 -c64 -d"${secs}s" "https://127.0.0.1:$port/api/v1/me" >"$work/me-anon.txt"
    a=$(rps "$work/me.txt"); u=$(rps "$work/me-anon.txt")
    echo "authenticated: $a req/s (non-2xx $(non2xx "$work/me.txt")); unauthenticated: $u req/s; ratio $(echo "scale=2; $a / $u" | bc)"
fi

if want keepalive; then
    echo "== 64 keep-alive clients"
    $bdir/bench_keepalive "https://127.0.0.1:$port/api/v1/version" "$dir/tls/cert.pem" 64 "$secs"
fi

if want ratio || want me || want keepalive; then
    echo "== memory after the load above"
    sleep 2
    echo "$(mem $pid)"
    stop_portal
fi

if want wal; then
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
fi
