"""Helpers for test_examples.py: paths, subprocesses, the binary's --help, and a stand-in
for testcontainers-python that runs the local binary instead of a Docker container.

No Docker engine runs where this suite runs, so the container snippets under examples/ci/
are checked statically, and then run for real against the binary with the configuration
they declare (environment, fixtures, port, wait line).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from support import mock_binary

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PYTHON_EXAMPLES = EXAMPLES / "python"
NODE_EXAMPLE = EXAMPLES / "node"
CI_EXAMPLES = EXAMPLES / "ci"

# Environment variables that the examples read themselves (client side), not the server.
CLIENT_ENV_VARS = {"IMS_SWR_MOCK_URL", "IMS_SWR_MOCK_IMAGE", "IMS_SWR_MOCK_BIN"}
ENV_VAR_RE = re.compile(r"\bIMS_SWR_MOCK_[A-Z0-9_]+\b")
CONTAINER_PORT = 8080


def require_tool(name: str) -> str:
    """Path of an executable on PATH; fails (never skips) the test when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail("`%s` is not on PATH; the examples' tests need it (install it, do not skip)" % name,
                    pytrace=False)
    return path


def run(argv, *, cwd=REPO, env=None, timeout=120, check=True) -> subprocess.CompletedProcess:
    """Run a command, capture text output, and fail the test with both streams on a non-zero exit."""
    try:
        result = subprocess.run([str(a) for a in argv], cwd=str(cwd), env=env, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        pytest.fail("timed out after %ss: %s\nstdout:\n%s\nstderr:\n%s"
                    % (timeout, " ".join(map(str, argv)), error.stdout, error.stderr), pytrace=False)
    if check and result.returncode != 0:
        pytest.fail("exit %d: %s\nstdout:\n%s\nstderr:\n%s"
                    % (result.returncode, " ".join(map(str, argv)), result.stdout, result.stderr), pytrace=False)
    return result


def env_with(**extra) -> dict:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@lru_cache(maxsize=None)
def server_help() -> str:
    """`ims-swr-mock --help` plus the help of its subcommands."""
    binary = mock_binary()
    parts = [run([binary, "--help"]).stdout]
    for sub in ("healthcheck", "generate-fixture"):
        parts.append(run([binary, sub, "--help"]).stdout)
    return "\n".join(parts)


def server_env_vars() -> set:
    """Every `[env: IMS_SWR_MOCK_...]` the binary documents."""
    return set(re.findall(r"\[env: (IMS_SWR_MOCK_[A-Z0-9_]+)", server_help()))


def server_flags() -> set:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", server_help()))


def dockerfile_healthcheck() -> list:
    """The exec-form command of the Dockerfile's HEALTHCHECK, e.g. ["/usr/local/bin/ims-swr-mock", "healthcheck"]."""
    text = (REPO / "Dockerfile").read_text()
    match = re.search(r"^HEALTHCHECK\b(?:[^\n]*\\\n)*[^\n]*?\bCMD\s+(\[.*?\])\s*$", text, re.M)
    assert match, "no exec-form HEALTHCHECK ... CMD [...] in the Dockerfile"
    return json.loads(match.group(1))


def dockerfile_env() -> dict:
    """ENV of the Dockerfile's final stage (KEY=VALUE pairs, continuation lines joined)."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    final = text[text.rfind("\nFROM "):]
    env = {}
    for line in re.findall(r"^ENV\s+(.*)$", final, re.M):
        for key, value in re.findall(r"(\w+)=(\S+)", line):
            env[key] = value
    return env


def python_bin_dir() -> str:
    """The folder of the interpreter running the suite (the SDK venv): its `python` has the SDKs."""
    return str(Path(sys.executable).parent)


# ---------------------------------------------------------------------------
# A stand-in `testcontainers` package
# ---------------------------------------------------------------------------
# It implements exactly the testcontainers-python 4.15 API the snippet may use (checked
# against that release: DockerContainer(image).with_env/with_exposed_ports/waiting_for,
# the context manager, get_container_host_ip, get_exposed_port; LogMessageWaitStrategy and
# HttpWaitStrategy with with_startup_timeout/for_status_code) and nothing else, so a call
# the real library lacks fails here too. "Starting the container" runs the local binary
# with the image's ENV, the container's env, port 0 instead of 8080, and waits for the
# strategy's log pattern on its stdout.
STUB_CONTAINER = r'''
import json, os, re, select, subprocess, time

STARTED = []


class DockerContainer:
    def __init__(self, image, **kwargs):
        assert not kwargs, "stub: unexpected DockerContainer kwargs %r" % (kwargs,)
        self.image, self.env, self.ports, self.strategy, self.process, self.port = image, {}, [], None, None, None

    def with_env(self, key, value):
        self.env[key] = value
        return self

    def with_exposed_ports(self, *ports):
        self.ports += [int(p) for p in ports]
        return self

    def waiting_for(self, strategy):
        self.strategy = strategy
        return self

    def start(self):
        assert self.strategy is not None, "stub: no wait strategy"
        env = dict(os.environ)
        env.update(json.loads(os.environ["STUB_IMAGE_ENV"]))  # the Dockerfile's ENV
        env.update(self.env)
        image_port = int(env["IMS_SWR_MOCK_PORT"])
        assert image_port in self.ports, "stub: port %d not exposed (%r)" % (image_port, self.ports)
        env.update(IMS_SWR_MOCK_BIND="127.0.0.1", IMS_SWR_MOCK_PORT="0")
        self.process = subprocess.Popen([os.environ["IMS_SWR_MOCK_BIN"]], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        STARTED.append(self)
        pattern = self.strategy.pattern
        deadline, buf = time.monotonic() + 10, b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
            text = buf.decode(errors="replace")
            if pattern.search(text):
                self.port = int(re.search(r"Listening at http://[^:]+:(\d+)", text).group(1))
                return self
        raise TimeoutError("stub: the wait pattern %r never matched stdout %r" % (pattern.pattern, buf))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def get_container_host_ip(self):
        return "127.0.0.1"

    def get_exposed_port(self, port):
        assert int(port) in self.ports, "stub: port %s was not exposed" % port
        return self.port
'''

STUB_WAIT = r'''
import re


class LogMessageWaitStrategy:
    def __init__(self, message, times=1, predicate_streams_and=False):
        self.pattern = message if isinstance(message, re.Pattern) else re.compile(message, re.MULTILINE)

    def with_startup_timeout(self, timeout):
        return self


class HttpWaitStrategy:
    def __init__(self, port, path="/"):
        self.port, self.path, self.codes = port, path, {200}

    def for_status_code(self, code):
        self.codes.add(code)
        return self

    def with_startup_timeout(self, timeout):
        return self
'''


def write_testcontainers_stub(root: Path) -> Path:
    package = root / "testcontainers"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core" / "__init__.py").write_text("")
    (package / "core" / "container.py").write_text(STUB_CONTAINER)
    (package / "core" / "wait_strategies.py").write_text(STUB_WAIT)
    return root
