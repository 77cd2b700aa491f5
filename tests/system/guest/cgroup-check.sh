#!/bin/sh
# Runs INSIDE the cgroup guest (tests/system/lib/cgroup-guest-run.sh), as root in the
# root cgroup of a pristine cgroup2 hierarchy. Checks that the environment the portal's
# cgroup backend will be tested in is what cgroup-guest-run.sh documents. Exit 0 = ok.
set -eu
cg=/sys/fs/cgroup
fail() {
    echo "FAIL: $*"
    exit 1
}
check_eq() { # WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
    echo "ok: $1 = $3"
}

check_eq "fs type of $cg" "$(stat -f -c %T $cg)" cgroup2fs
grep -q ' / overlay ' /proc/mounts || fail "the root is not the overlay"
echo "ok: controllers: $(cat $cg/cgroup.controllers)"
for c in cpu memory io pids; do
    grep -qw "$c" $cg/cgroup.controllers || fail "controller $c missing"
done
check_eq "root subtree_control (pristine)" "$(cat $cg/cgroup.subtree_control)" ""
check_eq "our cgroup" "$(cat /proc/self/cgroup)" "0::/"

t=$cg/vp-smoke
mkdir $t
echo "+cpu +memory +io +pids" >$cg/cgroup.subtree_control
check_eq "vp-smoke controllers" "$(cat $t/cgroup.controllers)" "cpu io memory pids"
mkdir $t/child
echo "+cpu +memory +io +pids" >$t/cgroup.subtree_control
check_eq "vp-smoke subtree_control" "$(cat $t/cgroup.subtree_control)" "cpu io memory pids"

echo "20000 100000" >$t/child/cpu.max
check_eq "cpu.max" "$(cat $t/child/cpu.max)" "20000 100000"
echo $((64 * 1024 * 1024)) >$t/child/memory.max
check_eq "memory.max" "$(cat $t/child/memory.max)" 67108864
echo 32 >$t/child/pids.max
check_eq "pids.max" "$(cat $t/child/pids.max)" 32
dev=$(cat /sys/block/vda/dev)
echo "$dev rbps=1048576 wiops=100" >$t/child/io.max
check_eq "io.max" "$(cat $t/child/io.max)" "$dev rbps=1048576 wbps=max riops=max wiops=100"

# A CPU burner inside the child must get throttled by cpu.max (20% of one CPU).
sh -c "echo \$\$ >$t/child/cgroup.procs; exec timeout 1 sh -c 'while :; do :; done'" || true
throttled=$(sed -n 's/^nr_throttled //p' $t/child/cpu.stat)
[ "${throttled:-0}" -gt 0 ] || fail "no throttling recorded in cpu.stat"
echo "ok: cpu.stat nr_throttled=$throttled"

rmdir $t/child $t
echo "cgroup-check: all ok"
