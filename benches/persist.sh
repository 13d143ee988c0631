#!/usr/bin/env bash
# What durability and state imports cost (issue 14): loopback only, every
# process it starts is killed on exit.
#
#   benches/persist.sh                          # builds the release binary (thin LTO)
#   BIN=target/release/ims-swr-mock benches/persist.sh
#   DURATION=5 CONNS=16 IMPORT_MB=64 benches/persist.sh
#
#  1. write throughput (admin push of a new tag per request, wrk with a Lua
#     script) on the default store and on a 200,000-tag store, without and
#     with --persist, alternating, ROUNDS times; the median of each;
#  2. the peak memory of `PUT /_mock/state`: an IMPORT_MB MB state of SWR tags
#     and a state of 20,000 IMS images (10 tags each), bytes of the body vs the
#     rise of VmHWM, and the time the import took.
set -euo pipefail

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-16}
IMPORT_MB=${IMPORT_MB:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '[persist.sh] %s\n' "$*" >&2; }
command -v wrk >/dev/null || { log "wrk is needed (apt-get install wrk)"; exit 1; }

if [ -z "${BIN:-}" ]; then
    log "building the release binary (thin LTO)"
    (cd "$ROOT" && CARGO_PROFILE_RELEASE_LTO=thin cargo build --release --quiet)
    BIN=$ROOT/target/release/ims-swr-mock
fi

# start ARGS... : starts the server, sets URI and PID.
start() {
    local out=$WORK/stdout.$RANDOM
    mkfifo "$out"
    "$BIN" --port 0 --log-level error "$@" >"$out" 2>/dev/null &
    PID=$!
    PIDS+=("$PID")
    read -r line <"$out"
    URI=${line#Listening at }
    rm -f "$out"
}
stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }

cat >"$WORK/push.lua" <<'EOF'
counter = 0
prefix = tostring(math.random(1, 1000000000))
request = function()
    counter = counter + 1
    return wrk.format("PUT", "/_mock/swr/namespaces/bench/repos/app/tags/w" .. prefix .. "-" .. counter)
end
EOF

"$BIN" generate-fixture --namespace big --repository repo --tags 200000 >"$WORK/big.json"

# writes LABEL ARGS... : prints the req/s of admin pushes.
writes() {
    start "$@"
    wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$WORK/push.lua" "$URI" 2>/dev/null |
        awk '/Requests\/sec/ {print $2}'
    stop
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '\n| store | without --persist (writes/s) | with --persist (writes/s) | cost |\n|---|---|---|---|\n'
for store in default big; do
    args=()
    [ "$store" = big ] && args=(--fixtures "$WORK/big.json")
    plain=() durable=()
    for _ in $(seq "$ROUNDS"); do
        plain+=("$(writes "${args[@]}")")
        rm -f "$WORK/state.db"
        durable+=("$(writes "${args[@]}" --persist "$WORK/state.db")")
    done
    p=$(printf '%s\n' "${plain[@]}" | median)
    d=$(printf '%s\n' "${durable[@]}" | median)
    printf '| %s | %s | %s | %s× slower |\n' "$store" "$p" "$d" \
        "$(python3 -c "print(round($p/$d, 1))")"
done

# import FILE LABEL : prints one table row of the import's memory.
import_row() {
    start
    local before after t0 t1 size code
    before=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
    t0=$(date +%s.%N)
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$1" "$URI/_mock/state")
    t1=$(date +%s.%N)
    after=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
    size=$(stat -c %s "$1")
    stop
    printf '| %s | %s | %.1f MB | %.1f MB | %.2f× | %.2f s | %s |\n' "$2" "$size" \
        "$(python3 -c "print($size/1048576)")" \
        "$(python3 -c "print(($after-$before)/1024)")" \
        "$(python3 -c "print(($after-$before)*1024/$size)")" \
        "$(python3 -c "print($t1-$t0)")" "$code"
}

python3 - "$WORK/tags.json" "$IMPORT_MB" <<'EOF'
import hashlib, sys
path, mb = sys.argv[1], int(sys.argv[2])
target = mb << 20
with open(path, "w") as out:
    out.write('{"swr":{"namespaces":[{"name":"mem","repositories":[{"name":"big","id":1,"tags":[')
    n, size = 0, 100
    while size < target:
        h = hashlib.sha256(str(n).encode()).hexdigest()
        t = ('{"tag":"t%07d","id":%d,"image_id":"%s","digest":"sha256:%s","schema":2,"size":%d,'
             '"is_trusted":false,"created":"2024-01-01T00:00:00Z","updated":"2024-01-01T00:00:00Z",'
             '"scanned":false,"tag_type":0}') % (n, n + 1, h, h[::-1], 1000 + n)
        out.write(("," if n else "") + t)
        size += len(t) + 1
        n += 1
    out.write("]}]}]}}")
EOF
"$BIN" generate-fixture --namespace ns --repository r --tags 1 \
    --project fd73a4a14a4a4dfb9771a8475e5198ea --images 20000 --tags-per-image 10 >"$WORK/images.json"

printf '\n| state imported | bytes | size | peak RSS rise | rise ÷ size | time | status |\n|---|---|---|---|---|---|---|\n'
import_row "$WORK/tags.json" "SWR tags (export shape)"
import_row "$WORK/images.json" "20,000 IMS images"
