"""The container recipes of examples/ci/, run as written against the image:

- docker-compose.yml under podman-compose (PyPI; Debian's 1.0.3 turns an exec-form
  ["CMD", ...] healthcheck into `/bin/sh -c`, which a distroless image cannot run);
- testcontainers_fixture.py through podman's Docker-compatible API socket
  (`podman system service`), with Ryuk off, as a script and under pytest.

Both use the image under the name the recipes give it, ims-swr-mock:latest.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, http_get, podman, podman_path

CI = REPO / "examples" / "ci"
PYTHON_EXAMPLES = REPO / "examples" / "python"
RECIPE_IMAGE = "localhost/ims-swr-mock:latest"


@pytest.fixture(scope="module")
def recipe_image(image):
    podman("tag", image, RECIPE_IMAGE)
    return RECIPE_IMAGE


def run(argv, *, cwd=REPO, env=None, timeout=120, check=True):
    try:
        result = subprocess.run([str(a) for a in argv], cwd=str(cwd), env=env, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        pytest.fail("timed out after %ss: %s\n%s\n%s" % (timeout, " ".join(map(str, argv)), error.stdout,
                                                        error.stderr), pytrace=False)
    if check and result.returncode != 0:
        pytest.fail("exit %d: %s\nstdout:\n%s\nstderr:\n%s" % (result.returncode, " ".join(map(str, argv)),
                                                             result.stdout, result.stderr), pytrace=False)
    return result


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


# ---------------------------------------------------------------------------
# examples/ci/docker-compose.yml
# ---------------------------------------------------------------------------
def podman_compose() -> str:
    path = shutil.which("podman-compose", path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail("podman-compose is not installed in %s (image-tests/requirements.txt)"
                    % Path(sys.executable).parent, pytrace=False)
    return path


def test_the_compose_example_runs_under_podman_compose(recipe_image):
    compose = [podman_compose(), "--podman-path", podman_path(), "-f", CI / "docker-compose.yml"]
    assert port_is_free(8080), "the compose example publishes 8080, which is taken on this machine"
    run([*compose, "up", "-d"], timeout=300)
    try:
        names = podman("ps", "--filter", "label=com.docker.compose.project=ims-swr-mock-example",
                       "--format", "{{.Names}}").stdout.split()
        assert len(names) == 1, names
        # Healthy by the compose file's own (exec-form) healthcheck, run the way podman runs it.
        deadline = time.monotonic() + 30
        while True:
            health = podman("healthcheck", "run", names[0], check=False)
            if health.returncode == 0:
                break
            assert time.monotonic() < deadline, "not healthy within 30 s: %s %s\n%s" % (
                health.stdout, health.stderr, podman("logs", names[0], check=False).stderr)
            time.sleep(0.5)
        url = "http://127.0.0.1:8080"
        # The mounted ./fixtures folder serves next to the default fixture (strict auth).
        assert http_get(url + "/v2/manage/namespaces/ci/repos/app/tags")[0] == 401
        status, headers, _ = http_get(url + "/v2/manage/namespaces/ci/repos/app/tags", {"X-Auth-Token": "TOKENTEST"})
        assert (status, headers["Content-Range"]) == (200, "0-2/2")
        # The file's usage lines: the Python examples against the service.
        env = dict(os.environ, IMS_SWR_MOCK_URL=url)
        for script in ("ims_tags.py", "swr_tags.py"):
            result = run([sys.executable, PYTHON_EXAMPLES / script], env=env, timeout=120)
            assert result.stdout.rstrip().endswith("OK"), result.stdout
    finally:
        run([*compose, "down", "-t", "5"], timeout=120, check=False)


# ---------------------------------------------------------------------------
# examples/ci/testcontainers_fixture.py
# ---------------------------------------------------------------------------
def api_ping(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(str(sock))
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.") and True
    except OSError:
        return False


@pytest.fixture(scope="module")
def docker_host(tmp_path_factory):
    """podman's Docker-compatible API on a unix socket, for the test's lifetime."""
    folder = tmp_path_factory.mktemp("podman-api")
    sock = folder / "podman.sock"
    log = (folder / "service.log").open("w")
    service = subprocess.Popen([podman_path(), "system", "service", "--time=0", "unix://%s" % sock],
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (sock.exists() and api_ping(sock)):
            if service.poll() is not None or time.monotonic() > deadline:
                pytest.fail("podman system service did not come up:\n%s" % (folder / "service.log").read_text(),
                            pytrace=False)
            time.sleep(0.2)
        yield "unix://%s" % sock
    finally:
        service.terminate()
        try:
            service.wait(timeout=10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        log.close()


def recipe_env(docker_host) -> dict:
    env = dict(os.environ, DOCKER_HOST=docker_host, TESTCONTAINERS_RYUK_DISABLED="true",
               PYTHONDONTWRITEBYTECODE="1")
    if os.path.exists("/.dockerenv"):
        # This suite itself may run in a container (CI machines do): testcontainers then
        # looks for the containers it starts on a Docker gateway, which podman's socket
        # does not describe. They are on this machine's ports: say so.
        env["TESTCONTAINERS_CONNECTION_MODE"] = "docker_host"
    return env


def test_the_testcontainers_example_runs_as_a_script(recipe_image, docker_host):
    result = run([sys.executable, "testcontainers_fixture.py"], cwd=CI, env=recipe_env(docker_host),
                 timeout=180)
    assert result.stdout.rstrip().endswith("OK"), result.stdout


def test_the_testcontainers_example_runs_under_pytest(recipe_image, docker_host, tmp_path):
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", tmp_path,
                  "testcontainers_fixture.py"], cwd=CI, env=recipe_env(docker_host), timeout=180)
    assert re.search(r"\b1 passed\b", result.stdout), result.stdout
