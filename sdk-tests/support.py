"""Helpers for the official-SDK conformance suite: the mock process and SDK clients.

Every test talks to a real `ims-swr-mock` process through the official Huawei Cloud
Python SDKs (huaweicloudsdkims / huaweicloudsdkswr), built as
docs/sdk-wire-facts.md §1 describes: `with_endpoints([uri])`, BasicCredentials,
a fixed User-Agent and `retry_times=0`.

The binary is taken from `$IMS_SWR_MOCK_BIN` (default: `../target/debug/ims-swr-mock`
relative to this directory). Nothing here builds it, and nothing here skips: a missing
binary, missing SDKs or a server that never says `Listening at ...` fail the run.

Servers run with strict auth (AUTH_ARGS below) unless a test asks for another mode.
"""
from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

try:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkims.v2 import ImsClient
    from huaweicloudsdkswr.v2 import SwrClient
except ImportError as exc:  # pragma: no cover - only when the environment is broken
    raise RuntimeError(
        "The official Huawei Cloud SDKs are not importable (%s). "
        "Install sdk-tests/requirements.txt, e.g. run `bash sdk-tests/run.sh`." % exc
    ) from exc

HERE = Path(__file__).resolve().parent

# Credentials of tenant 1 in the embedded default fixture (see test_auth.py for tenant 2).
AK = "AKTEST"
SK = "SKTEST"

# EVERY server this suite starts runs with these flags (start_server's default `auth`).
# So each test also proves that the official SDK, signing with the right AK/SK, passes strict
# verification (signature, clock skew and tenancy) for every emulated operation. Only tests
# that are about other modes pass another `auth=` (test_auth.py, and the lenient-only cases
# in test_errors.py / test_ims.py, each with a comment saying why).
AUTH_ARGS = ("--auth", "strict")

# IMS project of the embedded default fixture (seed 001's example request).
DEFAULT_PROJECT_ID = "fd73a4a14a4a4dfb9771a8475e5198ea"
USER_AGENT = "ims-swr-mock-sdk-tests"

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 10.0
LISTENING_RE = re.compile(r"^Listening at (https?://127\.0\.0\.1:(\d+))$")

# Namespace/repository of the big generated fixture shared by the v2 and v3 paging tests.
BIG_NAMESPACE = "bigns"
BIG_REPOSITORY = "big"
BIG_TAG_COUNT = 2500


# ---------------------------------------------------------------------------
# The server process
# ---------------------------------------------------------------------------
def mock_binary() -> Path:
    """Path of the binary under test; fails the test run if it does not exist."""
    raw = os.environ.get("IMS_SWR_MOCK_BIN")
    path = Path(raw) if raw else HERE / ".." / "target" / "debug" / "ims-swr-mock"
    path = path.resolve()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            "ims-swr-mock binary not found or not executable at %s "
            "(build it with `cargo build` or set IMS_SWR_MOCK_BIN)" % path,
            pytrace=False,
        )
    return path


@dataclass
class MockServer:
    """One running `ims-swr-mock --port 0` process."""

    process: subprocess.Popen
    uri: str
    port: int
    stderr_path: Path
    args: list = field(default_factory=list)

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def terminate(self) -> int:
        """SIGTERM, wait for a graceful exit, SIGKILL as a last resort. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


_RUNNING: list[MockServer] = []


def fixture_args(path) -> tuple:
    """Server flags for a generated fixture. generate-fixture defines no credentials (its
    namespaces belong to tenant 1's domain), so the embedded default fixture is loaded too:
    its AKTEST/SKTEST is what signs the requests under strict auth."""
    return ("--include-default-fixture", "--fixtures", str(path))


def start_server(*args: str, auth: tuple = AUTH_ARGS) -> MockServer:
    """Start the binary with `--port 0`, `auth` (AUTH_ARGS unless a test needs another auth
    mode; `()` means the server's own default) plus `args`, and wait for its `Listening at` line.

    Fails the current test (never skips) when the line does not arrive within
    STARTUP_TIMEOUT_S or the process exits first; stderr is quoted in the failure.
    """
    binary = mock_binary()
    argv = [str(binary), "--port", "0", *auth, *args]
    stderr_file = tempfile.NamedTemporaryFile(prefix="ims-swr-mock-", suffix=".stderr", delete=False)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file)
    stderr_file.close()
    server = MockServer(process=proc, uri="", port=0, stderr_path=Path(stderr_file.name), args=argv)

    line = _read_first_line(proc, STARTUP_TIMEOUT_S)
    match = LISTENING_RE.match(line or "")
    if not match:
        code = server.terminate()
        pytest.fail(
            "ims-swr-mock did not announce `Listening at http://127.0.0.1:PORT` within %.0fs.\n"
            "command: %s\nfirst stdout line: %r\nexit code: %s\nstderr:\n%s"
            % (STARTUP_TIMEOUT_S, " ".join(argv), line, code, server.stderr_text()),
            pytrace=False,
        )
    server.uri, server.port = match.group(1), int(match.group(2))
    _RUNNING.append(server)
    return server


def stop_server(server: MockServer) -> int:
    code = server.terminate()
    if server in _RUNNING:
        _RUNNING.remove(server)
    try:
        server.stderr_path.unlink()
    except OSError:
        pass
    return code


def _read_first_line(proc: subprocess.Popen, timeout: float) -> str | None:
    """Read one stdout line without blocking past `timeout` (the pipe is unbuffered bytes)."""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    buf = b""
    while b"\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:  # EOF: the process closed stdout (most likely it exited)
            proc.wait(timeout=timeout)
            return buf.decode(errors="replace") or None
        buf += chunk
    return buf.split(b"\n", 1)[0].decode(errors="replace").rstrip("\r")


def generate_fixture(path: Path, *, namespace: str, repository: str, tags: int, **extra) -> Path:
    """Run `ims-swr-mock generate-fixture` and write its output to `path`.

    `extra` maps to further flags, e.g. project="p1", images=10, tags_per_image=3.
    """
    argv = [str(mock_binary()), "generate-fixture", "--namespace", namespace,
            "--repository", repository, "--tags", str(tags)]
    for name, value in extra.items():
        argv += ["--" + name.replace("_", "-"), str(value)]
    result = subprocess.run(argv, capture_output=True, timeout=60)
    if result.returncode != 0:
        pytest.fail("generate-fixture failed (exit %d): %s\n%s"
                    % (result.returncode, " ".join(argv), result.stderr.decode(errors="replace")),
                    pytrace=False)
    path.write_bytes(result.stdout)
    return path


def stop_all_servers() -> None:
    """Safety net: stop every server that is still running."""
    for server in list(_RUNNING):
        stop_server(server)


# ---------------------------------------------------------------------------
# SDK clients (docs/sdk-wire-facts.md §1)
# ---------------------------------------------------------------------------
def http_config() -> HttpConfig:
    cfg = HttpConfig.get_default_config()
    cfg.user_agent = USER_AGENT  # the UA is signed; fixing it keeps signatures reproducible
    cfg.retry_times = 0
    cfg.timeout = (5, 30)
    return cfg


def make_ims_client(server: MockServer, project_id: str = DEFAULT_PROJECT_ID,
                    ak: str = AK, sk: str = SK) -> ImsClient:
    return (ImsClient.new_builder()
            .with_http_config(http_config())
            .with_credentials(BasicCredentials(ak, sk, project_id))
            .with_endpoints([server.uri])
            .build())


def make_swr_client(server: MockServer, project_id: str = DEFAULT_PROJECT_ID,
                    ak: str = AK, sk: str = SK) -> SwrClient:
    return (SwrClient.new_builder()
            .with_http_config(http_config())
            .with_credentials(BasicCredentials(ak, sk, project_id))
            .with_endpoints([server.uri])
            .build())


def raw_get(server: MockServer, path: str, headers: dict | None = None):
    """GET `path` without the SDK (only the headers given, plus what urllib adds: Host,
    User-Agent, Accept-Encoding, Connection). Returns (status, headers, body text, parsed JSON
    or None); HTTP errors are returned, not raised."""
    request = urllib.request.Request(server.uri + path, headers=headers or {}, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, got_headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, got_headers, body = error.code, error.headers, error.read()
    text = body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return status, got_headers, text, parsed


# ---------------------------------------------------------------------------
# Generated fixtures' tags
# ---------------------------------------------------------------------------
def generated_tag_name(index: int) -> str:
    """Tags from generate-fixture are named v0000000, v0000001, ..."""
    return "v%07d" % index


def generated_tag_updated(index: int) -> str:
    """...and tag `index` was updated at 2024-01-01T00:00:00Z + index seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1704067200 + index))


# ---------------------------------------------------------------------------
# Tag-API family helpers (test_ims_tags.py, test_swr_tags.py, test_scenario.py)
# ---------------------------------------------------------------------------
REQUEST_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def expect_client_error(call, status: int, error_code: str):
    """Run `call()` and check it raises the SDK's ClientRequestException with `status`,
    `error_code` and a 32-hex request id (from X-Request-Id). Returns the exception."""
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    with pytest.raises(ClientRequestException) as caught:
        call()
    error = caught.value
    assert type(error) is ClientRequestException
    assert (error.status_code, error.error_code) == (status, error_code), error.error_msg
    assert REQUEST_ID_RE.match(error.request_id or ""), error.request_id
    assert error.error_msg
    return error


def admin_put_swr_tag(server: MockServer, namespace: str, repository: str, tag: str,
                      fields: dict | None = None):
    """The admin push door (no auth): PUT /_mock/swr/namespaces/{ns}/repos/{repo}/tags/{tag}
    with an optional JSON body of tag fields. Returns (status, parsed JSON body)."""
    path = "/_mock/swr/namespaces/%s/repos/%s/tags/%s" % (namespace, repository, tag)
    data = json.dumps(fields).encode() if fields is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(server.uri + path, data=data, headers=headers, method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read() or b"null")
