#!/usr/bin/env bash
# Export benchmark of the audit trail (issue 4): N events (default 1,000,000)
# stream out of GET /api/v1/audit/export with bounded memory, and the exported
# file verifies offline.
#
#   tests/bench/audit/run.sh BUILD_DIR [N]
#
# Reports: generation time, the server's peak RSS (VmHWM from /proc) after
# start and after each export, export durations and sizes (jsonl and csv),
# the offline verification time and verdict.
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [N]}" && pwd)
n=${2:-1000000}
bin=$build/virtportal
gen=$build/tests/bench/audit/audit_gen
dir=$(mktemp -d "${TMPDIR:-/tmp}/vp-audit-bench-XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

pw=Bench-Pass-$RANDOM-$RANDOM-Long
printf '%s\n' "$pw" | "$bin" user add admin --role admin --data-dir "$dir/data" >/dev/null
"$gen" "$dir/data" "$n"

"$bin" serve --data-dir "$dir/data" --port 0 --port-file "$dir/port" \
  --set server.access_log=off >"$dir/server.out" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
base=https://127.0.0.1:$(cat "$dir/port")
ca=$dir/data/tls/cert.pem
hwm() { awk '/VmHWM/ {print $2 " kB"}' "/proc/$pid/status"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
tok=$(curl -sS --cacert "$ca" "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"login\":\"admin\",\"password\":\"$pw\"}" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
echo "server started: VmHWM $(hwm), VmRSS $(rss)"

export_one() { # format file
  local t0 t1
  t0=$(date +%s.%N)
  curl -sS --fail --cacert "$ca" -H "Authorization: Bearer $tok" \
    "$base/api/v1/audit/export?format=$1" -o "$2"
  t1=$(date +%s.%N)
  printf 'export %-5s: %9d lines, %6d MiB in %6s s; server VmHWM %s\n' "$1" \
    "$(wc -l <"$2")" $(($(stat -c %s "$2") / 1048576)) "$(secs "$t0" "$t1")" "$(hwm)"
}
export_one jsonl "$dir/audit.jsonl"
export_one csv "$dir/audit.csv"

t0=$(date +%s.%N)
"$bin" audit verify --export "$dir/audit.jsonl" --key "$dir/data/secrets/audit.key"
t1=$(date +%s.%N)
printf 'offline verification: %s s\n' "$(secs "$t0" "$t1")"
t0=$(date +%s.%N)
curl -sS --cacert "$ca" -H "Authorization: Bearer $tok" "$base/api/v1/audit/verify"
t1=$(date +%s.%N)
printf '\nGET /api/v1/audit/verify: %s s; server VmHWM %s\n' "$(secs "$t0" "$t1")" "$(hwm)"
t0=$(date +%s.%N)
curl -sS --cacert "$ca" -H "Authorization: Bearer $tok" -o /dev/null \
  "$base/api/v1/audit?action=vm.&actor=alice&limit=100"
t1=$(date +%s.%N)
printf 'GET /api/v1/audit?action=vm.&actor=alice (first page): %s s\n' "$(secs "$t0" "$t1")"
