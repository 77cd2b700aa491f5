#!/bin/bash
# System smoke test: the cgroup v2 guest runner. Runs guest/cgroup-check.sh in a TCG
# guest with a real cgroup2 hierarchy (cgroup2 mounted, cpu/memory/io/pids available, a
# child cgroup with controllers enabled, cpu.max/memory.max/pids.max/io.max written and
# read back, a CPU burner throttled), then checks that arguments and the exit code cross
# the guest boundary intact. Exit 77 (skip) only when not root or the guest assets are
# missing; VP_SYSTEM_REQUIRED=1 turns that into a failure (CI).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run=$here/lib/cgroup-guest-run.sh

skip() {
    echo "SKIP: $*"
    [ "${VP_SYSTEM_REQUIRED:-0}" = 1 ] && exit 1
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root"
[ -f "${VP_GUEST_DIR:-/var/cache/virtportal/guest}/guest.env" ] ||
    skip "no guest assets (run scripts/setup-guest)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"

now() { date +%s%N; }
ms() { echo $((($(now) - $1) / 1000000)); }
status=0

t0=$(now)
out=$("$run" "$here/guest/cgroup-check.sh")
rc=$?
t_check=$(ms "$t0")
echo "$out"
if [ "$rc" != 0 ] || ! grep -qx 'cgroup-check: all ok' <<<"$out"; then
    echo "FAIL: cgroup-check in the guest (rc $rc)"
    status=1
fi

# Arguments with spaces and quotes arrive unchanged; the exit code comes back.
t0=$(now)
# shellcheck disable=SC2016 # expanded by the guest's shell
out=$("$run" sh -c 'printf "[%s]" "$@"; echo; exit 42' arg0 "a b" "it's" "")
rc=$?
t_args=$(ms "$t0")
want='[a b][it'\''s][]'
if [ "$rc" != 42 ] || [ "$out" != "$want" ]; then
    echo "FAIL: argument/exit code round trip: rc $rc (want 42), output '$out' (want '$want')"
    status=1
else
    echo "ok: arguments and exit code 42 round-trip"
fi

echo "--- timings"
printf '%-42s %6d ms\n' "guest run: cgroup-check.sh" "$t_check" "guest run: argument round trip" "$t_args"
exit "$status"
