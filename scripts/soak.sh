#!/usr/bin/env bash
# Optional soak test (NOT part of scripts/test): the release binary under
# sustained mixed load for N seconds, failing if its memory keeps growing.
#
#   scripts/soak.sh [SECONDS]          # default 60, at most 3600
#
# Environment:
#   IMS_SWR_MOCK_BIN          binary to soak (default: builds target/release/ims-swr-mock)
#   SOAK_CLIENTS              load threads (default 4)
#   SOAK_MAX_RSS_GROWTH_KB    allowed VmRSS growth after warm-up (default 16384 = 16 MiB)
#
# The server gets a generated fixture (2,000 tags, 50 images) and
# --journal-size 1000, so its steady state is bounded: the load creates and
# deletes tags from a fixed pool of names and rewrites IMS tags within the
# 10-tag quota. VmRSS (from /proc/PID/status) is sampled every 2 s; the
# baseline is the first sample after warm-up (a fifth of the run, at least
# 10 s), and the run fails if any later sample exceeds it by more than the
# bound, if any answer is a 5xx or a transport error, or if the server dies.
# Everything is on 127.0.0.1 and bounded in time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration="${1:-${SOAK_SECONDS:-60}}"
[[ "$duration" =~ ^[0-9]+$ ]] || { echo "soak: SECONDS must be a number" >&2; exit 2; }
(( duration >= 20 )) || duration=20
(( duration <= 3600 )) || duration=3600
warmup=$(( duration / 5 > 10 ? duration / 5 : 10 ))
clients="${SOAK_CLIENTS:-4}"
max_growth_kb="${SOAK_MAX_RSS_GROWTH_KB:-16384}"

bin="${IMS_SWR_MOCK_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --release --locked --bin ims-swr-mock
  target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  bin="$target_dir/release/ims-swr-mock"
fi

work="$(mktemp -d)"
server_pid=""
load_pid=""
cleanup() {
  [[ -n "$load_pid" ]] && kill "$load_pid" 2>/dev/null || true
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" generate-fixture --namespace soak --repository app --tags 2000 \
  --project soakp --images 50 --tags-per-image 3 >"$work/fixture.json"
"$bin" --port 0 --fixtures "$work/fixture.json" --journal-size 1000 --log-level error \
  >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
for _ in $(seq 100); do
  grep -q '^Listening at ' "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
url="$(sed -n 's/^Listening at //p' "$work/stdout")"
[[ "$url" == http://127.0.0.1:* ]] || { echo "soak: the server did not start" >&2; cat "$work/stderr" >&2; exit 1; }
echo "soak: $bin at $url, pid $server_pid, ${duration}s (warm-up ${warmup}s), $clients clients"

python3 - "$url" "$duration" "$clients" >"$work/load.log" 2>&1 <<'PY' &
import http.client, json, random, sys, threading, time, urllib.parse

url, duration, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host = urllib.parse.urlparse(url)
deadline = time.time() + duration
H = {"X-Auth-Token": "TOKENTEST", "Content-Type": "application/json"}
LIST = "/v2/manage/namespaces/soak/repos/app/tags"
lock = threading.Lock()
totals = {"requests": 0, "5xx": 0, "errors": 0}


def request(conn, method, path, body=None):
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=H)
    r = conn.getresponse()
    data = r.read()
    return r.status, data


conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
status, data = request(conn, "POST", "/v2/soakp/images/resource_instances/action",
                       {"action": "filter", "limit": "1000"})
images = [r["resource_id"] for r in json.loads(data)["resources"]]
conn.close()


def client(n):
    rnd = random.Random(n)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    counts = {"requests": 0, "5xx": 0, "errors": 0}
    while time.time() < deadline:
        roll = rnd.randrange(100)
        name = f"soak-{n}-{rnd.randrange(50)}"
        image = rnd.choice(images)
        key = f"key{rnd.randrange(8)}"
        try:
            if roll < 20:
                s, _ = request(conn, "POST", LIST, {"source_tag": f"v{rnd.randrange(2000):07}",
                                                   "destination_tag": name, "override": True})
            elif roll < 35:
                s, _ = request(conn, "DELETE", f"{LIST}/{name}")
            elif roll < 50:
                s, _ = request(conn, "POST", f"/v2/soakp/images/{image}/tags",
                               {"tag": {"key": key, "value": f"v{rnd.randrange(10)}"}})
            elif roll < 60:
                s, _ = request(conn, "DELETE", f"/v2/soakp/images/{image}/tags/{key}")
            elif roll < 70:
                s, _ = request(conn, "GET", f"/v2/soakp/images/tags")
            elif roll < 80:
                s, _ = request(conn, "GET", f"{LIST}?limit=100&offset={rnd.randrange(2000)}")
            elif roll < 90:
                s, _ = request(conn, "GET", f"/v3/manage/namespaces/soak/repos/app/tags?limit=50&order_column=tag")
            else:
                s, _ = request(conn, "GET", f"{LIST}/{name}")
            counts["requests"] += 1
            if s >= 500:
                counts["5xx"] += 1
        except (OSError, http.client.HTTPException) as e:
            counts["errors"] += 1
            print(f"client {n}: {e!r}", flush=True)
            conn.close()
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    with lock:
        for k, v in counts.items():
            totals[k] += v


threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(totals), flush=True)
sys.exit(0 if totals["5xx"] == 0 and totals["errors"] == 0 else 1)
PY
load_pid=$!

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }
start=$(date +%s)
baseline=""
peak=0
while kill -0 "$load_pid" 2>/dev/null; do
  sleep 2
  kill -0 "$server_pid" 2>/dev/null || { echo "soak: the server died" >&2; cat "$work/stderr" >&2; exit 1; }
  now=$(( $(date +%s) - start ))
  kb="$(rss)"
  if (( now >= warmup )); then
    [[ -n "$baseline" ]] || baseline="$kb"
    (( kb > peak )) && peak="$kb"
    echo "soak: t=${now}s VmRSS=${kb} kB (baseline ${baseline} kB, growth $(( kb - baseline )) kB)"
  else
    echo "soak: t=${now}s VmRSS=${kb} kB (warm-up)"
  fi
done
load_status=0
wait "$load_pid" || load_status=$?
load_pid=""
cat "$work/load.log"
elapsed=$(( $(date +%s) - start ))
requests="$(tail -n 1 "$work/load.log" | python3 -c 'import json, sys; print(json.load(sys.stdin)["requests"])' 2>/dev/null || echo 0)"
echo "soak: ${requests} requests in ${elapsed}s ($(( requests / (elapsed > 0 ? elapsed : 1) )) req/s)"
(( load_status == 0 )) || { echo "soak: FAILED: the load saw 5xx answers or transport errors" >&2; exit 1; }
if [[ -z "$baseline" ]]; then
  echo "soak: FAILED: no sample after warm-up" >&2
  exit 1
fi
growth=$(( peak - baseline ))
if (( growth > max_growth_kb )); then
  echo "soak: FAILED: VmRSS grew by ${growth} kB after warm-up (bound ${max_growth_kb} kB)" >&2
  exit 1
fi
echo "soak: passed: VmRSS baseline ${baseline} kB, peak ${peak} kB, growth ${growth} kB <= ${max_growth_kb} kB"
