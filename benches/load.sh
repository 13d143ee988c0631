#!/usr/bin/env bash
# HTTP load benchmarks of ims-swr-mock against nginx serving the same bytes.
#
#   benches/load.sh                # about 9 minutes on a 2-core machine
#   DURATION=5 ROUNDS=1 RUNS=10 benches/load.sh   # shorter
#   KEEP=1 benches/load.sh         # keep the work directory (bodies, logs, wrk outputs)
#   BIN=path/to/ims-swr-mock benches/load.sh   # no build: benchmark that binary
#   ROWS='repos' benches/load.sh   # only the measurements whose key matches this
#                                  # extended regex (bash =~); unset: all of them
#
# ROWS keys: ours_v3 nginx_v3 ours_v3m nginx_v3m ours_v2 nginx_v2 ours_seed nginx_seed
# ours_ims100 nginx_ims100 (throughput rows); big_v3 fresh_v3 big_v2 fresh_v2 (1M-tag
# scale rows; the 1M-tag load and RSS rows come with them); big_ims ours_ims100_again
# (IMS scale row); big_repos small_repos big_repos_v3 small_repos_v3 (repository-list
# scale rows); startup (startup and idle RSS). A pair runs when either key matches,
# and only the stores its rows need are generated and started: `ROWS=repos` runs the
# two repository-list rows in about a minute. Rows not run are left out of the table.
#
# What it does (loopback only, everything it starts is killed on exit):
#  1. installs nginx and wrk with apt-get when missing; builds the release binary;
#  2. generates fixtures with the release binary: a 100-tag repository plus a
#     100-image project (small), a 1,000,000-tag repository (big), and a
#     100,000-image project with the same distinct IMS tags (ims100k), each
#     served by its own process;
#  3. starts our server (`--auth lenient`, journal on by default) pinned to core 0,
#     captures with curl the exact response body of every benchmarked request
#     (sending X-Auth-Token), and writes each as a static file served by an nginx
#     configured here (core 0, 1 worker, access_log off, keep-alive unlimited);
#  4. drives each URL with wrk (1 thread pinned to core 1, CONNS connections,
#     DURATION seconds, --latency, X-Auth-Token on every request, ours and nginx
#     alike); each pair that is compared runs alternately, ROUNDS times (ours,
#     ref, ours, ref, ...), and the table shows the median of each column, so a
#     burst of noise on a shared machine does not decide a ratio;
#  5. measures startup (spawn to first 200, RUNS times, median) of ours on the
#     default fixture and of nginx on the same static file, our idle RSS on the
#     default fixture, and the 1M-tag load time and peak RSS (VmHWM);
#  6. prints one table.
#
# Columns: for throughput rows, "ref" is nginx serving the same bytes and ratio is
# ours/nginx req/s (target ≥ 0.8, and our p99 ≤ nginx's). Our server answers a
# repeated list request from its page cache (the default); the "(context)" rows show
# the same requests with --no-page-cache, computed afresh every time. For scale rows,
# "ours" is the big store and "ref" is the same request shape on the small store,
# both with --no-page-cache (so the store's own cost is measured), and ratio is the
# cost ratio big/small (= small req/s ÷ big req/s; target ≤ 2).
set -euo pipefail

DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
RUNS=${RUNS:-20}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
TOKEN='X-Auth-Token: t'
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROJECT=fd73a4a14a4a4dfb9771a8475e5198ea
GENPROJECT=0123456789abcdef0123456789abcdef

log() { printf '[load.sh] %s\n' "$*" >&2; }
# wants KEY...: whether ROWS selects any of the keys.
wants() {
    local key
    [ -z "${ROWS:-}" ] && return 0
    for key in "$@"; do [[ $key =~ $ROWS ]] && return 0; done
    return 1
}
WANT_BIG=0; wants big_v3 fresh_v3 big_v2 fresh_v2 && WANT_BIG=1
WANT_IMS=0; wants big_ims ours_ims100_again && WANT_IMS=1
WANT_REPOS=0; wants big_repos small_repos big_repos_v3 small_repos_v3 && WANT_REPOS=1

# ---------------------------------------------------------------- tools
need_install=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_install+=(nginx)
command -v wrk >/dev/null 2>&1 || need_install+=(wrk)
command -v curl >/dev/null 2>&1 || need_install+=(curl)
command -v python3 >/dev/null 2>&1 || need_install+=(python3)
command -v taskset >/dev/null 2>&1 || need_install+=(util-linux)
if [ ${#need_install[@]} -gt 0 ]; then
    log "installing ${need_install[*]}"
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_install[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# ---------------------------------------------------------------- build
# BIN=/path/to/ims-swr-mock skips the build and benchmarks that binary.
if [ -z "${BIN:-}" ]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/ims-swr-mock
fi
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }

# ---------------------------------------------------------------- cleanup
WORK=$(mktemp -d /tmp/ims-swr-bench.XXXXXX)
chmod 755 "$WORK"   # nginx workers run as nobody and must read the static files
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ -f "$WORK/nginx.pid" ]; then
        kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- helper (python)
# startup: spawn a command, poll a URL until 200; print elapsed ms (and RSS).
cat >"$WORK/probe.py" <<'EOF'
import json, os, signal, socket, statistics, subprocess, sys, time

def get(port, path, header):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}\r\nConnection: close\r\n\r\n"
        s.sendall(req.encode())
        head = s.recv(64)
        return head.startswith(b"HTTP/1.1 200")
    finally:
        s.close()

def status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    return 0

def rss_tree(pid):
    """VmRSS of pid and its children (nginx master + worker)."""
    total = status(pid, "VmRSS")
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            for c in f.read().split():
                total += status(int(c), "VmRSS")
    except OSError:
        pass
    return total

def spawn_until_200(cmd, port, path, header, timeout=60.0, log=None):
    out = open(log, "ab") if log else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=out, stderr=out)
    while True:
        try:
            if get(port, path, header):
                return p, (time.perf_counter() - t0) * 1000.0
        except OSError:
            pass
        if p.poll() is not None:
            raise SystemExit(f"{cmd[0]} exited with {p.returncode} before answering 200")
        if time.perf_counter() - t0 > timeout:
            p.kill()
            raise SystemExit(f"{cmd[0]} gave no 200 within {timeout} s")
        time.sleep(0.0002)

def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()

mode = sys.argv[1]
port, path, header, runs = int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
cmd = sys.argv[7:]  # after "--"
if mode == "startup":
    times, rss = [], None
    for i in range(runs):
        p, ms = spawn_until_200(cmd, port, path, header)
        times.append(ms)
        if i == runs - 1:
            time.sleep(1.0)  # idle
            rss = rss_tree(p.pid)
        stop(p)
    print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times),
                      "max_ms": max(times), "idle_rss_kb": rss}))
elif mode == "keep":
    # Spawn once, report time to first 200 and peak RSS, leave it running.
    p, ms = spawn_until_200(cmd, port, path, header, timeout=120.0, log=os.environ.get("PROBE_LOG"))
    print(json.dumps({"pid": p.pid, "ms": ms, "hwm_kb": status(p.pid, "VmHWM"),
                      "rss_kb": status(p.pid, "VmRSS")}))
EOF

# ---------------------------------------------------------------- fixtures
log "generating fixtures in $WORK"
"$BIN" generate-fixture --namespace bench --repository app --tags 100 \
    --project "$GENPROJECT" --images 100 --tags-per-image 3 >"$WORK/small.json"
if [ $WANT_BIG = 1 ]; then
    "$BIN" generate-fixture --namespace bench --repository app --tags 1000000 >"$WORK/big.json"
    log "1M-tag fixture: $(du -h "$WORK/big.json" | cut -f1)"
fi
if [ $WANT_IMS = 1 ]; then
    "$BIN" generate-fixture --namespace imsbench --repository x --tags 1 \
        --project "$GENPROJECT" --images 100000 --tags-per-image 3 >"$WORK/ims100k.json"
    log "100k-image fixture: $(du -h "$WORK/ims100k.json" | cut -f1)"
fi
if [ $WANT_REPOS = 1 ]; then
    # Repository lists: 100,000 repositories (1,000 organizations x 100) vs 100.
    "$BIN" generate-fixture --namespace rbench --repository x --tags 1 \
        --namespaces 1000 --repos-per-namespace 100 --tags-per-repo 1 >"$WORK/repos100k.json"
    "$BIN" generate-fixture --namespace rbench --repository x --tags 1 \
        --namespaces 1 --repos-per-namespace 99 --tags-per-repo 1 >"$WORK/repos100.json"
fi

# ---------------------------------------------------------------- servers
# Small store: the 100-tag repository, the 100-image project, and the default
# fixture (for the IMS seed body).
SMALL_PORT=$(free_port)
taskset -c "$SERVER_CPU" "$BIN" --port "$SMALL_PORT" --auth lenient \
    --fixtures "$WORK/small.json" --include-default-fixture --log-level warn \
    >"$WORK/small.log" 2>&1 &
PIDS+=($!)

# The same small store with --no-page-cache: the cost of computing each answer,
# the reference of the scale rows (whose big store runs without the cache too).
FRESH_PORT=$(free_port)
taskset -c "$SERVER_CPU" "$BIN" --port "$FRESH_PORT" --auth lenient --no-page-cache \
    --fixtures "$WORK/small.json" --include-default-fixture --log-level warn \
    >"$WORK/fresh.log" 2>&1 &
PIDS+=($!)

# Big store: spawn to first 200 is the 1M-tag load time; VmHWM its peak RSS.
BIG_PORT=$(free_port)
BIG_JSON=
if [ $WANT_BIG = 1 ]; then
    log "loading the 1M-tag store"
    BIG_JSON=$(PROBE_LOG="$WORK/big.log" python3 "$WORK/probe.py" keep "$BIG_PORT" \
        "/v3/manage/namespaces/bench/repos/app/tags?limit=1" "$TOKEN" 1 -- \
        taskset -c "$SERVER_CPU" "$BIN" --port "$BIG_PORT" --auth lenient --no-page-cache \
        --fixtures "$WORK/big.json" --log-level warn)
    BIG_PID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pid"])' "$BIG_JSON")
    PIDS+=("$BIG_PID")
fi

# The repository-list stores (no page cache: the store's own cost).
REPOS_PORT=$(free_port)
REPOS_SMALL_PORT=$(free_port)
if [ $WANT_REPOS = 1 ]; then
    taskset -c "$SERVER_CPU" "$BIN" --port "$REPOS_PORT" --auth lenient --no-page-cache \
        --fixtures "$WORK/repos100k.json" --log-level warn >"$WORK/repos100k.log" 2>&1 &
    PIDS+=($!)
    taskset -c "$SERVER_CPU" "$BIN" --port "$REPOS_SMALL_PORT" --auth lenient --no-page-cache \
        --fixtures "$WORK/repos100.json" --log-level warn >"$WORK/repos100.log" 2>&1 &
    PIDS+=($!)
fi

# The 100,000-image project (same distinct tags as the 100-image one).
IMS_PORT=$(free_port)
if [ $WANT_IMS = 1 ]; then
    taskset -c "$SERVER_CPU" "$BIN" --port "$IMS_PORT" --auth lenient \
        --fixtures "$WORK/ims100k.json" --log-level warn >"$WORK/ims.log" 2>&1 &
    PIDS+=($!)
fi

for port in "$SMALL_PORT" "$FRESH_PORT" $([ $WANT_IMS = 1 ] && echo "$IMS_PORT"); do
    for _ in $(seq 1 600); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/_mock/health" 2>/dev/null && break
        sleep 0.05
    done
done

# ---------------------------------------------------------------- bodies
mkdir -p "$WORK/static" "$WORK/nginx"
chmod 755 "$WORK/static"
capture() { # name port path-and-query
    local code
    code=$(curl -sS -H "$TOKEN" -o "$WORK/static/$1.json" -w '%{http_code}' "http://127.0.0.1:$2$3")
    [ "$code" = 200 ] || { echo "GET $3 answered $code" >&2; cat "$WORK/static/$1.json" >&2; exit 1; }
    chmod 644 "$WORK/static/$1.json"
}
V3=/v3/manage/namespaces/bench/repos/app/tags
V2=/v2/manage/namespaces/bench/repos/app/tags
capture v3_100 "$SMALL_PORT" "$V3?limit=100"
capture v3_100_manifest "$SMALL_PORT" "$V3?limit=100&with_manifest=true"
capture v2_100 "$SMALL_PORT" "$V2?limit=100&offset=0"
capture ims_seed "$SMALL_PORT" "/v2/$PROJECT/images/tags"
capture ims_100 "$SMALL_PORT" "/v2/$GENPROJECT/images/tags"
cmp -s "$WORK/static/v3_100.json" <(curl -sS -H "$TOKEN" "http://127.0.0.1:$FRESH_PORT$V3?limit=100") \
    || { echo "--no-page-cache answers differently" >&2; exit 1; }

# A v3 marker in the middle of the 1M-tag repository: the key of the tag at
# offset 500,000 in the default order (updated_at desc), encoded as the server
# does (URL-safe base64 of "ud:{updated}:{name}"), then checked by a request.
MARKER=
if [ $WANT_BIG = 1 ]; then
MID=$(curl -sS -H "$TOKEN" "http://127.0.0.1:$BIG_PORT$V2?limit=1&offset=499999")
MARKER=$(python3 - "$MID" <<'EOF'
import base64, datetime, json, sys
t = json.loads(sys.argv[1])[0]
u = t["updated"].replace("Z", "+00:00")
secs = int(datetime.datetime.fromisoformat(u).timestamp())
name = t.get("tag", t.get("Tag"))  # v2 spells it "Tag"
print(base64.urlsafe_b64encode(f"ud:{secs}:{name}".encode()).decode().rstrip("="))
EOF
)
capture big_v3_marker "$BIG_PORT" "$V3?limit=100&marker=$MARKER"
capture big_v2_offset "$BIG_PORT" "$V2?limit=100&offset=500000"
python3 - "$WORK/static" <<'EOF'
import json, sys
d = sys.argv[1]
assert len(json.load(open(f"{d}/big_v3_marker.json"))["tags"]) == 100, "marker page is not 100 tags"
assert len(json.load(open(f"{d}/big_v2_offset.json"))) == 100
EOF
fi
if [ $WANT_IMS = 1 ]; then
    capture big_ims_100k "$IMS_PORT" "/v2/$GENPROJECT/images/tags"
    cmp -s "$WORK/static/big_ims_100k.json" "$WORK/static/ims_100.json" \
        || { echo "100 and 100k images must aggregate to the same answer" >&2; exit 1; }
fi

# ---------------------------------------------------------------- nginx
NGINX_PORT=$(free_port)
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    types { application/json json; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/static;
    }
}
EOF
taskset -c "$SERVER_CPU" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
    >"$WORK/nginx/stdout.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/ims_seed.json" 2>/dev/null && break
    sleep 0.05
done
for f in "$WORK"/static/*.json; do
    cmp -s "$f" <(curl -sS "http://127.0.0.1:$NGINX_PORT/$(basename "$f")") \
        || { echo "nginx does not serve $f byte for byte" >&2; exit 1; }
done

# ---------------------------------------------------------------- wrk
# bench NAME URL -> writes $WORK/wrk.NAME and echoes "rps p50_ms p99_ms"
bench() {
    local out=$WORK/wrk.$1
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "$TOKEN" "$2" >"$out" 2>&1
    python3 - "$out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def ms(v):
    n, u = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errs = re.search(r"Socket errors: (.*)", text)
if bad or errs:
    sys.stderr.write(f"warning: {sys.argv[1]}: {bad.group(0) if bad else ''} {errs.group(0) if errs else ''}\n")
print(f"{rps:.0f} {p50:.3f} {p99:.3f}")
EOF
}

declare -A R
run() { # key url: one more wrk run of key, appended to R[key] (runs separated by ";")
    log "wrk $1 (${DURATION}s)"
    R[$1]="${R[$1]:+${R[$1]};}$(bench "$1" "$2")"
}
pair() { # key1 url1 key2 url2: ROUNDS alternating runs of each (when ROWS wants them)
    local round
    wants "$1" "$3" || return 0
    for round in $(seq 1 "$ROUNDS"); do
        run "$1" "$2"
        run "$3" "$4"
    done
}
O=http://127.0.0.1:$SMALL_PORT
B=http://127.0.0.1:$BIG_PORT
F=http://127.0.0.1:$FRESH_PORT
N=http://127.0.0.1:$NGINX_PORT
pair ours_v3 "$O$V3?limit=100" nginx_v3 "$N/v3_100.json"
pair ours_v3m "$O$V3?limit=100&with_manifest=true" nginx_v3m "$N/v3_100_manifest.json"
pair ours_v2 "$O$V2?limit=100&offset=0" nginx_v2 "$N/v2_100.json"
pair ours_seed "$O/v2/$PROJECT/images/tags" nginx_seed "$N/ims_seed.json"
pair ours_ims100 "$O/v2/$GENPROJECT/images/tags" nginx_ims100 "$N/ims_100.json"
pair big_v3 "$B$V3?limit=100&marker=$MARKER" fresh_v3 "$F$V3?limit=100"
pair big_v2 "$B$V2?limit=100&offset=500000" fresh_v2 "$F$V2?limit=100&offset=0"
pair big_ims "http://127.0.0.1:$IMS_PORT/v2/$GENPROJECT/images/tags" ours_ims100_again "$O/v2/$GENPROJECT/images/tags"
if [ $WANT_REPOS = 1 ]; then
    for port in "$REPOS_PORT" "$REPOS_SMALL_PORT"; do  # both up before they are measured
        for _ in $(seq 1 600); do
            curl -fsS -o /dev/null -H "$TOKEN" "http://127.0.0.1:$port/v2/manage/repos?offset=0&limit=1" 2>/dev/null && break
            sleep 0.05
        done
    done
    # Repository ids follow the fixture's order: marker 50000 is the middle of the 100k.
    python3 - "http://127.0.0.1:$REPOS_PORT" "http://127.0.0.1:$REPOS_SMALL_PORT" "$TOKEN" <<'EOF'
import json, sys, urllib.request
big, small, token = sys.argv[1:]
name, value = token.split(": ")
def get(url):
    return json.load(urllib.request.urlopen(urllib.request.Request(url, headers={name: value})))
assert len(get(f"{big}/v2/manage/repos?offset=50000&limit=100")) == 100
assert len(get(f"{small}/v2/manage/repos?offset=0&limit=100")) == 100
assert len(get(f"{big}/v3/manage/repos?limit=100&marker=50000")["repos"]) == 100
assert len(get(f"{small}/v3/manage/repos?limit=100")["repos"]) == 100
EOF
fi
pair big_repos "http://127.0.0.1:$REPOS_PORT/v2/manage/repos?offset=50000&limit=100" \
    small_repos "http://127.0.0.1:$REPOS_SMALL_PORT/v2/manage/repos?offset=0&limit=100"
pair big_repos_v3 "http://127.0.0.1:$REPOS_PORT/v3/manage/repos?limit=100&marker=50000" \
    small_repos_v3 "http://127.0.0.1:$REPOS_SMALL_PORT/v3/manage/repos?limit=100"

# ---------------------------------------------------------------- startup, RSS
# Stop the load servers first so startup runs do not share core 0 with them.
for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
sleep 0.5
PIDS=()   # all stopped: nothing for cleanup to kill twice (pids could be reused)
OURS_START=
NGINX_START=
if wants startup; then
    SPORT=$(free_port)
    log "startup x$RUNS (ours, default fixture)"
    OURS_START=$(python3 "$WORK/probe.py" startup "$SPORT" "/v2/$PROJECT/images/tags" "$TOKEN" "$RUNS" -- \
        taskset -c "$SERVER_CPU" "$BIN" --port "$SPORT" --auth lenient --log-level warn)
    NPORT=$(free_port)
    sed "s/127.0.0.1:$NGINX_PORT/127.0.0.1:$NPORT/; s#pid $WORK/nginx.pid#pid $WORK/nginx/startup.pid#" \
        "$WORK/nginx/nginx.conf" >"$WORK/nginx/startup.conf"
    log "startup x$RUNS (nginx)"
    NGINX_START=$(python3 "$WORK/probe.py" startup "$NPORT" "/ims_seed.json" "$TOKEN" "$RUNS" -- \
        taskset -c "$SERVER_CPU" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/startup.conf")
fi

# ---------------------------------------------------------------- table
size() { stat -c %s "$WORK/static/$1.json"; }
python3 - "$BIG_JSON" "$OURS_START" "$NGINX_START" \
    "${R[ours_v3]:-}" "${R[nginx_v3]:-}" "${R[ours_v3m]:-}" "${R[nginx_v3m]:-}" \
    "${R[ours_v2]:-}" "${R[nginx_v2]:-}" "${R[ours_seed]:-}" "${R[nginx_seed]:-}" \
    "${R[ours_ims100]:-}" "${R[nginx_ims100]:-}" "${R[big_v3]:-}" "${R[big_v2]:-}" "${R[big_ims]:-}" \
    "${R[fresh_v3]:-}" "${R[fresh_v2]:-}" "${R[ours_ims100_again]:-}" "$ROUNDS" "$(size v3_100)" "$(size v3_100_manifest)" "$(size v2_100)" "$(size ims_seed)" "$(size ims_100)" \
    "${R[big_repos]:-}" "${R[small_repos]:-}" "${R[big_repos_v3]:-}" "${R[small_repos_v3]:-}" <<'EOF'
import json, sys
a = sys.argv[1:]
# A measurement that ROWS left out is an empty argument: its rows are left out.
big, ours_s, nginx_s = (json.loads(x) if x else None for x in a[:3])
import statistics
def r(s):
    """Median of each column (req/s, p50, p99) over the runs; None when not run."""
    if not s:
        return None
    runs = [tuple(float(x) for x in run.split()) for run in s.split(";")]
    return tuple(statistics.median(col) for col in zip(*runs))
(ov3, nv3, ov3m, nv3m, ov2, nv2, osd, nsd, oi, ni, bv3, bv2, bi, fv3, fv2, oi2) = [r(x) for x in a[3:19]]
rounds = int(a[19])
sz = [int(x) for x in a[20:25]]
rows = []
def fmt(t):
    return f"{t[0]:>8.0f} {t[1]:>7.2f} {t[2]:>7.2f}"
def thr(name, o, n):
    if o is None or n is None:
        return
    ratio = o[0] / n[0]
    ok = ratio >= 0.8 and o[2] <= n[2]
    note = "" if ok else (" (req/s)" if ratio < 0.8 else "") + (" (p99)" if o[2] > n[2] else "")
    rows.append((name, fmt(o), fmt(n), f"{ratio:.2f}x", ("met" if ok else "MISSED" + note)))
def scale(name, bigr, small):
    if bigr is None or small is None:
        return
    cost = small[0] / bigr[0]
    rows.append((name, fmt(bigr), fmt(small), f"{cost:.2f}x", "met" if cost <= 2 else "MISSED"))
thr(f"v3 100-tag page ({sz[0]} B) >=0.8x nginx", ov3, nv3)
thr(f"v3 100-tag page with_manifest ({sz[1]} B) >=0.8x", ov3m, nv3m)
thr(f"v2 100-tag page offset 0 ({sz[2]} B) >=0.8x", ov2, nv2)
thr(f"IMS seed body, default fixture ({sz[3]} B) >=0.8x", osd, nsd)
thr(f"IMS generated 100 images ({sz[4]} B) >=0.8x", oi, ni)
def context(name, o, n):
    if o is None or n is None:
        return
    rows.append((name, fmt(o), fmt(n), f"{o[0] / n[0]:.2f}x", "(context)"))
context("  v3 100-tag page, --no-page-cache", fv3, nv3)
context("  v2 100-tag page, --no-page-cache", fv2, nv2)
scale("scale: v3 marker @500k of 1M vs 100-tag <=2x", bv3, fv3)
scale("scale: v2 offset 500000 of 1M vs 100-tag <=2x", bv2, fv2)
scale("scale: IMS 100k vs 100 images <=2x", bi, oi2)
scale("scale: v2 repos offset 50000 of 100k vs 100 <=2x", r(a[25]), r(a[26]))
scale("scale: v3 repos marker 50000 of 100k vs 100 <=2x", r(a[27]), r(a[28]))
w = max([len(x[0]) for x in rows] + [40]) + 2
print()
print(f"{'target':<{w}} {'ours: req/s   p50ms   p99ms':>26}   {'ref: req/s   p50ms   p99ms':>26}   {'ratio':>7}  result")
for name, o, n, ratio, res in rows:
    print(f"{name:<{w}} {o:>26}   {n:>26}   {ratio:>7}  {res}")
def one(name, ours, ref, ratio, ok):
    print(f"{name:<{w}} {ours:>26}   {ref:>26}   {ratio:>7}  {'met' if ok else 'MISSED'}")
if ours_s and nginx_s:
    one("startup to first 200, median <=25ms", f"{ours_s['median_ms']:.1f} ms",
        f"nginx {nginx_s['median_ms']:.1f} ms", f"{ours_s['median_ms']/nginx_s['median_ms']:.2f}x",
        ours_s["median_ms"] <= 25)
    one("idle RSS, default fixture <=15MB", f"{ours_s['idle_rss_kb']/1024:.1f} MB",
        f"nginx {nginx_s['idle_rss_kb']/1024:.1f} MB", "", ours_s["idle_rss_kb"] <= 15 * 1024)
if big:
    one("1M-tag fixture load (spawn->200) <=3s", f"{big['ms']/1000:.2f} s", "", "", big["ms"] <= 3000)
    one("1M-tag fixture peak RSS (VmHWM) <=600MB", f"{big['hwm_kb']/1024:.0f} MB",
        f"after load {big['rss_kb']/1024:.0f} MB", "", big["hwm_kb"] <= 600 * 1024)
print()
print(f"each row: median of {rounds} alternating runs per side")
if ours_s and nginx_s:
    print(f"startup ours: min {ours_s['min_ms']:.1f} / max {ours_s['max_ms']:.1f} ms; "
          f"nginx: min {nginx_s['min_ms']:.1f} / max {nginx_s['max_ms']:.1f} ms")
EOF
echo
echo "wrk: 1 thread on core $CLIENT_CPU, $CONNS connections, ${DURATION}s each; servers on core $SERVER_CPU;" \
     "nproc $(nproc); $(lscpu | sed -n 's/^Model name: *//p')"
