#!/bin/bash
# libvirtd.sh: private libvirtd instances for system tests (PITFALLS "Private libvirtd").
#
# CLI (run as root):
#   libvirtd.sh start NAME     start instance NAME (idempotent) and print its URI,
#                              qemu+tcp://127.0.0.1:PORT/system, on stdout (only that)
#   libvirtd.sh stop NAME      destroy its domains, stop it, remove its state
#   libvirtd.sh uri NAME       print the URI of a running instance
#   libvirtd.sh info NAME      key=value lines: uri unix_uri pid tcp_port
#                              migration_port_min migration_port_max host_uuid state_dir
#                              log qemu_log_dir
#   libvirtd.sh list           names of the instances that have state
#   libvirtd.sh stop-all       stop every instance under VP_SYSTEM_BASE
#   libvirtd.sh free-port      print a free loopback TCP port
# Sourced (`. libvirtd.sh`): the same as functions vp_libvirtd_start NAME (sets
# VP_LIBVIRTD_URI, prints nothing), vp_libvirtd_stop NAME, vp_libvirtd_uri NAME,
# vp_libvirtd_info NAME, vp_libvirtd_stop_all, vp_free_port; sourcing sets
# VP_OWNER_PID=$$ unless it is set. Typical test:
#   . tests/system/lib/libvirtd.sh
#   trap vp_libvirtd_stop_all EXIT
#   vp_libvirtd_start a; uri_a=$VP_LIBVIRTD_URI
#
# How an instance runs: `setsid unshare -m --propagation private` runs this script's
# __ns step, which mounts tmpfs over /run /var/cache /var/log /var/lib, binds the
# instance's own dirs onto /run/libvirt /var/cache/libvirt /var/log/libvirt
# /var/lib/libvirt /etc/libvirt, binds copies of /etc/passwd and /etc/group that have
# libvirt-qemu and kvm, and execs `libvirtd --listen` (listen_tcp on 127.0.0.1, no auth,
# distinct tcp_port, host_uuid and migration ports below 32768; qemu.conf: user/group
# root, security_driver none, stdio_handler file). The daemon is detached from the caller
# (own session, stdio to its log), so the caller's shell goes on; QEMU processes live in
# the same mount namespace, which is how stop finds every process of the instance.
# Paths under the masked trees stay visible if listed in VP_LIBVIRTD_KEEP (default:
# /var/cache/virtportal and VP_GUEST_DIR): guest kernels live there.
#
# Teardown: stop (or stop-all from a trap). If VP_OWNER_PID is set at start, a watchdog
# stops the instance once that process is gone (a test killed by ctest's timeout leaves
# nothing running). Environment:
#   VP_SYSTEM_BASE        state root (default /tmp/virtportal-system); instance state in
#                         $VP_SYSTEM_BASE/libvirtd/NAME (logs: libvirtd.log, log/qemu/).
#                         Names are per base; ports are unique machine-wide (starts are
#                         serialized by /tmp/.virtportal-libvirtd/.lock, which also lists
#                         the live instances), so tests with their own bases can run in
#                         parallel.
#   VP_LIBVIRTD_TIMEOUT   seconds to wait for the daemon (default 120)
#   VP_LIBVIRTD_CAPS_SEED QEMU capabilities cache shared by instances (default
#                         /var/cache/virtportal/libvirt-qemu-capabilities): the first
#                         start on a machine probes QEMU (~9 s), later ones copy it
#   VP_KEEP_STATE=1       stop leaves the state dir (logs) in place
#   VP_OWNER_PID          see above

_vp_lv_self=$(readlink -f "${BASH_SOURCE[0]}")

_vp_lv_log() { echo "libvirtd.sh: $*" >&2; }

_vp_lv_base() { echo "${VP_SYSTEM_BASE:-/tmp/virtportal-system}/libvirtd"; }

_vp_lv_check_name() {
    if ! [[ ${1:-} =~ ^[A-Za-z0-9_.-]+$ ]]; then
        _vp_lv_log "bad instance name '${1:-}'"
        return 1
    fi
}

# _vp_lv_get STATE KEY: a value from the instance's info file.
_vp_lv_get() { sed -n "s/^$2=//p" "$1/info" 2>/dev/null | head -n1; }

# vp_port_busy PORT: true when any TCP socket (v4 or v6) uses PORT locally.
vp_port_busy() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v h=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Machine-wide: the start lock and a registry of live instances (symlinks to their info
# files), so that tests with different VP_SYSTEM_BASE never pick the same ports.
_vp_lv_registry=/tmp/.virtportal-libvirtd

_vp_lv_regname() { echo "$_vp_lv_registry/$(printf '%s' "$1" | md5sum | cut -c1-16).info"; }

# _vp_lv_reserved PORT: true when another instance claims PORT.
_vp_lv_reserved() {
    local f lo hi
    for f in "$_vp_lv_registry"/*.info; do
        if [ ! -f "$f" ]; then # dangling: that instance is gone
            rm -f "$f"
            continue
        fi
        [ "$(sed -n 's/^tcp_port=//p' "$f")" = "$1" ] && return 0
        lo=$(sed -n 's/^migration_port_min=//p' "$f")
        hi=$(sed -n 's/^migration_port_max=//p' "$f")
        [ -n "$lo" ] && [ "$1" -ge "$lo" ] && [ "$1" -le "$hi" ] && return 0
    done
    return 1
}

# vp_free_port [LO HI [COUNT]]: print the first port of COUNT consecutive free ports in
# [LO, HI) (default 20000-32000, 1), chosen at random. Free = no socket uses it and no
# instance claims it; somebody may still take it before you bind, so callers retry.
vp_free_port() {
    local lo=${1:-20000} hi=${2:-32000} count=${3:-1} try p i ok
    for try in $(seq 1 200); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo - count + 1)))
        ok=1
        for ((i = p; i < p + count; i++)); do
            if vp_port_busy "$i" || _vp_lv_reserved "$i"; then
                ok=0
                break
            fi
        done
        if [ "$ok" = 1 ]; then
            echo "$p"
            return 0
        fi
    done
    _vp_lv_log "no free port in $lo-$hi"
    return 1
}

# _vp_lv_alive STATE: true when the instance's daemon process exists. Its command line
# names the pidfile in STATE, so a recycled PID is never taken for it.
_vp_lv_alive() {
    local pid
    pid=$(_vp_lv_get "$1" pid)
    [ -n "$pid" ] && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$1/libvirtd.pid"
}

_vp_lv_write_conf() {
    local state=$1 port=$2 mig=$3 uuid=$4
    cat >"$state/etc/libvirtd.conf" <<EOF
# generated by tests/system/lib/libvirtd.sh
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$port"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
host_uuid = "$uuid"
log_outputs = "3:stderr"
EOF
    cat >"$state/etc/qemu.conf" <<EOF
# generated by tests/system/lib/libvirtd.sh
user = "root"
group = "root"
security_driver = "none"
stdio_handler = "file"
migration_port_min = $mig
migration_port_max = $((mig + 9))
EOF
    # libvirtd wants the libvirt-qemu user and the kvm group to exist; the host's own
    # files stay untouched (these copies are bind-mounted in the namespace only).
    cp /etc/passwd "$state/passwd"
    cp /etc/group "$state/group"
    getent passwd libvirt-qemu >/dev/null ||
        echo "libvirt-qemu:x:64055:64055:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin" \
            >>"$state/passwd"
    getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>"$state/group"
    getent group kvm >/dev/null || echo "kvm:x:64056:libvirt-qemu" >>"$state/group"
}

# __ns STATE: runs inside the new mount namespace, ends as libvirtd.
_vp_lv_ns() {
    local state=$1 keep i=0 p d
    set -e
    keep=${VP_LIBVIRTD_KEEP:-/var/cache/virtportal ${VP_GUEST_DIR:-}}
    declare -a kept=()
    for p in $keep; do
        case $p in /run/* | /var/cache/* | /var/log/* | /var/lib/*) ;; *) continue ;; esac
        [ -d "$p" ] || continue
        mkdir -p "$state/keep/$i"
        mount --bind "$p" "$state/keep/$i"
        kept+=("$i:$p")
        i=$((i + 1))
    done
    for d in /run /var/cache /var/log /var/lib; do
        mount -t tmpfs -o mode=0755 tmpfs "$d"
    done
    for p in "${kept[@]}"; do
        mkdir -p "${p#*:}"
        mount --move "$state/keep/${p%%:*}" "${p#*:}"
    done
    for d in run:/run/libvirt cache:/var/cache/libvirt log:/var/log/libvirt \
        lib:/var/lib/libvirt etc:/etc/libvirt; do
        mkdir -p "${d#*:}"
        mount --bind "$state/${d%%:*}" "${d#*:}"
    done
    mount --bind "$state/passwd" /etc/passwd
    mount --bind "$state/group" /etc/group
    set +e
    exec libvirtd --listen -f /etc/libvirt/libvirtd.conf -p "$state/libvirtd.pid"
}

# __watch STATE OWNER: stop the instance once OWNER has exited.
_vp_lv_watch() {
    local state=$1 owner=$2
    echo $$ >"$state/watch.pid"
    while kill -0 "$owner" 2>/dev/null && [ -f "$state/info" ]; do sleep 1; done
    [ -f "$state/info" ] && VP_LV_IN_WATCHDOG=1 _vp_lv_stop_state "$state"
}

# _vp_lv_save_seed CACHE SEED: keep the newest capabilities for the next start. libvirt
# revalidates the cache against the host CPU data, which is not stable here (CPUID leaves
# come and go between probes), so a seed is sometimes refused and probed again (~9 s).
_vp_lv_save_seed() {
    local f
    compgen -G "$1/*.xml" >/dev/null || return 0
    mkdir -p "$2" || return 0
    for f in "$1"/*.xml; do
        cmp -s "$f" "$2/${f##*/}" && continue
        cp "$f" "$2/.${f##*/}.tmp" && mv -f "$2/.${f##*/}.tmp" "$2/${f##*/}"
    done
}

# _vp_lv_launch STATE NAME: one start attempt; 0 when the daemon answers.
_vp_lv_launch() {
    local state=$1 name=$2 port mig uuid uri pid deadline seed t0
    port=$(vp_free_port 20000 26000) || return 1
    mig=$(vp_free_port 26000 32760 10) || return 1
    uuid=$(cat /proc/sys/kernel/random/uuid)
    uri="qemu+tcp://127.0.0.1:$port/system"
    rm -rf "$state"
    mkdir -p "$state"/{run,cache,log,lib,etc,keep}
    _vp_lv_write_conf "$state" "$port" "$mig" "$uuid"
    seed=${VP_LIBVIRTD_CAPS_SEED:-/var/cache/virtportal/libvirt-qemu-capabilities}
    if compgen -G "$seed/*.xml" >/dev/null; then
        mkdir -p "$state/cache/qemu/capabilities"
        cp "$seed"/*.xml "$state/cache/qemu/capabilities/"
    fi
    t0=$(date +%s%N)
    # {_vp_lv_lockfd}>&-: the daemon must not inherit (and so hold) the start lock
    setsid unshare -m --propagation private -- bash "$_vp_lv_self" __ns "$state" \
        </dev/null >>"$state/libvirtd.log" 2>&1 {_vp_lv_lockfd}>&- &
    pid=$!
    cat >"$state/info" <<EOF
name=$name
uri=$uri
unix_uri=qemu+unix:///system?socket=$state/run/libvirt-sock
pid=$pid
tcp_port=$port
migration_port_min=$mig
migration_port_max=$((mig + 9))
host_uuid=$uuid
state_dir=$state
log=$state/libvirtd.log
qemu_log_dir=$state/log/qemu
EOF
    deadline=$(($(date +%s) + ${VP_LIBVIRTD_TIMEOUT:-120}))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            _vp_lv_log "$name: libvirtd exited during start; log:"
            tail -n 20 "$state/libvirtd.log" >&2
            return 2
        fi
        if timeout 10 virsh -q -c "$uri" version >/dev/null 2>&1; then
            readlink "/proc/$pid/ns/mnt" >"$state/mntns" 2>/dev/null
            _vp_lv_log "$name: ready in $((($(date +%s%N) - t0) / 1000000)) ms at $uri"
            _vp_lv_save_seed "$state/cache/qemu/capabilities" "$seed"
            return 0
        fi
        sleep 0.2
    done
    _vp_lv_log "$name: libvirtd did not answer within ${VP_LIBVIRTD_TIMEOUT:-120}s; log:"
    tail -n 20 "$state/libvirtd.log" >&2
    return 1
}

vp_libvirtd_start() {
    local name=${1:-} base state try rc
    VP_LIBVIRTD_URI=
    _vp_lv_check_name "$name" || return 1
    if [ "$(id -u)" != 0 ]; then
        _vp_lv_log "must run as root"
        return 1
    fi
    base=$(_vp_lv_base)
    case $base/ in /run/* | /var/cache/* | /var/log/* | /var/lib/*)
        _vp_lv_log "VP_SYSTEM_BASE must not be under /run or /var/{cache,log,lib}"
        return 1
        ;;
    esac
    state=$base/$name
    if _vp_lv_alive "$state" &&
        timeout 10 virsh -q -c "$(_vp_lv_get "$state" uri)" version >/dev/null 2>&1; then
        VP_LIBVIRTD_URI=$(_vp_lv_get "$state" uri)
        return 0
    fi
    [ -d "$state" ] && _vp_lv_stop_state "$state"
    mkdir -p "$base"
    # One start at a time: port choice stays unique and the capabilities seed written by
    # the first start is there for the next.
    mkdir -p "$_vp_lv_registry"
    exec {_vp_lv_lockfd}>"$_vp_lv_registry/.lock"
    flock "$_vp_lv_lockfd"
    for try in 1 2 3; do
        _vp_lv_launch "$state" "$name"
        rc=$?
        [ "$rc" = 0 ] && break
        _vp_lv_stop_state "$state" keep
        # a port taken between the check and the bind: try others
        grep -q 'Address already in use' "$state/libvirtd.log" 2>/dev/null || break
        _vp_lv_log "$name: port clash, retrying ($try)"
    done
    [ "$rc" = 0 ] && ln -sfn "$state/info" "$(_vp_lv_regname "$state")"
    exec {_vp_lv_lockfd}>&-
    [ "$rc" = 0 ] || return 1
    if [ -n "${VP_OWNER_PID:-}" ]; then
        # Double fork: the watchdog must not be a descendant of the test, or a runner that
        # kills the test's process tree (ctest on timeout) would take it along.
        (setsid bash "$_vp_lv_self" __watch "$state" "$VP_OWNER_PID" \
            </dev/null >/dev/null 2>&1 &)
    fi
    VP_LIBVIRTD_URI=$(_vp_lv_get "$state" uri)
}

# _vp_lv_stop_state STATE [keep]: stop everything of one instance.
_vp_lv_stop_state() {
    local state=$1 uri pid ns dom p wpid i
    uri=$(_vp_lv_get "$state" uri)
    pid=$(_vp_lv_get "$state" pid)
    ns=$(cat "$state/mntns" 2>/dev/null)
    if _vp_lv_alive "$state" && [ -n "$uri" ]; then
        for dom in $(timeout 10 virsh -q -c "$uri" list --name 2>/dev/null); do
            timeout 20 virsh -q -c "$uri" destroy "$dom" >/dev/null 2>&1
        done
    fi
    if _vp_lv_alive "$state"; then
        [ -z "$ns" ] && ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null
    fi
    # Whatever is left in the instance's mount namespace (helpers) is ours; QEMU runs in a
    # per-domain namespace of its own, so it is found through libvirt's pidfiles (left
    # behind when libvirtd itself was killed) and checked to be that domain's QEMU.
    if [ -n "$ns" ]; then
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -KILL "${p#/proc/}" 2>/dev/null
        done
    fi
    for p in "$state"/run/qemu/*.pid; do
        [ -f "$p" ] || continue
        i=$(cat "$p" 2>/dev/null)
        dom=${p##*/}
        dom=${dom%.pid}
        [[ $i =~ ^[0-9]+$ ]] || continue
        tr '\0' '\n' <"/proc/$i/cmdline" 2>/dev/null |
            awk -v p="guest=$dom," 'index($0, p) == 1 { f = 1 } END { exit !f }' &&
            kill -KILL "$i" 2>/dev/null
    done
    rm -f "$(_vp_lv_regname "$state")"
    wpid=$(cat "$state/watch.pid" 2>/dev/null)
    [ -n "$wpid" ] && [ -z "${VP_LV_IN_WATCHDOG:-}" ] && kill "$wpid" 2>/dev/null
    if [ "${2:-}" != keep ] && [ "${VP_KEEP_STATE:-0}" != 1 ]; then
        rm -rf "$state"
    else
        rm -f "$state/info"
    fi
    return 0
}

vp_libvirtd_stop() {
    _vp_lv_check_name "${1:-}" || return 1
    local state
    state=$(_vp_lv_base)/$1
    [ -d "$state" ] || return 0
    _vp_lv_stop_state "$state"
}

vp_libvirtd_stop_all() {
    local s pids=()
    # in parallel: a graceful libvirtd shutdown takes ~2 s each
    for s in "$(_vp_lv_base)"/*/; do
        [ -d "$s" ] || continue
        _vp_lv_stop_state "${s%/}" &
        pids+=($!)
    done
    [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
    return 0
}

vp_libvirtd_uri() {
    _vp_lv_check_name "${1:-}" || return 1
    local state
    state=$(_vp_lv_base)/$1
    _vp_lv_alive "$state" || {
        _vp_lv_log "$1 is not running"
        return 1
    }
    _vp_lv_get "$state" uri
}

vp_libvirtd_info() {
    _vp_lv_check_name "${1:-}" || return 1
    local state
    state=$(_vp_lv_base)/$1
    _vp_lv_alive "$state" || {
        _vp_lv_log "$1 is not running"
        return 1
    }
    grep -v '^name=' "$state/info"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    # sourced: instances die with the sourcing script unless told otherwise
    : "${VP_OWNER_PID:=$$}"
    export VP_OWNER_PID
    return 0
fi

case ${1:-} in
start)
    vp_libvirtd_start "${2:-}" || exit 1
    echo "$VP_LIBVIRTD_URI"
    ;;
stop) vp_libvirtd_stop "${2:-}" ;;
uri) vp_libvirtd_uri "${2:-}" ;;
info) vp_libvirtd_info "${2:-}" ;;
list) for s in "$(_vp_lv_base)"/*/info; do [ -f "$s" ] && basename "$(dirname "$s")"; done ;;
stop-all) vp_libvirtd_stop_all ;;
free-port) vp_free_port ;;
__ns) _vp_lv_ns "$2" ;;
__watch) _vp_lv_watch "$2" "$3" ;;
*)
    sed -n '2,/^$/s/^# \{0,1\}//p' "$_vp_lv_self" >&2
    exit 2
    ;;
esac
