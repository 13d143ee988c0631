"""The user-facing examples under examples/, each one run, not just read.

- examples/python: both scripts, as subprocesses, against a fresh strict-auth server.
- examples/node: `npm ci` (once per session) and the official Node SWR SDK example, and
  `sdk_test.js` (every operation the Node SWR SDK offers for the emulated routes), in
  strict auth; the journal shows what the Node signer sent.
- examples/rust_in_process.rs: `cargo run --example rust_in_process`.
- examples/ci: the Compose file and the testcontainers snippet run for real against the
  built image in image-tests/test_recipes.py (scripts/test-image: podman-compose, and
  podman's Docker-compatible socket). Here they are checked against the binary and the
  Dockerfile (env var names, flags, port 8080, health check, wait line), which fails
  fast, before any image is built. The GitHub Actions workflow cannot run here: it is
  checked the same way, its test step is run against a server with the service's
  environment, and actionlint lints it (scripts/test).

Missing node, npm or cargo fails these tests; nothing here skips.
"""
from __future__ import annotations

import ast
import json
import os
import py_compile
import re
import shlex
import sys
import urllib.request

import pytest
from huaweicloudsdkims.v2 import AddImageTagRequest, AddImageTagRequestBody, ResourceTag

from examples_support import (CI_EXAMPLES, CLIENT_ENV_VARS, CONTAINER_PORT, ENV_VAR_RE, NODE_EXAMPLE,
                              PYTHON_EXAMPLES, REPO, dockerfile_env, dockerfile_healthcheck, env_with,
                              python_bin_dir, require_tool, run, server_env_vars, server_flags)
from support import admin_put_swr_tag, make_ims_client, mock_binary, raw_get, start_server, stop_server

try:
    import yaml  # PyYAML: a dependency of huaweicloudsdkcore, so present wherever the SDKs are
except ImportError:  # pragma: no cover - only when the environment is broken
    yaml = None

PYTHON_SCRIPTS = ["ims_tags.py", "swr_tags.py"]
AUTH_MODES = {"off", "lenient", "strict"}


def load_yaml(path):
    if yaml is None:
        pytest.fail("PyYAML is not importable (it comes with huaweicloudsdkcore); install sdk-tests/requirements.txt",
                    pytrace=False)
    return yaml.safe_load(path.read_text())


def journal(server):
    status, _, _, body = raw_get(server, "/_mock/requests")
    assert status == 200, body
    return body["requests"]


@pytest.fixture
def server():
    """A fresh default-fixture server (strict auth) owned by one test: the examples write."""
    started = start_server()
    yield started
    stop_server(started)


def run_python_example(script, url, **kw):
    return run([sys.executable, PYTHON_EXAMPLES / script], cwd=PYTHON_EXAMPLES,
               env=env_with(IMS_SWR_MOCK_URL=url), **kw)


# ---------------------------------------------------------------------------
# examples/python
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("script", PYTHON_SCRIPTS)
def test_python_example_runs_against_a_strict_server(script, server):
    result = run_python_example(script, server.uri)
    assert result.stdout.rstrip().endswith("OK"), result.stdout
    # Strict mode verified every request's AK/SK signature: nothing was turned away.
    requests = journal(server)
    assert requests, "the example sent no request"
    assert all(r["status"] != 401 for r in requests), requests
    assert all("Access=AKTEST" in r["headers"].get("authorization", "") for r in requests)


@pytest.mark.parametrize("script", PYTHON_SCRIPTS)
def test_python_example_fails_on_an_unexpected_answer(script, server):
    """The scripts really check: once the seed has changed, they exit non-zero."""
    admin_put_swr_tag(server, "namespace", "busybox", "extra")
    make_ims_client(server).add_image_tag(AddImageTagRequest(
        image_id="67e17426-359e-49fb-aa12-0bd1756ec240",
        body=AddImageTagRequestBody(tag=ResourceTag(key="extra", value="x"))))
    result = run_python_example(script, server.uri, check=False)
    assert result.returncode == 1, result.stdout
    assert "AssertionError" in result.stderr and "is the server fresh?" in result.stderr, result.stderr


def test_python_requirements_pin_the_suites_sdk_versions():
    def pins(path):
        found = re.finditer(r"^(huaweicloudsdk\w+)==(\S+)", path.read_text(), re.M)
        return {m.group(1).lower(): m.group(2) for m in found}

    ours, suite = pins(PYTHON_EXAMPLES / "requirements.txt"), pins(REPO / "sdk-tests" / "requirements.txt")
    assert set(ours) == {"huaweicloudsdkcore", "huaweicloudsdkims", "huaweicloudsdkswr"}
    assert ours == {k: suite[k] for k in ours}, (ours, suite)


def test_python_readme_says_how_to_run_them():
    text = (PYTHON_EXAMPLES / "README.md").read_text()
    for needle in ["requirements.txt", "IMS_SWR_MOCK_URL", *PYTHON_SCRIPTS]:
        assert needle in text, needle


# ---------------------------------------------------------------------------
# examples/node
# ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def node_modules():
    """`npm ci` into examples/node, once per session, from the committed package-lock.json."""
    require_tool("node")
    npm = require_tool("npm")
    run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_EXAMPLE, timeout=180)
    return NODE_EXAMPLE / "node_modules"


def test_node_package_files_are_consistent():
    package = json.loads((NODE_EXAMPLE / "package.json").read_text())
    lock = json.loads((NODE_EXAMPLE / "package-lock.json").read_text())
    deps = package["dependencies"]
    assert set(deps) >= {"@huaweicloud/huaweicloud-sdk-core", "@huaweicloud/huaweicloud-sdk-swr", "uuid"}
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in deps.values()), "pin exact versions: %r" % deps
    assert lock["packages"][""]["dependencies"] == deps
    for name, version in deps.items():
        assert lock["packages"]["node_modules/" + name]["version"] == version, name
    assert "node_modules/" in (NODE_EXAMPLE / ".gitignore").read_text().split()


def test_node_example_runs_against_a_strict_server(node_modules, server):
    node = require_tool("node")
    result = run([node, "example.js"], cwd=NODE_EXAMPLE, env=env_with(IMS_SWR_MOCK_URL=server.uri), timeout=60)
    assert result.stdout.rstrip().endswith("OK"), result.stdout
    requests = journal(server)
    calls = [(r["method"], r["route"], r["status"]) for r in requests]
    v2 = "/v2/manage/namespaces/{namespace}/repos/{repository}/tags"
    assert calls == [("GET", v2, 200), ("POST", v2, 201), ("GET", v2, 200),
                     ("DELETE", v2 + "/{tag}", 204), ("GET", v2, 200), ("DELETE", v2 + "/{tag}", 404)], calls
    for r in requests:
        authorization = r["headers"]["authorization"]
        # The Node signer's own form: the User-Agent is not signed. Strict mode verified it.
        assert authorization.startswith("SDK-HMAC-SHA256 Access=AKTEST, "
                                        "SignedHeaders=content-type;host;x-project-id;x-sdk-date, "), authorization


def test_node_sdk_runs_every_swr_operation_it_offers(node_modules):
    """examples/node/sdk_test.js: ListRepositoryTags, CreateRepoTag and DeleteRepoTag (all the
    Node SWR SDK offers for the emulated routes) with their parameters and error paths, against
    a fresh strict server. Each check prints `ok - ...`."""
    started = start_server()  # strict, default fixture
    try:
        result = run([require_tool("node"), "sdk_test.js"], cwd=NODE_EXAMPLE,
                     env=env_with(IMS_SWR_MOCK_URL=started.uri), timeout=120, check=False)
        calls = {(r["method"], r["route"]) for r in journal(started)}
    finally:
        stop_server(started)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and result.stdout.rstrip().endswith("OK"), output
    assert "not ok" not in result.stdout, output
    assert sum(line.startswith("ok - ") for line in result.stdout.splitlines()) >= 20, output
    v2 = "/v2/manage/namespaces/{namespace}/repos/{repository}/tags"
    assert {("GET", v2), ("POST", v2), ("DELETE", v2 + "/{tag}")} <= calls, calls


def test_node_example_fails_against_a_wrong_server(node_modules, tmp_path):
    """With credentials the server does not know, the example exits non-zero."""
    fixture = tmp_path / "nocreds.json"
    fixture.write_text(json.dumps({"swr": {"namespaces": [{"name": "namespace", "repositories": [
        {"name": "busybox", "tags": [{"tag": "latest"}]}]}]}}))
    started = start_server("--fixtures", str(fixture))  # strict, and no AKTEST in this fixture
    try:
        result = run([require_tool("node"), "example.js"], cwd=NODE_EXAMPLE,
                     env=env_with(IMS_SWR_MOCK_URL=started.uri), timeout=60, check=False)
    finally:
        stop_server(started)
    assert result.returncode != 0
    assert "APIGW.0301" in result.stdout + result.stderr


# ---------------------------------------------------------------------------
# examples/rust_in_process.rs
# ---------------------------------------------------------------------------
def test_rust_in_process_example_runs():
    cargo = require_tool("cargo")
    argv = [cargo, "run", "-q", "--offline", "--locked", "--example", "rust_in_process"]
    result = run(argv, timeout=900, check=False)
    if result.returncode != 0 and "offline" in result.stderr:  # a dependency not yet downloaded
        result = run(argv[:3] + argv[4:], timeout=900, check=False)
    assert result.returncode == 0, "cargo run --example rust_in_process failed:\n%s\n%s" % (result.stdout,
                                                                                            result.stderr)
    assert result.stdout.rstrip().endswith("OK"), result.stdout
    assert "SWR v3 marker walk" in result.stdout


# ---------------------------------------------------------------------------
# examples/ci: facts of the Dockerfile and the binary that the snippets rely on
# ---------------------------------------------------------------------------
def test_the_dockerfile_serves_on_8080_with_the_healthcheck_subcommand():
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^EXPOSE %d$" % CONTAINER_PORT, text, re.M)
    assert dockerfile_env()["IMS_SWR_MOCK_PORT"] == str(CONTAINER_PORT)
    command = dockerfile_healthcheck()
    assert command == ["/usr/local/bin/ims-swr-mock", "healthcheck"], command


def test_the_healthcheck_subcommand_tells_up_from_down(server):
    binary = mock_binary()
    # As the image runs it: no flags, the port from IMS_SWR_MOCK_PORT.
    assert run([binary, "healthcheck"], env=env_with(IMS_SWR_MOCK_PORT=server.port), check=False).returncode == 0
    port = server.port
    stop_server(server)
    assert run([binary, "healthcheck"], env=env_with(IMS_SWR_MOCK_PORT=port), check=False).returncode == 1


def check_server_env(env: dict):
    """Every key is an env var of the binary, and the values it documents choices for are valid."""
    known = server_env_vars()
    assert known, "no [env: ...] in --help"
    for key, value in env.items():
        assert key in known, "%s is not an environment variable of ims-swr-mock (--help has %s)" % (key, sorted(known))
    if "IMS_SWR_MOCK_AUTH" in env:
        assert env["IMS_SWR_MOCK_AUTH"] in AUTH_MODES
    if "IMS_SWR_MOCK_PORT" in env:
        assert str(env["IMS_SWR_MOCK_PORT"]) == str(CONTAINER_PORT)


def check_mentioned_env_vars(path):
    """Env var names anywhere in the file (comments too) exist, or are the examples' own."""
    known = server_env_vars() | CLIENT_ENV_VARS
    unknown = set(ENV_VAR_RE.findall(path.read_text())) - known
    assert not unknown, "%s mentions unknown env vars %s" % (path.name, sorted(unknown))


def check_flags(words):
    flags = server_flags()
    for word in words:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in flags, "%s is not a flag of ims-swr-mock" % word


# ---------------------------------------------------------------------------
# examples/ci/docker-compose.yml
# ---------------------------------------------------------------------------
def compose_service():
    doc = load_yaml(CI_EXAMPLES / "docker-compose.yml")
    assert list(doc["services"]) == ["ims-swr-mock"]
    return doc["services"]["ims-swr-mock"]


def compose_environment(service) -> dict:
    env = service["environment"]
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_compose_file_matches_the_binary_and_the_dockerfile():
    service = compose_service()
    assert (CI_EXAMPLES / service["build"]["context"] / "Dockerfile").is_file()
    assert service["ports"] == ["%d:%d" % (CONTAINER_PORT, CONTAINER_PORT)]
    env = compose_environment(service)
    check_server_env(env)
    assert env["IMS_SWR_MOCK_AUTH"] == "strict"
    assert env["IMS_SWR_MOCK_FIXTURES"] == "/fixtures"
    assert service["volumes"] == ["./fixtures:/fixtures:ro"]
    assert (CI_EXAMPLES / "fixtures").is_dir()
    check_flags(shlex.split(service["command"]) if isinstance(service.get("command"), str)
                else service.get("command") or [])
    # The same exec-form command as the Dockerfile's HEALTHCHECK (distroless: no shell form).
    assert service["healthcheck"]["test"] == ["CMD", *dockerfile_healthcheck()]
    check_mentioned_env_vars(CI_EXAMPLES / "docker-compose.yml")


# ---------------------------------------------------------------------------
# examples/ci/github-actions.yml
# ---------------------------------------------------------------------------
DOCKER_HEALTH_OPTIONS = {"--health-interval", "--health-timeout", "--health-retries", "--health-start-period",
                         "--health-start-interval"}


def workflow_job():
    doc = load_yaml(CI_EXAMPLES / "github-actions.yml")
    jobs = doc["jobs"]
    assert len(jobs) == 1
    return next(iter(jobs.values()))


def test_github_actions_service_matches_the_binary_and_the_dockerfile():
    job = workflow_job()
    service = job["services"]["ims-swr-mock"]
    assert re.fullmatch(r"[\w./-]+/ims-swr-mock:[\w.-]+", service["image"]), service["image"]
    assert service["ports"] == ["%d:%d" % (CONTAINER_PORT, CONTAINER_PORT)]
    check_server_env({k: str(v) for k, v in service["env"].items()})
    options = shlex.split(service["options"])
    names = [o for o in options if o.startswith("--")]
    assert names and set(names) <= DOCKER_HEALTH_OPTIONS, names
    # The runner waits on the image's own HEALTHCHECK (exec form). A --health-cmd would run
    # through /bin/sh, which the distroless image lacks.
    assert "--health-cmd" not in options
    assert dockerfile_healthcheck()[1:] == ["healthcheck"]
    check_mentioned_env_vars(CI_EXAMPLES / "github-actions.yml")
    for step in job["steps"]:
        for path in re.findall(r"examples/[\w./-]+", step.get("run", "")):
            assert (REPO / path).is_file(), path
        url = step.get("env", {}).get("IMS_SWR_MOCK_URL")
        if url:
            assert url == "http://127.0.0.1:%d" % CONTAINER_PORT


def test_github_actions_test_step_passes_against_the_service_configuration(monkeypatch):
    """Run the workflow's test step, as written, against a server with the service's env."""
    job = workflow_job()
    for key, value in job["services"]["ims-swr-mock"]["env"].items():
        monkeypatch.setenv(key, str(value))
    steps = [s for s in job["steps"] if "IMS_SWR_MOCK_URL" in s.get("env", {})]
    assert len(steps) == 1
    started = start_server(auth=())
    try:
        env = env_with(**{k: str(v) for k, v in steps[0]["env"].items()})
        env.update(IMS_SWR_MOCK_URL=started.uri, PATH=python_bin_dir() + os.pathsep + env["PATH"])
        result = run(["bash", "-euo", "pipefail", "-c", steps[0]["run"]], env=env)
        assert result.stdout.count("\nOK") == 2, result.stdout
        assert all(r["status"] != 401 for r in journal(started))
    finally:
        stop_server(started)


# ---------------------------------------------------------------------------
# examples/ci/testcontainers_fixture.py
# ---------------------------------------------------------------------------
SNIPPET = CI_EXAMPLES / "testcontainers_fixture.py"


def snippet_constants():
    tree = ast.parse(SNIPPET.read_text())
    return {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name) and isinstance(node.value, ast.Constant)}


def test_testcontainers_snippet_compiles_and_waits_for_the_listening_line(tmp_path):
    py_compile.compile(str(SNIPPET), cfile=str(tmp_path / "snippet.pyc"), doraise=True)
    constants = snippet_constants()
    assert constants["PORT"] == CONTAINER_PORT
    assert constants["LISTENING_LINE"] == "Listening at"
    text = SNIPPET.read_text()
    assert "LogMessageWaitStrategy(LISTENING_LINE)" in text and "/_mock/health" in text
    for key in re.findall(r'\.with_env\("([^"]+)"', text):
        assert key in server_env_vars(), key
    check_mentioned_env_vars(SNIPPET)
    # (That the container's stdout really carries the line: image-tests/test_recipes.py waits on it.)


def test_ci_fixtures_folder_is_a_valid_fixture():
    started = start_server("--include-default-fixture", "--fixtures", str(CI_EXAMPLES / "fixtures"))
    stop_server(started)


def test_health_route_answers_for_the_http_wait_strategy(server):
    with urllib.request.urlopen(server.uri + "/_mock/health", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["status"] == "ok"
