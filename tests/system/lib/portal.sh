# portal.sh: the real virtportal binary for a system test, driven over its REST
# API with curl and jq. Needs $bin (the binary) and $data (its data dir, made
# here); defines:
#   start_portal [--set K=V]...  add the admin, serve on 127.0.0.1:0 with the
#                                access log in $data/server.log and events only
#                                (inventory.reconcile_s=3600); sets $base, $portal_pid
#   stop_portal                  SIGTERM and wait
#   login                        sets $tok (admin's access token)
#   api METHOD PATH [BODY]       sets $code and $body
#   until_api SECS PATH JQ-EXPR  until GET PATH's body makes JQ-EXPR true
# shellcheck shell=bash disable=SC2154 # $bin and $data are the caller's

password="Sys-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
base=
tok=
portal_pid=
start_portal() {
    mkdir -p "$data"
    printf '%s\n' "$password" |
        "$bin" user add admin --role admin --data-dir "$data" >/dev/null || return 1
    "$bin" serve --data-dir "$data" --port 0 --port-file "$data/port" \
        --set "server.access_log=$data/server.log" --set inventory.reconcile_s=3600 "$@" \
        2>>"$data/server.log" &
    portal_pid=$!
    for _ in $(seq 1 300); do
        [ -s "$data/port" ] && break
        sleep 0.1
    done
    [ -s "$data/port" ] || return 1
    base="https://127.0.0.1:$(cat "$data/port")"
}
stop_portal() {
    [ -n "$portal_pid" ] || return 0
    kill "$portal_pid" 2>/dev/null
    wait "$portal_pid" 2>/dev/null
    portal_pid=
}
api() {
    local out
    out=$(curl -sS --cacert "$data/tls/cert.pem" -X "$1" -H "Authorization: Bearer $tok" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} -w '\n%{http_code}' "$base$2") ||
        return 1
    code=${out##*$'\n'}
    body=${out%$'\n'*}
}
login() {
    local out
    out=$(curl -sS --cacert "$data/tls/cert.pem" -H 'Content-Type: application/json' \
        --data "{\"login\":\"admin\",\"password\":\"$password\"}" "$base/api/v1/auth/login") &&
        tok=$(jq -r .access_token <<<"$out") && [ -n "$tok" ] && [ "$tok" != null ]
}
until_api() {
    local secs=$1 path=$2 expr=$3 end
    end=$(($(now) + secs * 1000000000))
    while [ "$(now)" -lt "$end" ]; do
        if api GET "$path" && [ "$code" = 200 ] && jq -e "$expr" <<<"$body" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.05
    done
    echo "GET $path never satisfied $expr within ${secs}s; last: $code $body"
    return 1
}
