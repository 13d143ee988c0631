"""Helpers for the container checks: podman, one container per test, readiness.

scripts/test-image builds the image once and runs this suite with:
  IMS_SWR_MOCK_IMAGE       the image under test (required; nothing here builds it)
  IMS_SWR_MOCK_IMAGE_SIZE  its size in bytes, as podman reports it
  CONTAINERS_CONF, CONTAINERS_STORAGE_CONF  the project-local podman configuration
Missing podman or a missing image fails the tests; nothing here skips.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT = "fd73a4a14a4a4dfb9771a8475e5198ea"  # the seed's IMS project (README)
SEED_PATH = "/v2/%s/images/tags" % PROJECT
# The README's seed answer, byte for byte.
SEED_BODY = '{"tags":[{"key":"key9","values":["value9"]},{"key":"key8","values":[""]},{"key":"key3","values":["valueXX","value3"]}]}'
NONROOT = 65532


def podman_path() -> str:
    path = shutil.which("podman")
    if path is None:
        pytest.fail("podman is not on PATH (scripts/test-image installs it)", pytrace=False)
    return path


def podman(*args, timeout=60, check=True) -> subprocess.CompletedProcess:
    """Runs podman; fails the test with both streams on a non-zero exit (when `check`)."""
    argv = [podman_path(), *map(str, args)]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        pytest.fail("timed out after %ss: %s\n%s\n%s" % (timeout, " ".join(argv), error.stdout, error.stderr),
                    pytrace=False)
    if check and result.returncode != 0:
        pytest.fail("exit %d: %s\nstdout:\n%s\nstderr:\n%s"
                    % (result.returncode, " ".join(argv), result.stdout, result.stderr), pytrace=False)
    return result


@pytest.fixture(scope="session")
def image() -> str:
    name = os.environ.get("IMS_SWR_MOCK_IMAGE")
    if not name:
        pytest.fail("IMS_SWR_MOCK_IMAGE is not set: run these checks through scripts/test-image", pytrace=False)
    podman("image", "exists", name)
    return name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Container:
    name: str
    port: int
    scheme: str = "http"
    args: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def inspect(self, template: str) -> str:
        return podman("inspect", "--format", template, self.name).stdout.strip()

    def wait_listening(self, timeout: float = 30.0, after: int = 0) -> None:
        """Waits for the `after`+1-th `Listening at` line (one per start of the container)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.logs().count("Listening at") > after:
                return
            if self.inspect("{{.State.Status}}") in ("exited", "stopped"):
                pytest.fail("container %s exited before listening:\n%s" % (self.name, self.logs()), pytrace=False)
            time.sleep(0.1)
        pytest.fail("no `Listening at` line within %ss:\n%s" % (timeout, self.logs()), pytrace=False)


@pytest.fixture
def run_container(image):
    """Starts containers of the image (detached, the port published on 127.0.0.1); all
    removed at the end of the test."""
    started = []

    def start(*args, podman_args=(), scheme="http", wait=True) -> Container:
        name = "ims-swr-mock-test-%s" % uuid.uuid4().hex[:12]
        port = free_port()
        podman("run", "-d", "--name", name, "-p", "127.0.0.1:%d:8080" % port, *podman_args, image, *args)
        container = Container(name, port, scheme, list(args))
        started.append(container)
        if wait:
            container.wait_listening()
        return container

    yield start
    for container in started:
        podman("rm", "--force", "--time", "0", container.name, check=False, timeout=60)


def http_get(url: str, headers=None, timeout=10, context=None):
    """(status, headers, body text) of a GET; HTTP errors are answers too."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def http_send(method: str, url: str, body=None, headers=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def sdk_python() -> str:
    """The interpreter running this suite: the SDK venv, which has the official SDKs."""
    import sys
    return sys.executable
