#!/usr/bin/env python3
"""Registry benchmark: ims-swr-mock's registry side by side with Debian's `docker-registry`
(the reference distribution registry, 2.8, in-memory storage) on loopback, in the same run.

Rows (median of ROUNDS alternating runs: ours first in even rounds, the reference first in
odd ones, so neither always runs right after the other's heavy steps; and the page cache is
written back (`sync`) before each timed step, so that skopeo's `fdatasync` calls do not wait
on the previous step's writes):
  - a 64 MiB blob: monolithic upload (`POST ?digest=` with curl) and download (`GET`);
  - `skopeo copy` of a 3-layer image of about 50 MB (incompressible gzip layers, an `oci:`
    layout made here) to the registry, and back into a fresh `oci:` layout.
Then the memory per stored byte of ours: RSS growth after the same ~50 MB image is pushed
to 3 repositories plus the 64 MiB blob, divided by the distinct bytes held.

Usage: BIN=target/release/ims-swr-mock ROUNDS=6 python3 benches/registry.py
Needs skopeo, curl and docker-registry (apt-get install skopeo docker-registry). Everything it
starts binds 127.0.0.1 and is stopped on exit.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "registry-tests"))
import oci  # noqa: E402

BIN = os.environ.get("BIN", "target/release/ims-swr-mock")
ROUNDS = int(os.environ.get("ROUNDS", "6"))
OURS_PORT, REF_PORT = 18_701, 18_702
BLOB_MIB = 64


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        sys.exit(f"benches/registry.py: {tool} is required (apt-get install skopeo curl docker-registry)")


def wait_port(port: int) -> None:
    import socket
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    sys.exit(f"nothing listens on 127.0.0.1:{port}")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def timed(argv: list[str]) -> float:
    os.sync()  # the client's own writes (fdatasync) must not wait on an earlier step's
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def main() -> None:
    for tool in ("skopeo", "curl", "docker-registry"):
        need(tool)
    work = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        ours = subprocess.Popen([BIN, "--port", str(OURS_PORT), "--auth", "lenient",
                                 "--max-blob-bytes", str(4 << 30), "--log-level", "warn"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ours)
        config = work / "config.yml"
        config.write_text(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  inmemory: {{}}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{REF_PORT}
""")
        ref = subprocess.Popen(["docker-registry", "serve", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ref)
        wait_port(OURS_PORT)
        wait_port(REF_PORT)
        idle_rss = rss_kib(ours.pid)

        blob = work / "blob"
        blob.write_bytes(oci.noise(64, BLOB_MIB << 20))
        digest = "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest()
        layout = work / "image"
        image = oci.single(layout, "v1", [20_000_000, 20_000_000, 10_000_000], seed=50)
        image_bytes = image["_size"]

        rows: dict[str, dict[str, list[float]]] = {}

        def record(row: str, who: str, seconds: float) -> None:
            rows.setdefault(row, {"ours": [], "ref": []})[who].append(seconds)

        for round_ in range(ROUNDS):
            order = (("ours", OURS_PORT), ("ref", REF_PORT))
            for who, port in order if round_ % 2 == 0 else order[::-1]:
                base = f"http://127.0.0.1:{port}"
                repo = f"bench{round_}/blob"
                # Monolithic upload as the 2.8 reference serves it: POST, then PUT ?digest= with the body.
                os.sync()
                start = time.perf_counter()
                request = urllib.request.Request(f"{base}/v2/{repo}/blobs/uploads/", method="POST", data=b"")
                with urllib.request.urlopen(request) as response:
                    location = response.headers["Location"]
                if location.startswith("/"):
                    location = base + location
                sep = "&" if "?" in location else "?"
                subprocess.run(["curl", "-sf", "-o", "/dev/null", "-X", "PUT", "-H",
                                "Content-Type: application/octet-stream", "--data-binary", f"@{blob}",
                                f"{location}{sep}digest={digest}"], check=True, capture_output=True, timeout=600)
                record("64 MiB blob upload (POST + PUT)", who, time.perf_counter() - start)
                record("64 MiB blob download", who, timed(
                    ["curl", "-sf", "-o", "/dev/null", f"{base}/v2/{repo}/blobs/{digest}"]))
                dest = f"docker://127.0.0.1:{port}/bench{round_}/image:v1"
                record("skopeo copy 3 layers ~50 MB, push", who, timed(
                    ["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:v1", dest]))
                back = work / f"back-{who}-{round_}"
                record("skopeo copy 3 layers ~50 MB, pull", who, timed(
                    ["skopeo", "copy", "--src-tls-verify=false", dest, f"oci:{back}:v1"]))
                shutil.rmtree(back)

        # Memory per stored byte: the same image in 3 more repositories holds no new bytes.
        for name in ("mem/a", "mem/b", "mem/c"):
            subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:v1",
                            f"docker://127.0.0.1:{OURS_PORT}/{name}:v1"], check=True, capture_output=True)
        stored = image_bytes + (BLOB_MIB << 20)
        grown = (rss_kib(ours.pid) - idle_rss) * 1024

        print(f"| Row | ims-swr-mock (s) | docker-registry 2.8.2, inmemory (s) | ratio (ref / ours) |")
        print("| --- | ---: | ---: | ---: |")
        for row, by in rows.items():
            o, r = statistics.median(by["ours"]), statistics.median(by["ref"])
            size = BLOB_MIB << 20 if "blob" in row else image_bytes
            print(f"| {row} | {o:.3f} ({size / o / 1e6:.0f} MB/s) | {r:.3f} ({size / r / 1e6:.0f} MB/s) | {r / o:.2f}x |")
        print()
        print(f"Memory: idle RSS {idle_rss / 1024:.1f} MiB; after {ROUNDS} rounds plus the image in 3 more "
              f"repositories, RSS grew by {grown / 1e6:.1f} MB for {stored / 1e6:.1f} MB of distinct blobs "
              f"(the image {image_bytes / 1e6:.1f} MB and the 64 MiB blob, each held once whatever the "
              f"number of repositories): {grown / stored:.2f} bytes of RSS per stored byte.")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
