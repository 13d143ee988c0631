"""Fault injection (`--fault`, `POST /_mock/faults`, a fixture's `faults` section) as the
official Python SDK experiences it, plus the request journal (`GET /_mock/requests`).

Rules are set up through the admin API with urllib (it needs no auth); every call under test
goes through the SDK clients of support.py (strict auth, retry_times=0). The module server is
shared, so an autouse fixture clears the rules and the journal before every test.

Exception classes observed with huaweicloudsdkcore 3.1.219 (asserted exactly below):
  * injected status < 500 ......... ClientRequestException;  >= 500 ... ServerResponseException
  * 429 on a GET .................. ClientRequestException(429, error_code "429", request_id "")
                                    -- the body is lost (sdk-wire-facts §5, urllib3 Retry)
  * fault=reset / fault=empty ..... ConnectionException (the base class itself, not
                                    HostUnreachableException)
  * read timeout (delay > timeout)  ConnectionException (not CallTimeoutException)
  * fault=malformed ............... no exception: a 200 response whose model fields are all None
"""
import json
import re
import time
import urllib.error
import urllib.request

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import (ClientRequestException, ConnectionException,
                                                      ServerResponseException)
from huaweicloudsdkcore.retry.backoff_strategy import BackoffStrategies
from huaweicloudsdkims.v2 import ImsClient, ListImagesTagsRequest
from huaweicloudsdkswr.v2 import ListRepositoryTagRequest, ListRepositoryTagsRequest, SwrClient

from support import (AK, DEFAULT_PROJECT_ID, SK, USER_AGENT, http_config, make_ims_client, make_swr_client, raw_get,
                     start_server, stop_server)

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")

IMS_ROUTE = "/v2/{project_id}/images/tags"
V2_ROUTE = "/v2/manage/namespaces/{namespace}/repos/{repository}/tags"
V3_ROUTE = "/v3/manage/namespaces/{namespace}/repos/{repository}/tags"
IMS_PATH = "/v2/%s/images/tags" % DEFAULT_PROJECT_ID
V2_PATH = "/v2/manage/namespaces/namespace/repos/busybox/tags"
V3_PATH = "/v3/manage/namespaces/namespace/repos/busybox/tags"

REASON = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
          429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
GATEWAY_CODES = {401: "APIGW.0301", 429: "APIGW.0308"}
IMS_CODES = {400: "IMG.0001", 403: "IMG.0026", 404: "IMG.0001", 409: "IMG.0001", 500: "IMG.0061", 503: "IMG.0061"}
SWR_CODES = {400: "SVCSTG.SWR.4000014", 403: "SVCSTG.SWR.4030170", 404: "SVCSTG.SWR.4040083",
             409: "SVCSTG.SWR.4090006", 500: "SVCSTG.SWR.5000008", 503: "SVCSTG.SWR.5000008"}


# ---------------------------------------------------------------------------
# The three list operations under test
# ---------------------------------------------------------------------------
class Op:
    def __init__(self, name, route, path, codes, call, invoker):
        self.name, self.route, self.path, self.codes = name, route, path, codes
        self.call, self.invoker = call, invoker

    def default_code(self, status):
        return GATEWAY_CODES.get(status) or self.codes[status]


OPS = {
    "ims": Op("ims", IMS_ROUTE, IMS_PATH, IMS_CODES,
              lambda c: c.ims.list_images_tags(ListImagesTagsRequest()),
              lambda c: c.ims.list_images_tags_invoker(ListImagesTagsRequest())),
    "swr_v2": Op("swr_v2", V2_ROUTE, V2_PATH, SWR_CODES,
                 lambda c: c.swr.list_repository_tags(
                     ListRepositoryTagsRequest(namespace="namespace", repository="busybox")),
                 lambda c: c.swr.list_repository_tags_invoker(
                     ListRepositoryTagsRequest(namespace="namespace", repository="busybox"))),
    "swr_v3": Op("swr_v3", V3_ROUTE, V3_PATH, SWR_CODES,
                 lambda c: c.swr.list_repository_tag(
                     ListRepositoryTagRequest(namespace="namespace", repository="busybox")),
                 lambda c: c.swr.list_repository_tag_invoker(
                     ListRepositoryTagRequest(namespace="namespace", repository="busybox"))),
}


class Clients:
    def __init__(self, server):
        self.server = server
        self.ims = make_ims_client(server)
        self.swr = make_swr_client(server)


# ---------------------------------------------------------------------------
# Admin API (urllib)
# ---------------------------------------------------------------------------
def admin(server, method, path, body=None):
    """Call the admin API; returns (status, parsed JSON or None). HTTP errors are returned."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.uri + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    return status, (json.loads(text) if text else None)


def add_fault(server, **rule):
    status, stored = admin(server, "POST", "/_mock/faults", rule)
    assert status == 201, stored
    assert isinstance(stored.get("id"), int), stored
    return stored


def list_faults(server):
    status, body = admin(server, "GET", "/_mock/faults")
    assert status == 200, body
    return body["faults"]


def journal(server, query=""):
    """Journal entries, oldest first, without the admin API's own requests."""
    status, body = admin(server, "GET", "/_mock/requests" + query)
    assert status == 200, body
    assert body["count"] == len(body["requests"])
    return [entry for entry in body["requests"] if not entry["path"].startswith("/_mock/")]


def clear(server):
    assert admin(server, "DELETE", "/_mock/faults")[0] == 204
    assert admin(server, "DELETE", "/_mock/requests")[0] == 204


@pytest.fixture(scope="module")
def clients(default_server):
    return Clients(default_server)


@pytest.fixture(autouse=True)
def clean_slate(default_server):
    clear(default_server)
    yield


def outcome(call):
    """Run an SDK call; returns the exception it raised (or None)."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the class is what the tests look at
        return error
    return None


# ---------------------------------------------------------------------------
# 1. Injected statuses as SDK exceptions
# ---------------------------------------------------------------------------
STATUSES = [400, 401, 403, 404, 409, 500, 503]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("op_name", list(OPS))
def test_injected_status_reaches_the_sdk_as_the_right_exception_with_default_code_and_message(
        default_server, clients, op_name, status):
    # Arrange
    op = OPS[op_name]
    rule = add_fault(default_server, method="GET", path=op.route, status=status)

    # Act
    error = outcome(lambda: op.call(clients))

    # Assert
    expected_class = ClientRequestException if status < 500 else ServerResponseException
    assert type(error) is expected_class, repr(error)
    assert error.status_code == status
    assert error.error_code == op.default_code(status)
    assert error.error_msg == "%s (injected by fault rule %d)" % (REASON[status], rule["id"])
    assert REQUEST_ID.match(error.request_id or ""), error.request_id
    [entry] = journal(default_server)
    assert entry["request_id"] == error.request_id
    assert entry["status"] == status
    assert entry["route"] == op.route
    assert entry["fault"]["rule"] == rule["id"]
    assert entry["fault"]["action"] == "status"


CUSTOM_CASES = [
    ("ims", 400, "IMG.0027", "The image ID in the request does not exist."),
    ("ims", 401, "APIGW.0307", "The token must be updated."),
    ("ims", 503, "IMG.0999", "custom ims outage"),
    ("swr_v2", 404, "SVCSTG.SWR.4040048", "The image tag was not found"),
    ("swr_v2", 500, "SVCSTG.SWR.5000001", "custom swr failure"),
    ("swr_v3", 403, "SVCSTG.SWR.4030170", "Insufficient permissions"),
    ("swr_v3", 409, "SVCSTG.SWR.4090099", "custom conflict"),
]


@pytest.mark.parametrize("op_name, status, error_code, error_msg", CUSTOM_CASES,
                         ids=["%s-%d" % (case[0], case[1]) for case in CUSTOM_CASES])
def test_custom_error_code_and_message_override_the_defaults(default_server, clients, op_name, status,
                                                             error_code, error_msg):
    # Arrange
    op = OPS[op_name]
    add_fault(default_server, method="GET", path=op.route, status=status, error_code=error_code, error_msg=error_msg)

    # Act
    error = outcome(lambda: op.call(clients))

    # Assert
    assert type(error) is (ClientRequestException if status < 500 else ServerResponseException), repr(error)
    assert error.status_code == status
    assert error.error_code == error_code
    assert error.error_msg == error_msg
    assert REQUEST_ID.match(error.request_id or ""), error.request_id


@pytest.mark.parametrize("op_name", list(OPS))
def test_429_on_a_get_loses_its_body_in_the_sdk_but_the_server_sent_the_gateway_envelope(
        default_server, clients, op_name):
    # Arrange
    op = OPS[op_name]
    rule = add_fault(default_server, method="GET", path=op.route, status=429)

    # Act
    error = outcome(lambda: op.call(clients))
    status, headers, _, body = raw_get(default_server, op.path)  # faults run before auth: no signature needed

    # Assert
    # docs/sdk-wire-facts.md §5 (retries): urllib3 Retry(total=retry_times=0, status_forcelist=[429]) turns a 429 on
    # GET into a RetryError before the error parser runs, so the SDK raises a ClientRequestException with
    # status 429, error_code "429", request_id "" and urllib3's text as error_msg: the body is lost.
    assert type(error) is ClientRequestException, repr(error)
    assert error.status_code == 429
    assert error.error_code == "429"
    assert error.request_id == ""
    assert "too many 429 error responses" in error.error_msg
    # ...but the wire answer was the API gateway envelope, with a Retry-After header (default 1 s).
    assert status == 429
    assert body == {"error_code": "APIGW.0308",
                    "error_msg": "Too Many Requests (injected by fault rule %d)" % rule["id"],
                    "request_id": headers["X-Request-Id"]}
    assert REQUEST_ID.match(headers["X-Request-Id"])
    assert headers["Retry-After"] == "1"
    entries = journal(default_server)
    assert [entry["status"] for entry in entries] == [429, 429]  # retry_times=0: the SDK sent exactly one
    assert [entry["fault"]["rule"] for entry in entries] == [rule["id"], rule["id"]]
    assert entries[1]["request_id"] == headers["X-Request-Id"]


def test_503_and_429_carry_the_rules_retry_after(default_server):
    # Arrange
    add_fault(default_server, path=V2_ROUTE, status=503, retry_after=7)
    add_fault(default_server, path=V3_ROUTE, status=429, retry_after=3)
    add_fault(default_server, path=IMS_ROUTE, status=500, retry_after=3)

    # Act
    v2 = raw_get(default_server, V2_PATH)
    v3 = raw_get(default_server, V3_PATH)
    ims = raw_get(default_server, IMS_PATH)

    # Assert
    assert (v2[0], v2[1]["Retry-After"]) == (503, "7")
    assert (v3[0], v3[1]["Retry-After"]) == (429, "3")
    assert (ims[0], ims[1].get("Retry-After")) == (500, None)  # only 429 and 503 send it


def test_sdk_retry_times_retries_a_429_and_then_succeeds(default_server):
    # Arrange: urllib3 honours Retry-After, so 0 keeps the test fast.
    add_fault(default_server, path=V3_ROUTE, status=429, times=2, retry_after=0)
    config = http_config()
    config.retry_times = 2
    swr = (SwrClient.new_builder().with_http_config(config)
           .with_credentials(BasicCredentials(AK, SK, DEFAULT_PROJECT_ID))
           .with_endpoints([default_server.uri]).build())

    # Act
    response = swr.list_repository_tag(ListRepositoryTagRequest(namespace="namespace", repository="busybox"))

    # Assert
    assert response.status_code == 200
    assert [entry["status"] for entry in journal(default_server)] == [429, 429, 200]


def test_faults_run_before_auth(default_server):
    # Arrange: a client whose signature is wrong under strict auth
    bad = make_ims_client(default_server, sk="WRONG-SECRET")
    rule = add_fault(default_server, path=IMS_ROUTE, status=503, times=1)

    # Act
    first = outcome(lambda: bad.list_images_tags(ListImagesTagsRequest()))
    second = outcome(lambda: bad.list_images_tags(ListImagesTagsRequest()))

    # Assert
    assert type(first) is ServerResponseException, repr(first)
    assert (first.status_code, first.error_code) == (503, "IMG.0061")
    assert first.error_msg == "Service Unavailable (injected by fault rule %d)" % rule["id"]
    assert type(second) is ClientRequestException, repr(second)
    assert (second.status_code, second.error_code) == (401, "APIGW.0301")


# ---------------------------------------------------------------------------
# 2. Fail twice, then succeed
# ---------------------------------------------------------------------------
def is_503(response, exception):
    return isinstance(exception, ServerResponseException) and exception.status_code == 503


def test_sdk_with_retry_gets_through_two_injected_503s(default_server, clients):
    # Arrange
    rule = add_fault(default_server, method="GET", path=V3_ROUTE, status=503, times=2)

    # Act
    response = (OPS["swr_v3"].invoker(clients)
                .with_retry(is_503, 3, BackoffStrategies.NONE)
                .invoke())

    # Assert
    assert response.status_code == 200
    assert [item.tag for item in response.tags] == ["latest"]
    entries = journal(default_server)
    assert [entry["status"] for entry in entries] == [503, 503, 200]
    assert [entry.get("fault", {}).get("rule") for entry in entries] == [rule["id"], rule["id"], None]
    assert all(entry["route"] == V3_ROUTE for entry in entries)
    [stored] = list_faults(default_server)
    assert (stored["fired"], stored["retired"]) == (2, True)


def test_sdk_with_retry_gives_up_after_max_retries(default_server, clients):
    # Arrange
    add_fault(default_server, method="GET", path=V3_ROUTE, status=503, times=5)

    # Act
    error = outcome(lambda: OPS["swr_v3"].invoker(clients)
                    .with_retry(is_503, 1, BackoffStrategies.EQUAL_JITTER).invoke())

    # Assert
    assert type(error) is ServerResponseException, repr(error)
    assert error.status_code == 503
    assert [entry["status"] for entry in journal(default_server)] == [503, 503]
    [stored] = list_faults(default_server)
    assert (stored["fired"], stored["retired"]) == (2, False)


def test_a_user_retry_loop_gets_through_two_injected_503s(default_server, clients):
    # Arrange
    add_fault(default_server, method="GET", path=V3_ROUTE, status=503, times=2)
    failures = []

    # Act
    response = None
    for _ in range(5):
        try:
            response = OPS["swr_v3"].call(clients)
            break
        except ServerResponseException as error:
            failures.append(error)

    # Assert
    assert response is not None and response.status_code == 200
    assert [(error.status_code, error.error_code) for error in failures] == [(503, "SVCSTG.SWR.5000008")] * 2
    assert failures[0].request_id != failures[1].request_id
    assert [entry["status"] for entry in journal(default_server)] == [503, 503, 200]


# ---------------------------------------------------------------------------
# 3. Broken connections and bodies
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("fault, words", [
    ("reset", "Connection reset by peer"),
    ("empty", "Remote end closed connection without response"),
])
def test_broken_connection_is_a_connection_exception(default_server, clients, fault, words):
    # Arrange
    rule = add_fault(default_server, method="GET", path=IMS_ROUTE, fault=fault, times=1)

    # Act
    error = outcome(lambda: OPS["ims"].call(clients))
    after = OPS["ims"].call(clients)

    # Assert: process_connection_error maps requests' ConnectionError to the base ConnectionException
    # (HostUnreachableException is only for DNS failures, SslHandShakeException for TLS).
    assert type(error) is ConnectionException, repr(error)
    assert words in error.error_msg
    assert after.status_code == 200 and after.tags
    entries = journal(default_server)
    assert entries[0]["fault"] == {"rule": rule["id"], "action": fault}
    assert entries[1]["status"] == 200 and "fault" not in entries[1]


@pytest.mark.parametrize("op_name, fields", [
    ("ims", ["tags"]),
    ("swr_v3", ["tags", "has_more"]),  # next_marker is None on a good one-page answer too
])
def test_malformed_body_gives_a_200_response_with_every_field_none(default_server, clients, op_name, fields):
    # Arrange
    op = OPS[op_name]
    good = op.call(clients)
    rule = add_fault(default_server, method="GET", path=op.route, fault="malformed", times=1)

    # Act
    response = op.call(clients)

    # Assert (docs/sdk-wire-facts.md §4: an invalid body gives an empty model)
    assert response.status_code == 200
    assert all(getattr(good, name) is not None for name in fields)
    for name in fields:
        assert getattr(response, name) is None, name
    assert_truncated(response.raw_content, good.raw_content)
    assert journal(default_server)[-1]["fault"] == {"rule": rule["id"], "action": "malformed"}


def test_malformed_v2_body_gives_one_empty_item_and_keeps_the_content_range(default_server, clients):
    # Arrange
    op = OPS["swr_v2"]
    good = op.call(clients)
    add_fault(default_server, method="GET", path=op.route, fault="malformed", times=1)

    # Act
    response = op.call(clients)

    # Assert: the SDK falls back to the body *text*; the `body` field (list[ShowReposTagResp]) wraps that
    # string in a list and turns it into one model with every field None. Headers are real, so
    # Content-Range is still filled in.
    assert response.status_code == 200
    assert len(response.body) == 1
    assert type(response.body[0]) is type(good.body[0])
    assert all(value is None for value in response.body[0].to_dict().values())
    assert response.content_range == good.content_range == "0-1/1"
    assert_truncated(response.raw_content, good.raw_content)


def assert_truncated(truncated, full):
    assert truncated and len(truncated) < len(full)
    assert full.startswith(truncated)
    with pytest.raises(ValueError):
        json.loads(truncated)


# ---------------------------------------------------------------------------
# 4. Delays and timeouts
# ---------------------------------------------------------------------------
def test_delay_rule_slows_the_sdk_call_down(default_server, clients):
    # Arrange
    rule = add_fault(default_server, method="GET", path=IMS_ROUTE, delay_ms=300, times=1)

    # Act
    started = time.monotonic()
    response = OPS["ims"].call(clients)
    elapsed = time.monotonic() - started

    # Assert
    assert response.status_code == 200 and response.tags
    assert elapsed >= 0.3
    [entry] = journal(default_server)
    assert entry["fault"] == {"rule": rule["id"], "action": "delay", "delay_ms": 300}
    assert entry["latency_ms"] >= 300


def test_delay_range_picks_a_delay_inside_it(default_server, clients):
    # Arrange
    add_fault(default_server, method="GET", path=V3_ROUTE, delay_ms=[50, 120], times=3)

    # Act
    for _ in range(3):
        OPS["swr_v3"].call(clients)

    # Assert
    delays = [entry["fault"]["delay_ms"] for entry in journal(default_server)]
    assert len(delays) == 3
    assert all(50 <= delay <= 120 for delay in delays), delays


def impatient_ims_client(server, read_timeout):
    config = http_config()
    config.timeout = (1, read_timeout)
    return (ImsClient.new_builder().with_http_config(config)
            .with_credentials(BasicCredentials(AK, SK, DEFAULT_PROJECT_ID))
            .with_endpoints([server.uri]).build())


def test_read_timeout_shorter_than_the_delay_is_a_connection_exception(default_server):
    # Arrange
    impatient = impatient_ims_client(default_server, 0.1)
    add_fault(default_server, method="GET", path=IMS_ROUTE, delay_ms=400, times=1)

    # Act
    started = time.monotonic()
    error = outcome(lambda: impatient.list_images_tags(ListImagesTagsRequest()))
    elapsed = time.monotonic() - started
    time.sleep(max(0.0, 0.55 - elapsed))  # let the server finish the delay before the next test

    # Assert: with Retry(total=0) urllib3 wraps the ReadTimeoutError in a MaxRetryError, which requests
    # raises as ConnectionError, so the SDK's process_connection_error gives a ConnectionException --
    # not RequestTimeoutException/CallTimeoutException.
    assert type(error) is ConnectionException, repr(error)
    assert "Read timed out" in error.error_msg
    assert elapsed < 0.35
    [stored] = list_faults(default_server)
    assert stored["fired"] == 1


def test_request_abandoned_by_the_client_during_a_delay_is_still_journaled(default_server):
    # Arrange
    impatient = impatient_ims_client(default_server, 0.1)
    rule = add_fault(default_server, method="GET", path=IMS_ROUTE, delay_ms=300, times=1)

    # Act
    error = outcome(lambda: impatient.list_images_tags(ListImagesTagsRequest()))
    deadline = time.monotonic() + 1
    while not journal(default_server) and time.monotonic() < deadline:
        time.sleep(0.05)

    # Assert: the rule counts the request as fired, so the journal should list it too (it lists
    # reset/empty requests, which get no answer either).
    assert type(error) is ConnectionException, repr(error)
    assert list_faults(default_server)[0]["fired"] == 1
    entries = journal(default_server)
    assert [(entry["path"], entry["fault"]) for entry in entries] == [
        (IMS_PATH, {"rule": rule["id"], "action": "delay", "delay_ms": 300})], entries


# ---------------------------------------------------------------------------
# Matching: query, headers, priority
# ---------------------------------------------------------------------------
def test_rule_with_query_and_header_matches_only_those_requests(default_server, clients):
    # Arrange: header names are case-insensitive, values exact
    add_fault(default_server, path="/v3/manage/**", status=500, query={"limit": "7"},
              headers={"user-agent": "huaweicloud-usdk-python/3.0; " + USER_AGENT})
    request = lambda limit: clients.swr.list_repository_tag(  # noqa: E731
        ListRepositoryTagRequest(namespace="namespace", repository="busybox", limit=limit))

    # Act
    other_limit = request(8)
    matched = outcome(lambda: request(7))
    no_sdk_user_agent = raw_get(default_server, V3_PATH + "?limit=7")[0]

    # Assert
    assert other_limit.status_code == 200
    assert type(matched) is ServerResponseException and matched.status_code == 500
    assert no_sdk_user_agent == 401  # the rule did not match, so strict auth answered


def test_smaller_priority_wins(default_server, clients):
    # Arrange
    add_fault(default_server, path="/v2/manage/**", status=500)
    winner = add_fault(default_server, path=V2_ROUTE, status=404, priority=1)

    # Act
    error = outcome(lambda: OPS["swr_v2"].call(clients))

    # Assert
    assert type(error) is ClientRequestException
    assert (error.status_code, error.error_code) == (404, "SVCSTG.SWR.4040083")
    assert journal(default_server)[0]["fault"]["rule"] == winner["id"]


def test_deleting_one_rule_by_id_leaves_the_others(default_server, clients):
    # Arrange
    gone = add_fault(default_server, path=IMS_ROUTE, status=500)
    kept = add_fault(default_server, path=V3_ROUTE, status=500)

    # Act
    deleted = admin(default_server, "DELETE", "/_mock/faults/%d" % gone["id"])[0]
    missing = admin(default_server, "DELETE", "/_mock/faults/%d" % gone["id"])[0]

    # Assert
    assert (deleted, missing) == (204, 404)
    assert [rule["id"] for rule in list_faults(default_server)] == [kept["id"]]
    assert OPS["ims"].call(clients).status_code == 200
    assert type(outcome(lambda: OPS["swr_v3"].call(clients))) is ServerResponseException


# ---------------------------------------------------------------------------
# 5. Probability with a seed
# ---------------------------------------------------------------------------
def pass_fail_sequence(server, seed=7, calls=200):
    clients = Clients(server)
    clear(server)
    add_fault(server, method="GET", path=V3_ROUTE, status=500, probability=0.3, seed=seed)
    sequence = []
    for _ in range(calls):
        error = outcome(lambda: OPS["swr_v3"].call(clients))
        assert error is None or (type(error) is ServerResponseException and error.status_code == 500), repr(error)
        sequence.append(error is None)
    return sequence


def test_probability_with_a_seed_is_plausible_and_reproducible_across_server_runs():
    # Arrange
    first_server, second_server = start_server(), start_server()
    try:
        # Act
        first = pass_fail_sequence(first_server)
        journaled = [entry["status"] == 200 for entry in journal(first_server)]
        second = pass_fail_sequence(second_server)
        other_seed = pass_fail_sequence(second_server, seed=8)
    finally:
        stop_server(first_server)
        stop_server(second_server)

    # Assert
    failures = first.count(False)
    assert 40 <= failures <= 80, failures
    assert second == first
    assert journaled == first
    assert other_seed != first


# ---------------------------------------------------------------------------
# 6. The journal of SDK calls
# ---------------------------------------------------------------------------
AUTHORIZATION = re.compile(r"^SDK-HMAC-SHA256 Access=AKTEST, SignedHeaders=[a-z0-9;-]+, Signature=<redacted>$")


def test_journal_lists_sdk_calls_in_order_with_routes_and_redacted_signatures(default_server, clients):
    # Act
    clients.ims.list_images_tags(ListImagesTagsRequest())
    clients.swr.list_repository_tags(ListRepositoryTagsRequest(namespace="namespace", repository="busybox",
                                                               limit="5", offset="0"))
    clients.swr.list_repository_tag(ListRepositoryTagRequest(namespace="namespace", repository="busybox",
                                                              limit=5, tag="lat"))
    status, raw = admin(default_server, "GET", "/_mock/requests")
    entries = journal(default_server)

    # Assert
    assert status == 200
    assert [(e["method"], e["path"], e.get("query"), e["route"], e["status"]) for e in entries] == [
        ("GET", IMS_PATH, None, IMS_ROUTE, 200),
        ("GET", V2_PATH, "limit=5&offset=0", V2_ROUTE, 200),
        ("GET", V3_PATH, "limit=5&tag=lat", V3_ROUTE, 200),
    ]
    seqs = [entry["seq"] for entry in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert [entry["seq"] for entry in raw["requests"]] == sorted(entry["seq"] for entry in raw["requests"])
    assert len({entry["request_id"] for entry in entries}) == 3
    for entry in entries:
        assert REQUEST_ID.match(entry["request_id"])
        headers = entry["headers"]
        assert AUTHORIZATION.match(headers["authorization"]), headers["authorization"]
        assert headers["x-sdk-date"] and headers["user-agent"].endswith(USER_AGENT)
        assert entry["body_size"] == 0
        assert isinstance(entry["latency_ms"], (int, float)) and entry["latency_ms"] >= 0
        assert "fault" not in entry
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", entry["time"]), entry["time"]
    assert not re.search(r"[0-9a-f]{64}", json.dumps(raw)), "a signature leaked into the journal"


def test_journal_filters_by_method_path_status_and_since(default_server, clients):
    # Arrange
    add_fault(default_server, path=V3_ROUTE, status=503, times=1)
    outcome(lambda: OPS["swr_v3"].call(clients))
    OPS["swr_v3"].call(clients)
    OPS["ims"].call(clients)

    # Act
    by_path = journal(default_server, "?method=GET&path=" + V3_PATH)
    by_status = journal(default_server, "?status=503")
    first_seq = by_path[0]["seq"]
    since = journal(default_server, "?since=%d" % first_seq)

    # Assert
    assert [entry["status"] for entry in by_path] == [503, 200]
    assert [entry["path"] for entry in by_status] == [V3_PATH]
    assert [entry["path"] for entry in since][-2:] == [V3_PATH, IMS_PATH]
    assert all(entry["seq"] >= first_seq for entry in since)
    assert journal(default_server, "?method=DELETE") == []


def test_journal_redacts_a_token(default_server):
    # Act
    raw_get(default_server, IMS_PATH, headers={"X-Auth-Token": "MIIsecret-token-value"})
    status, raw = admin(default_server, "GET", "/_mock/requests")

    # Assert
    [entry] = journal(default_server)
    assert entry["headers"]["x-auth-token"] == "<redacted>"
    assert "MIIsecret-token-value" not in json.dumps(raw)


# ---------------------------------------------------------------------------
# 7. Rules from the command line and from a fixture
# ---------------------------------------------------------------------------
def test_command_line_faults_take_effect_for_the_sdk_and_survive_a_reset():
    # Arrange
    server = start_server("--fault", "GET /v2/{project_id}/images/tags 500 times=1",
                          "--fault", "GET /v3/manage/** 404 error_code=SVCSTG.SWR.4040010 times=1")
    try:
        clients = Clients(server)
        rules = {rule["path"]: rule for rule in list_faults(server)}
        ims_rule, swr_rule = rules[IMS_ROUTE], rules["/v3/manage/**"]

        # Act
        ims_error = outcome(lambda: OPS["ims"].call(clients))
        ims_after = OPS["ims"].call(clients)
        swr_error = outcome(lambda: OPS["swr_v3"].call(clients))
        swr_after = OPS["swr_v3"].call(clients)
        reset_status = admin(server, "POST", "/_mock/reset")[0]
        ims_again = outcome(lambda: OPS["ims"].call(clients))
    finally:
        stop_server(server)

    # Assert
    assert (ims_rule["method"], ims_rule["path"], ims_rule["status"], ims_rule["times"]) == ("GET", IMS_ROUTE, 500, 1)
    assert type(ims_error) is ServerResponseException, repr(ims_error)
    assert (ims_error.status_code, ims_error.error_code) == (500, "IMG.0061")
    assert ims_error.error_msg == "Internal Server Error (injected by fault rule %d)" % ims_rule["id"]
    assert ims_after.status_code == 200
    assert type(swr_error) is ClientRequestException, repr(swr_error)
    assert (swr_error.status_code, swr_error.error_code) == (404, "SVCSTG.SWR.4040010")
    assert swr_after.status_code == 200
    assert reset_status in (200, 204)
    assert type(ims_again) is ServerResponseException and ims_again.status_code == 500


def test_fixture_faults_take_effect_for_the_sdk(tmp_path):
    # Arrange
    fixture = tmp_path / "faults.json"
    fixture.write_text(json.dumps({"faults": [{"path": IMS_ROUTE, "status": 500, "times": 1}]}))
    server = start_server("--include-default-fixture", "--fixtures", str(fixture))
    try:
        clients = Clients(server)

        # Act
        first = outcome(lambda: OPS["ims"].call(clients))
        second = OPS["ims"].call(clients)
        [rule] = list_faults(server)
    finally:
        stop_server(server)

    # Assert
    assert type(first) is ServerResponseException, repr(first)
    assert (first.status_code, first.error_code) == (500, "IMG.0061")
    assert first.error_msg == "Internal Server Error (injected by fault rule %d)" % rule["id"]
    assert second.status_code == 200 and second.tags
    assert (rule["fired"], rule["retired"]) == (1, True)
