"""Helpers of test_openapi.py: the OpenAPI document, the router's routes as the Rust sources
declare them, raw HTTP with any method, and the schemathesis run.

Nothing here skips: a missing schemathesis, an unreadable source file or a document that does
not parse fail the test that needs them.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OPENAPI_PATH = REPO / "openapi.json"
# A service's admin routes live beside its API, in files named admin.rs (mounted under /_mock).
API_SOURCES = sorted(p for p in (REPO / "src" / "api").rglob("*.rs") if p.name != "admin.rs")
ADMIN_SOURCES = [REPO / "src" / "control" / "admin.rs"] + sorted((REPO / "src" / "api").rglob("admin.rs"))
ADMIN_PREFIX = "/_mock"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Values that fill path templates when a parameter has no `example` in the document: the
# embedded default fixture's project, image, namespace, repository and tag.
SAMPLE_PATH_VALUES = {
    "project_id": "fd73a4a14a4a4dfb9771a8475e5198ea",
    "image_id": "67e17426-359e-49fb-aa12-0bd1756ec240",
    "key": "key9",
    "namespace": "namespace",
    "repository": "busybox",
    "tag": "latest",
    "id": "1",
}

# The gateway's answer for "no such API": 404 APIGW.0101 (unknown path or method; 405 on /_mock).
NO_ROUTE_CODE = "APIGW.0101"

# schemathesis settings (see test_schemathesis_finds_no_failures).
SCHEMATHESIS_EXCLUDED_OPERATIONS = (
    "MockAddFault",   # POST /_mock/faults: injects failures into every later request, by design
    "MockPutState",   # PUT /_mock/state: replaces the whole store, by design
)
SCHEMATHESIS_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
SCHEMATHESIS_MAX_EXAMPLES = 50
SCHEMATHESIS_MIN_CASES = 1000
SCHEMATHESIS_TIMEOUT_S = 300


def load_openapi() -> dict:
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


def spec_operations(doc: dict) -> dict:
    """{path template: {METHOD, ...}} of the document."""
    return {path: {m.upper() for m in item if m in HTTP_METHODS} for path, item in doc["paths"].items()}


# ---------------------------------------------------------------------------
# Routes, from the Rust sources
# ---------------------------------------------------------------------------
_ROUTE_RE = re.compile(r"\.route\(\s*\"([^\"]+)\"", re.S)


def _routes_in(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    # Drop comment lines (`//`, `///`, `//!`) so a route in a comment or a doc example does not count.
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return _ROUTE_RE.findall(text)


def source_routes() -> set:
    """Every path template routed by src/api/**/*.rs and the admin.rs files (src/control/, src/api/**/) (admin under /_mock)."""
    routes = set()
    for source in API_SOURCES:
        routes.update(_routes_in(source))
    for source in ADMIN_SOURCES:
        routes.update(ADMIN_PREFIX + r for r in _routes_in(source))
    return routes


# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------
def fill_path(template: str, examples: dict | None = None) -> str:
    """The template with each {param} replaced by its example (or SAMPLE_PATH_VALUES), encoded."""
    examples = examples or {}

    def value(match):
        name = match.group(1)
        raw = examples.get(name, SAMPLE_PATH_VALUES.get(name))
        if raw is None:
            raise AssertionError("no sample value for path parameter {%s} of %s" % (name, template))
        return urllib.parse.quote(str(raw), safe="")

    return re.sub(r"\{([^}]+)\}", value, template)


def path_examples(doc: dict, path: str, method: str) -> dict:
    """{param name: example} of one operation's path parameters (path-item and operation level)."""
    item = doc["paths"][path]
    params = list(item.get("parameters", [])) + list(item[method.lower()].get("parameters", []))
    out = {}
    for param in params:
        if "$ref" in param:
            param = resolve(doc, param["$ref"])
        if param.get("in") == "path" and "example" in param:
            out[param["name"]] = param["example"]
    return out


def resolve(doc: dict, pointer: str):
    assert pointer.startswith("#/"), pointer
    node = doc
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def request(base: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """Send one request; returns (status, headers, parsed JSON body or None). Errors are returned."""
    req = urllib.request.Request(base + path, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, got, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, got, raw = error.code, error.headers, error.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return status, got, parsed, raw


def is_no_route(status: int, body) -> bool:
    """The gateway's 'this API does not exist' answer (fallback 404 or 405)."""
    return status in (404, 405) and isinstance(body, dict) and body.get("error_code") == NO_ROUTE_CODE


# ---------------------------------------------------------------------------
# schemathesis
# ---------------------------------------------------------------------------
def require_schemathesis() -> str:
    """The installed schemathesis version; fails (never skips) when it is not importable."""
    try:
        import schemathesis  # noqa: F401
        from importlib.metadata import version
        return version("schemathesis")
    except ImportError as exc:
        pytest.fail("schemathesis is not installed (%s); install sdk-tests/requirements.txt "
                    "(bash sdk-tests/run.sh does it)" % exc, pytrace=False)


def run_schemathesis(base_url: str, workdir: Path):
    """Run `schemathesis run` on the repository's openapi.json against `base_url`.

    Deterministic (`--generation-deterministic`: derandomized Hypothesis, no example database),
    one worker so the order of requests is fixed too. Returns (exit code, console output,
    parsed JSON report, seconds)."""
    report_dir = workdir / "report"
    argv = [sys.executable, "-m", "schemathesis.cli", "run", str(OPENAPI_PATH),
            "--url", base_url,
            "--checks", ",".join(SCHEMATHESIS_CHECKS),
            "--max-examples", str(SCHEMATHESIS_MAX_EXAMPLES),
            "--generation-deterministic",
            "--workers", "1",
            "--request-timeout", "10",
            # Health checks are about Hypothesis' speed; too_slow depends on the machine's load.
            "--suppress-health-check", "too_slow",
            "--no-color",
            "--report", "json",
            "--report-dir", str(report_dir)]
    for operation_id in SCHEMATHESIS_EXCLUDED_OPERATIONS:
        argv += ["--exclude-operation-id", operation_id]
    started = time.monotonic()
    # cwd: a scratch directory, so no stray schemathesis.toml or .hypothesis/ is read or written.
    result = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=SCHEMATHESIS_TIMEOUT_S)
    elapsed = time.monotonic() - started
    reports = sorted(report_dir.glob("*.json"))
    report = json.loads(reports[-1].read_text()) if reports else None
    return result.returncode, result.stdout + result.stderr, report, elapsed
