#!/bin/sh
# tests/bench/http/rss_map.sh PID [ROWS]: where a process's resident memory is, one row
# per mapping group, largest first (from /proc/PID/smaps; kB).
#   RSS   every page mapped in this process, shared or not (what ps/top show)
#   PSS   RSS with each shared page divided by the number of processes mapping it
#   Anon  private copies: written data, relocated library pages, heap, stacks
# Groups: each file (the binary, each shared library), [heap], "thread stacks" (anonymous
# mappings right after a one-page guard), "other anonymous" (malloc arenas, big buffers).
set -eu
pid=$1
rows=${2:-25}
awk -v rows="$rows" '
function flush() {
    if (name == "") return
    rss[name] += r; pss[name] += p; anon[name] += a
}
/^[0-9a-f]+-[0-9a-f]+ / {
    flush()
    split($1, ad, "-")
    start = ad[1]; perm = $2; file = $6
    if (file != "") name = file
    else if (prev_guard && prev_end == start) name = "thread stacks"
    else name = "other anonymous"
    if (file ~ /^\[/ && file != "[heap]") name = "other anonymous"
    # a guard page: one inaccessible anonymous page just below a stack
    prev_guard = (perm == "---p" && file == "" && size_pages(ad[1], ad[2]) == 1)
    prev_end = ad[2]
    r = p = a = 0
    next
}
/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Anonymous:/ { a = $2 }
END {
    flush()
    n = 0
    for (k in rss) if (rss[k] > 0) { keys[n++] = k }
    # sort by RSS, largest first (insertion sort: a few hundred rows)
    for (i = 1; i < n; i++) { k = keys[i]; for (j = i - 1; j >= 0 && rss[keys[j]] < rss[k]; j--) keys[j + 1] = keys[j]; keys[j + 1] = k }
    printf "%8s %8s %8s  %s\n", "RSS kB", "PSS kB", "Anon kB", "mapping"
    for (i = 0; i < n; i++) {
        k = keys[i]; tr += rss[k]; tp += pss[k]; ta += anon[k]
        if (i < rows) printf "%8d %8d %8d  %s\n", rss[k], pss[k], anon[k], k
        else { or += rss[k]; op += pss[k]; oa += anon[k]; on++ }
    }
    if (on) printf "%8d %8d %8d  (%d more mappings)\n", or, op, oa, on
    printf "%8d %8d %8d  total\n", tr, tp, ta
}
function size_pages(a, b) { return (hex(b) - hex(a)) / 4096 }
function hex(s,   i, v, c) {
    v = 0
    for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
    return v
}
' "/proc/$pid/smaps"
