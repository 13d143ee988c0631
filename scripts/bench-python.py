#!/usr/bin/env python3
"""Benchmarks of the Python path (BENCHMARKS.md, "Python path"). Not a test:
it measures and prints, and asserts nothing.

1. Session start to first answer: from spawning the server (what the plugin's
   session fixture does) to the `Listening at` line, and to the first answer of
   an official SDK call (the client built beforehand). Median over N starts.
2. Per test: `reset()` (the function fixture's teardown) plus one SDK call
   (`ListImagesTags`), each timed, median and p95 over 1,000 rounds.
3. The same through pytest itself: 1,000 generated tests, each taking the
   `ims_client` fixture (so a reset after each) and making one call; the
   per-test figure is the run's wall time over 1,000.

Run it with an interpreter that has the official SDKs, pytest and the
ims_swr_mock package (the wheel, or PYTHONPATH=python with IMS_SWR_MOCK_BIN):
    IMS_SWR_MOCK_BIN=target/release/ims-swr-mock PYTHONPATH=python \\
        .venv-sdk/bin/python scripts/bench-python.py
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkims.v2 import ImsClient, ListImagesTagsRequest

from ims_swr_mock import DEFAULT_AK, DEFAULT_PROJECT_ID, DEFAULT_SK, MockServer, find_binary

STARTS = int(os.environ.get("BENCH_STARTS", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1000"))


def ms(seconds: float) -> str:
    return "%.2f ms" % (seconds * 1000)


def p95(values: list) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def client(url: str) -> ImsClient:
    creds = BasicCredentials(DEFAULT_AK, DEFAULT_SK, DEFAULT_PROJECT_ID)
    return ImsClient.new_builder().with_credentials(creds).with_endpoints([url]).build()


def session_start() -> None:
    to_line, to_answer = [], []
    for _ in range(STARTS):
        server = MockServer(auth="strict")
        t0 = time.perf_counter()
        server.start()
        t1 = time.perf_counter()
        ims = client(server.url)  # building it sends nothing
        t2 = time.perf_counter()
        ims.list_images_tags(ListImagesTagsRequest())
        t3 = time.perf_counter()
        server.stop()
        to_line.append(t1 - t0)
        to_answer.append((t1 - t0) + (t3 - t2))
    print("session start -> Listening line: median %s, max %s (%d starts)"
          % (ms(statistics.median(to_line)), ms(max(to_line)), STARTS))
    print("session start -> first SDK answer: median %s, max %s"
          % (ms(statistics.median(to_answer)), ms(max(to_answer))))


def per_test() -> None:
    with MockServer(auth="strict") as server:
        ims = client(server.url)
        ims.list_images_tags(ListImagesTagsRequest())  # warm the connection pools
        resets, calls = [], []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            server.reset()
            t1 = time.perf_counter()
            ims.list_images_tags(ListImagesTagsRequest())
            t2 = time.perf_counter()
            resets.append(t1 - t0)
            calls.append(t2 - t1)
    print("reset(): median %s, p95 %s (%d rounds)"
          % (ms(statistics.median(resets)), ms(p95(resets)), ROUNDS))
    print("one SDK call (ListImagesTags, strict auth): median %s, p95 %s"
          % (ms(statistics.median(calls)), ms(p95(calls))))


def through_pytest() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        test = Path(tmp) / "test_many.py"
        test.write_text(textwrap.dedent("""
            import pytest
            from huaweicloudsdkims.v2 import ListImagesTagsRequest

            @pytest.mark.parametrize("i", range(%d))
            def test_one_call(i, ims_client):
                assert ims_client.list_images_tags(ListImagesTagsRequest()).tags
        """ % ROUNDS))
        (Path(tmp) / "conftest.py").write_text(textwrap.dedent("""
            # Each phase's exact duration (pytest's own report, not rounded).
            def pytest_runtest_logreport(report):
                with open("durations.txt", "a") as out:
                    out.write("%s %.9f\\n" % (report.when, report.duration))
        """))
        (Path(tmp) / "pytest.ini").write_text("[pytest]\nims_swr_mock_auth = strict\n")
        import ims_swr_mock

        env = dict(os.environ)
        package_root = str(Path(ims_swr_mock.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "-p", "ims_swr_mock.pytest_plugin", str(test)],
                              cwd=tmp, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        phases: dict = {"setup": [], "call": [], "teardown": []}
        for line in (Path(tmp) / "durations.txt").read_text().splitlines():
            phase, seconds = line.split()
            phases[phase].append(float(seconds))
        for phase, values in phases.items():
            if values:
                print("pytest %s (%s): median %s, p95 %s" % (
                    phase, {"setup": "fixtures", "call": "one SDK call",
                            "teardown": "the reset"}[phase],
                    ms(statistics.median(values)), ms(p95(values))))
        last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
        took = re.search(r" in ([0-9.]+)s", last)
        inside = float(took.group(1)) if took else float("nan")
        print("pytest, %d tests (reset + one call each): %s; %s per test inside pytest's "
              "run (the process's wall time, imports and server start included: %.2f s)"
              % (ROUNDS, last, ms(inside / ROUNDS), wall))


if __name__ == "__main__":
    print("binary: %s" % find_binary())
    session_start()
    per_test()
    through_pytest()
