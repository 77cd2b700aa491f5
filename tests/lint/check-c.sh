#!/bin/sh
# tests/lint/check-c.sh: every tracked C file is clang-format clean (STYLE rule 3)
# and uses none of the banned calls (STYLE rule 12).
cd "$(dirname "$0")/../.." || exit 2
files=$(git ls-files '*.c' '*.h')
bad=0
for f in $files; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not clang-format clean: $f"
        bad=1
    fi
done
# (comment lines are skipped: "gets (the …)" in prose is no call)
if echo "$files" | xargs grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok|system|popen|sscanf)[[:space:]]*\(' |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)'; then
    echo "banned calls found (STYLE rule 12)"
    bad=1
fi
[ "$bad" = 0 ] && echo "C lint: $(echo "$files" | wc -w) files clean"
exit "$bad"
