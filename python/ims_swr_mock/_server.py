"""`MockServer`: one `ims-swr-mock` process on `127.0.0.1:0`, and thin calls
on its `/_mock` admin API.

The server prints one stable line once it accepts connections,
`Listening at http://127.0.0.1:PORT` (`https://` with TLS); the URL is read
from it. Admin calls go over one kept-alive connection (a reset costs well
under a millisecond); an error answer raises :class:`MockServerError`
carrying the server's own message.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import queue
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union, cast

from ims_swr_mock._find import find_binary

__all__ = ["Faults", "MockServer", "MockServerError"]

#: Default tenant of the embedded default fixture: access key, secret key, project.
DEFAULT_AK = "AKTEST"
DEFAULT_SK = "SKTEST"
DEFAULT_PROJECT_ID = "fd73a4a14a4a4dfb9771a8475e5198ea"
DEFAULT_REGION = "cn-north-4"

_LISTENING = re.compile(r"^Listening at (https?://\S+)$")
_AUTH_MODES = ("off", "lenient", "strict")

PathLike = Union[str, "os.PathLike[str]"]
Json = Any


class MockServerError(Exception):
    """The server refused a call, failed to start, or could not be reached.

    `status` is the HTTP status (None when there was no answer), `code` the
    server's error code (such as `MOCK.0400`), `message` its message.
    """

    def __init__(self, message: str, *, status: Optional[int] = None,
                 code: Optional[str] = None, body: Optional[str] = None) -> None:
        super().__init__(message if status is None else "%s (HTTP %d)" % (message, status))
        self.message = message
        self.status = status
        self.code = code
        self.body = body


class Faults:
    """The fault rules of a server (`/_mock/faults`)."""

    def __init__(self, server: "MockServer") -> None:
        self._server = server

    def add(self, rule: Optional[Mapping[str, Any]] = None, **fields: Any) -> Dict[str, Any]:
        """Add a rule, given as a dict and/or keyword fields in the JSON names
        (`method`, `path`, `status`, `times`, `delay_ms`, `fault`, ...).
        Returns the stored rule with its `id`."""
        body = dict(rule or {})
        body.update(fields)
        return cast(Dict[str, Any], self._server._call("POST", "/faults", body))

    def list(self) -> List[Dict[str, Any]]:
        """The rules, with how often each fired and whether it retired."""
        return cast(List[Dict[str, Any]], self._server._call("GET", "/faults")["faults"])

    def remove(self, rule_id: int) -> None:
        """Remove one rule by its id."""
        self._server._call("DELETE", "/faults/%d" % int(rule_id))

    def clear(self) -> None:
        """Remove every rule (startup rules too, until the next reset)."""
        self._server._call("DELETE", "/faults")


class MockServer:
    """An `ims-swr-mock` process, as a context manager.

    ::

        with MockServer(auth="strict", faults=["GET /v3/** 503 times=2"]) as server:
            server.url           # http://127.0.0.1:PORT
            server.reset()

    Keyword arguments map to the server's flags: `auth` (off, lenient or
    strict), `fixtures` (files or directories), `include_default_fixture`,
    `faults` (rule specs as `--fault` takes them), `tls` (a self-signed
    certificate; its PEM is :attr:`ca_file`), `tls_cert`/`tls_key`,
    `admin_token`, `journal_size`; `args` adds any other flags. The
    `IMS_SWR_MOCK_*` variables of this process are not passed on (only the
    arguments decide); `env` adds variables to the child's environment.
    """

    def __init__(
        self,
        *,
        auth: Optional[str] = None,
        fixtures: Iterable[PathLike] = (),
        include_default_fixture: bool = False,
        faults: Iterable[str] = (),
        tls: bool = False,
        tls_cert: Optional[PathLike] = None,
        tls_key: Optional[PathLike] = None,
        admin_token: Optional[str] = None,
        journal_size: Optional[int] = None,
        args: Sequence[str] = (),
        env: Optional[Mapping[str, str]] = None,
        binary: Optional[PathLike] = None,
        startup_timeout: float = 10.0,
    ) -> None:
        if auth is not None and auth not in _AUTH_MODES:
            raise ValueError("auth=%r: expected one of %s" % (auth, ", ".join(_AUTH_MODES)))
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if tls and tls_cert is not None:
            raise ValueError("tls=True (self-signed) and tls_cert exclude each other")
        self._auth = auth
        self._fixtures = [os.fspath(f) for f in fixtures]
        self._include_default = include_default_fixture
        self._faults = list(faults)
        self._tls = tls
        self._tls_cert = os.fspath(tls_cert) if tls_cert is not None else None
        self._tls_key = os.fspath(tls_key) if tls_key is not None else None
        self._admin_token = admin_token
        self._journal_size = journal_size
        self._extra = list(args)
        self._env = dict(env or {})
        self._binary = os.fspath(binary) if binary is not None else None
        self._startup_timeout = startup_timeout
        self._process: "Optional[subprocess.Popen[bytes]]" = None
        self._tmp: "Optional[tempfile.TemporaryDirectory[str]]" = None
        self._stderr_path: Optional[Path] = None
        self._url: Optional[str] = None
        self._ca_file: Optional[str] = None
        self._conn: Optional[http.client.HTTPConnection] = None
        self._lock = threading.Lock()
        self._environ_cache: Dict[Tuple[str, bool], Dict[str, str]] = {}
        self.faults = Faults(self)

    # -- life cycle ---------------------------------------------------------

    @property
    def binary(self) -> str:
        """The binary this server runs."""
        return self._binary or find_binary()

    def argv(self) -> List[str]:
        """The command line the server is started with."""
        argv = [self.binary, "--bind", "127.0.0.1", "--port", "0"]
        if self._auth:
            argv += ["--auth", self._auth]
        if self._fixtures:
            if self._include_default:
                argv.append("--include-default-fixture")
            for path in self._fixtures:
                argv += ["--fixtures", path]
        for spec in self._faults:
            argv += ["--fault", spec]
        if self._tls_cert is not None and self._tls_key is not None:
            argv += ["--tls-cert", self._tls_cert, "--tls-key", self._tls_key]
        if self._journal_size is not None:
            argv += ["--journal-size", str(int(self._journal_size))]
        return argv + self._extra

    def start(self) -> "MockServer":
        """Start the process and wait for its `Listening at` line."""
        if self._process is not None:
            raise MockServerError("this server is already started")
        self._tmp = tempfile.TemporaryDirectory(prefix="ims-swr-mock-")
        argv = self.argv()
        if self._tls:
            self._ca_file = os.path.join(self._tmp.name, "ca.pem")
            argv[1:1] = ["--tls-self-signed", self._ca_file]
        elif self._tls_cert is not None:
            self._ca_file = self._tls_cert
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMS_SWR_MOCK_")}
        if self._admin_token is not None:
            env["IMS_SWR_MOCK_ADMIN_TOKEN"] = self._admin_token  # not on the command line
        env.update(self._env)
        self._stderr_path = Path(self._tmp.name) / "stderr.log"
        with open(self._stderr_path, "wb") as stderr:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=env,
                preexec_fn=_die_with_parent(),
            )
        lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=_pump, args=(self._process.stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=self._startup_timeout)
        except queue.Empty:
            line = None
        match = _LISTENING.match(line or "")
        if not match:
            code = self._terminate()
            raise MockServerError(
                "ims-swr-mock did not announce `Listening at URL` within %.0f s "
                "(first line %r, exit code %s).\ncommand: %s\nstderr:\n%s"
                % (self._startup_timeout, line, code, " ".join(argv), self.stderr_text())
            )
        self._url = match.group(1)
        return self

    def stop(self) -> Optional[int]:
        """Stop the process (SIGTERM, then SIGKILL after 10 s); returns its
        exit code (None when it was not started). Idempotent."""
        if self._process is None:
            return None
        code = self._terminate()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return code

    def __enter__(self) -> "MockServer":
        return self.start() if self._process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _terminate(self) -> Optional[int]:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        proc = self._process
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def url(self) -> str:
        """Base URL, such as `http://127.0.0.1:41237`."""
        if self._url is None:
            raise MockServerError("the server is not started")
        return self._url

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(urllib.parse.urlsplit(self.url).port or 0)

    @property
    def ca_file(self) -> Optional[str]:
        """With TLS, the PEM file a client must trust (else None)."""
        return self._ca_file

    def stderr_text(self) -> str:
        """What the server wrote on stderr so far (its log)."""
        try:
            return self._stderr_path.read_text(errors="replace") if self._stderr_path else ""
        except OSError:
            return ""

    # -- the admin API -------------------------------------------------------

    def health(self) -> Dict[str, Any]:
        """`GET /_mock/health`."""
        return cast(Dict[str, Any], self._call("GET", "/health"))

    def reset(self) -> None:
        """Back to the startup state: fixtures re-read, startup faults
        reinstalled with fresh counters, added rules dropped, journal emptied."""
        self._call("POST", "/reset")

    def state(self) -> Dict[str, Any]:
        """The whole data, as a fixture document."""
        return cast(Dict[str, Any], self._call("GET", "/state"))

    def load_state(self, document: Mapping[str, Any]) -> None:
        """Replace the data with a fixture document (nothing changes on error)."""
        self._call("PUT", "/state", document)

    def push_tag(self, namespace: str, repository: str, tag: str,
                 fields: Optional[Mapping[str, Any]] = None, *,
                 domain_id: Optional[str] = None) -> Dict[str, Any]:
        """Push an SWR tag as `docker push` would (the namespace and repository
        are created when missing); `fields` are tag fields in fixture form.
        Returns the tag as `ShowRepoTag` shows it."""
        path = "/swr/namespaces/%s/repos/%s/tags/%s" % (
            _segment(namespace), _segment(repository), _segment(tag))
        if domain_id is not None:
            path += "?" + urllib.parse.urlencode({"domain_id": domain_id})
        return cast(Dict[str, Any], self._call("PUT", path, dict(fields or {})))

    def requests(self, *, method: Optional[str] = None, path: Optional[str] = None,
                 status: Optional[int] = None, since: Union[int, str, None] = None
                 ) -> List[Dict[str, Any]]:
        """Journal entries (API requests, not admin calls), oldest first.
        `path` takes a glob or a route template; `since` a `seq` or an RFC
        3339 time."""
        query = {k: v for k, v in (("method", method), ("path", path), ("status", status),
                                   ("since", since)) if v is not None}
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return cast(List[Dict[str, Any]], self._call("GET", "/requests" + suffix)["requests"])

    def clear_requests(self) -> None:
        """Empty the journal."""
        self._call("DELETE", "/requests")

    def environ(self, region: str = DEFAULT_REGION, *, discover_project: bool = False
                ) -> Dict[str, str]:
        """The variables that point the official SDKs at this server for
        `region`, as `ims-swr-mock env` prints them (region endpoints, IAM,
        the default tenant's AK/SK and project, and with TLS the CA bundle)."""
        key = (region, discover_project)
        if key not in self._environ_cache:
            argv = [self.binary, "env", "--format", "json", "--region", region, "--url", self.url]
            if self._ca_file:
                argv += ["--ca-bundle", self._ca_file]
            if discover_project:
                argv.append("--discover-project")
            env = {k: v for k, v in os.environ.items() if not k.startswith("IMS_SWR_MOCK_")}
            done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
            if done.returncode != 0:
                raise MockServerError("ims-swr-mock env failed: %s" % done.stderr.strip())
            self._environ_cache[key] = json.loads(done.stdout)
        return dict(self._environ_cache[key])

    # -- transport -----------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            parts = urllib.parse.urlsplit(self.url)
            host = parts.hostname or "127.0.0.1"
            if parts.scheme == "https":
                context = ssl.create_default_context(cafile=self._ca_file)
                self._conn = http.client.HTTPSConnection(
                    host, parts.port, timeout=30, context=context)
            else:
                self._conn = http.client.HTTPConnection(host, parts.port, timeout=30)
        return self._conn

    def _call(self, method: str, path: str, body: Optional[Json] = None) -> Json:
        """One admin call; retried once on a fresh connection when a kept-alive
        one was closed by the server."""
        if not self.running:
            raise MockServerError(
                "the server is not running (exit code %s); stderr:\n%s"
                % (None if self._process is None else self._process.poll(), self.stderr_text()))
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._admin_token is not None:
            headers["Authorization"] = "Bearer " + self._admin_token
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    conn.request(method, "/_mock" + path, body=data, headers=headers)
                    response = conn.getresponse()
                    raw = response.read()
                    break
                except (http.client.HTTPException, ConnectionError, OSError) as exc:
                    conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise MockServerError(
                            "%s /_mock%s: no answer from %s: %s" % (method, path, self.url, exc)
                        ) from exc
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                self._conn = None
        text = raw.decode("utf-8", errors="replace")
        if response.status >= 400:
            code, message = _error_of(text)
            raise MockServerError(message or text or response.reason, status=response.status,
                                  code=code, body=text)
        if not raw:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text


def _die_with_parent() -> Optional[Any]:
    """On Linux, when started from the main thread: a `preexec_fn` that asks
    the kernel to SIGTERM the server when this process dies, however it dies
    (`kill -9` of a test run included), so no server outlives its tests.
    (The signal follows the spawning *thread*, hence the main thread only.)"""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _pump(stream: Any, lines: "queue.Queue[Optional[str]]") -> None:
    """Hand over the first stdout line, then keep the pipe drained."""
    first = True
    for raw in iter(stream.readline, b""):
        if first:
            lines.put(raw.decode(errors="replace").rstrip("\r\n"))
            first = False
    if first:
        lines.put(None)
    stream.close()


def _segment(value: str) -> str:
    if not value:
        raise ValueError("an empty path segment")
    return urllib.parse.quote(value, safe="$@:+")


def _error_of(text: str) -> "tuple[Optional[str], Optional[str]]":
    """The code and message of an error answer, in any of the envelopes."""
    try:
        doc = json.loads(text)
    except ValueError:
        return None, None
    if not isinstance(doc, dict):
        return None, None
    if isinstance(doc.get("error"), dict):
        inner = doc["error"]
        return inner.get("code"), inner.get("message")
    return doc.get("error_code"), doc.get("error_msg") or doc.get("message")
