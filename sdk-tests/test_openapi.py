"""The OpenAPI document (openapi.json, served at GET /_mock/openapi.json) against the server.

1. Sync, both ways: every operation of the document is routed, and every route of the Rust
   sources is in the document with exactly the methods the router answers (read from the
   `Allow` header of the gateway's 404 APIGW.0101 for an undefined method; a 405 on /_mock).
2. The served document is the repository's file, byte for byte.
3. schemathesis: >= 1,000 generated requests over every operation but the two that break the
   server on purpose (POST /_mock/faults, PUT /_mock/state), checking for 5xx and for
   responses (status, content type, headers, body) that the document does not describe.

These tests talk raw HTTP, not through the SDK; servers run with `--auth off` where the point is
to reach the handlers (the document's security is exercised by test_auth.py).
"""
from __future__ import annotations

import re

import pytest

from openapi_support import (OPENAPI_PATH, SCHEMATHESIS_EXCLUDED_OPERATIONS, SCHEMATHESIS_MIN_CASES, fill_path,
                             is_no_route, load_openapi, path_examples, request, require_schemathesis, resolve,
                             run_schemathesis, source_routes, spec_operations)
from support import start_server, stop_server

AUTH_OFF = ("--auth", "off")
README = OPENAPI_PATH.parent / "README.md"


@pytest.fixture(scope="module")
def doc():
    return load_openapi()


@pytest.fixture
def off_server():
    """A default-fixture server with auth off, owned by one test (the tests below write)."""
    server = start_server("--journal-size", "100", auth=AUTH_OFF)
    yield server
    stop_server(server)


def test_document_is_openapi_3_1_with_unique_operation_ids(doc):
    assert doc["openapi"] == "3.1.0"
    ids = [op["operationId"] for item in doc["paths"].values() for m, op in item.items() if isinstance(op, dict)
           and "operationId" in op]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    operations = spec_operations(doc)
    assert sum(len(methods) for methods in operations.values()) == len(ids), "every operation has an operationId"
    # axum answers HEAD wherever GET is routed; the document lists GET only.
    assert not [p for p, methods in operations.items() if "HEAD" in methods]


def test_document_validates_against_the_openapi_3_1_schema(doc):
    """The official OAS 3.1 JSON Schema (the copy schemathesis bundles), checked with jsonschema-rs."""
    require_schemathesis()
    import jsonschema_rs
    from schemathesis.specs.openapi.definitions import OPENAPI_31
    errors = [str(e) for e in jsonschema_rs.Draft202012Validator(OPENAPI_31).iter_errors(doc)]
    assert errors == []
    # Every $ref resolves.
    refs = re.findall(r'"\$ref": "([^"]+)"', OPENAPI_PATH.read_text(encoding="utf-8"))
    assert refs
    for pointer in set(refs):
        resolve(doc, pointer)


def test_every_sdk_operation_of_the_readme_has_its_operation_id(doc):
    """The README's operation table names the SDK operations; each is an operationId here."""
    ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op}
    rows = re.findall(r"^\| (?:IMS|SWR|IAM) \| `(\w+)`", README.read_text(encoding="utf-8"), re.M)
    assert len(rows) >= 17, rows
    assert sorted(set(rows) - ids) == []


def test_served_document_is_the_repository_file(off_server):
    status, headers, parsed, raw = request(off_server.uri, "GET", "/_mock/openapi.json")
    assert status == 200
    assert headers.get_content_type() == "application/json"
    assert raw == OPENAPI_PATH.read_bytes(), (
        "GET /_mock/openapi.json differs from openapi.json: rebuild the binary (cargo build) after editing it")
    assert parsed["openapi"] == "3.1.0"


def test_every_documented_operation_is_routed(doc, off_server):
    """Each (path, method) of the document, with sample values, reaches a handler: the answer is
    neither the gateway's 'no such API' 404 nor a 405."""
    unrouted = []
    checked = 0
    for path, methods in sorted(spec_operations(doc).items()):
        for method in sorted(methods):
            target = fill_path(path, path_examples(doc, path, method))
            body = b"{}" if method in ("POST", "PUT", "DELETE") else None
            headers = {"Content-Type": "application/json"} if body is not None else {}
            status, _, parsed, _ = request(off_server.uri, method, target, body, headers)
            checked += 1
            if status == 405 or is_no_route(status, parsed):
                unrouted.append("%s %s -> %s %s" % (method, target, status, parsed))
    assert checked >= 30
    assert unrouted == [], "documented but not routed:\n" + "\n".join(unrouted)


def test_every_route_is_documented_with_its_methods(doc, off_server):
    """Each `.route("…")` of src/api/**/*.rs and src/control/admin.rs is a path of the document, and the
    methods the router answers there (the `Allow` of the gateway's 404 for an undefined method,
    minus HEAD) are the documented ones."""
    routes = source_routes()
    documented = spec_operations(doc)
    assert len(routes) >= 20, "the route scanner found too few routes: %s" % sorted(routes)
    assert sorted(routes - set(documented)) == [], "routed but not documented"
    assert sorted(set(documented) - routes) == [], "documented but not in the router's sources"
    mismatches = []
    for path in sorted(routes):
        probe = next(m for m in ("PATCH", "TRACE", "OPTIONS") if m not in documented[path])
        status, headers, parsed, _ = request(off_server.uri, probe, fill_path(path))
        # API routes: the gateway's 404 APIGW.0101 (issue 16); the admin API keeps axum's 405.
        expected = 405 if path.startswith("/_mock") else 404
        assert status == expected, "%s %s answered %s %s, not %s" % (probe, path, status, parsed, expected)
        assert parsed and parsed.get("error_code") == "APIGW.0101", parsed
        allowed = {m.strip().upper() for m in (headers.get("Allow") or "").split(",") if m.strip()}
        allowed.discard("HEAD")
        if allowed != documented[path]:
            mismatches.append("%s: router %s, document %s" % (path, sorted(allowed), sorted(documented[path])))
    assert mismatches == [], "\n".join(mismatches)


def test_schemathesis_finds_no_failures(off_server, tmp_path):
    """schemathesis (examples, coverage, fuzzing and stateful phases) against a live server.

    Checks: not_a_server_error, status_code_conformance, content_type_conformance,
    response_headers_conformance, response_schema_conformance. POST /_mock/reset stays in: it
    only brings back the startup state, which no check depends on."""
    version = require_schemathesis()
    code, output, report, elapsed = run_schemathesis(off_server.uri, tmp_path)
    lines = output.splitlines()
    first = next((i for i, line in enumerate(lines) if "FAILURES" in line or "ERRORS" in line), max(0, len(lines) - 60))
    tail = "\n".join(lines[first:first + 400])
    assert report is not None, "schemathesis wrote no JSON report (exit %s):\n%s" % (code, tail)
    cases = report["test_cases"]["generated"]
    operations = report["operations"]
    summary = "schemathesis %s: %d operations tested, %d cases generated, %d with failures, %d errored, %.1f s" % (
        version, operations["tested"], cases, report["test_cases"]["with_failures"],
        report["test_cases"]["errored"], elapsed)
    print(summary)
    assert code == 0 and report["exit_code"] == 0, "%s\n%s" % (summary, tail)
    assert report["failures"] == [] and report["errors"] == [], "%s\n%s" % (summary, tail)
    assert report["complete"] and report["stop_reason"] == "completed", report["stop_reason"]
    expected_ops = sum(len(m) for m in spec_operations(load_openapi()).values()) - len(SCHEMATHESIS_EXCLUDED_OPERATIONS)
    assert operations["tested"] == expected_ops and operations["errored"] == 0, operations
    assert cases >= SCHEMATHESIS_MIN_CASES, summary
    # The server survived the run.
    status, _, parsed, _ = request(off_server.uri, "GET", "/_mock/health")
    assert (status, parsed and parsed["status"]) == (200, "ok")
