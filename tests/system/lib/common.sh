# common.sh: what every system test script starts with. Source it after setting
# nothing; it defines:
#   vp_require TOOL...        exit 77 (skip) unless root, the guest assets and
#                             the tools are there; VP_SYSTEM_REQUIRED=1 (CI)
#                             turns a skip into a failure
#   vp_system_base NAME       a fresh $VP_SYSTEM_BASE (exported) and $work in it
#   vp_on_exit LOG...         at exit: on failure ($failed = 1) the tails of the
#                             LOG globs, then stop every libvirtd and remove the
#                             base; the caller's own clean-up goes in
#                             vp_cleanup_hook (a function, optional)
#   now, step NAME CMD...     run a step, record its duration in $timings,
#                             stop the test at the first failure
#   vp_timings                print the recorded durations
# shellcheck shell=bash

skip() {
    echo "SKIP: $*"
    [ "${VP_SYSTEM_REQUIRED:-0}" = 1 ] && exit 1
    exit 77
}

vp_require() {
    local t
    [ "$(id -u)" = 0 ] || skip "needs root"
    [ -f "${VP_GUEST_DIR:-/var/cache/virtportal/guest}/guest.env" ] ||
        skip "no guest assets (run scripts/setup-guest)"
    for t in "$@"; do
        command -v "$t" >/dev/null || skip "$t is not installed (run scripts/setup)"
    done
}

vp_system_base() {
    VP_SYSTEM_BASE=$(mktemp -d "/tmp/vp-$1.XXXXXX")
    export VP_SYSTEM_BASE
    work=$VP_SYSTEM_BASE/work
    mkdir -p "$work"
}

failed=1
vp_diag_globs=()
vp_exit() {
    local pat f
    if [ "$failed" = 1 ]; then
        echo "--- diagnostics"
        for pat in "${vp_diag_globs[@]}"; do
            for f in $pat; do # shellcheck disable=SC2086 # a glob, on purpose
                [ -f "$f" ] && { echo "== $f"; tail -n 15 "$f"; }
            done
        done
    fi
    declare -F vp_cleanup_hook >/dev/null && vp_cleanup_hook
    declare -F vp_libvirtd_stop_all >/dev/null && vp_libvirtd_stop_all
    rm -rf "$VP_SYSTEM_BASE"
}
# vp_on_exit LOG-GLOB...: globs are expanded at exit, when the logs exist
vp_on_exit() {
    vp_diag_globs=("$@")
    trap vp_exit EXIT
}

declare -a timings=()
now() { date +%s%N; }
step() {
    local name=$1 t0 rc
    shift
    t0=$(now)
    "$@"
    rc=$?
    timings+=("$(printf '%-56s %6d ms' "$name" $((($(now) - t0) / 1000000)))")
    if [ "$rc" != 0 ]; then
        echo "FAIL: $name (rc $rc)"
        exit 1
    fi
    echo "ok: $name"
}
vp_timings() {
    echo "--- timings"
    printf '%s\n' "${timings[@]}"
}
