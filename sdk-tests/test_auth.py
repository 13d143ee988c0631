"""Authentication and tenancy (`--auth off|lenient|strict`) through the official Python SDK
and, where the SDK cannot show something (tokens, missing credentials, the diagnostics
object), through raw HTTP.

Every other module already runs against strict servers (support.AUTH_ARGS), which proves the
right AK/SK passes; this module proves that wrong credentials do not, and that the other
modes behave as documented.

Default-fixture credentials:
  tenant 1: AKTEST/SKTEST, token TOKENTEST, project fd73..., namespace `namespace` (busybox:latest)
  tenant 2: AKOTHER/SKOTHER, token TOKENOTHER, project 0b0b..., namespace `othernamespace` (nginx:1.25)
"""
import hashlib
import json
import re
import time
import uuid

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, SdkException
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkims.v2 import ImsClient, ListImagesTagsRequest
from huaweicloudsdkswr.v2 import ListRepositoryTagRequest, ListRepositoryTagsRequest, SwrClient

import signing_oracle as oracle
from seeds import SEED_001_TAGS
from support import (AK, AUTH_ARGS, DEFAULT_PROJECT_ID, SK, http_config, make_ims_client, make_swr_client, raw_get,
                     start_server, stop_server)

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
AUTH_ERROR_PREFIX = "Incorrect IAM authentication information: "

TENANT1 = dict(ak=AK, sk=SK, token="TOKENTEST", project=DEFAULT_PROJECT_ID,
               namespace="namespace", repository="busybox", tag="latest",
               ims_tags=SEED_001_TAGS)
TENANT2 = dict(ak="AKOTHER", sk="SKOTHER", token="TOKENOTHER", project="0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
               namespace="othernamespace", repository="nginx", tag="1.25",
               ims_tags=[{"key": "owner", "values": ["tenant2"]}])


def ims_path(project):
    return "/v2/%s/images/tags" % project


def swr_v2_path(tenant):
    return "/v2/manage/namespaces/%s/repos/%s/tags" % (tenant["namespace"], tenant["repository"])


def swr_v3_path(tenant):
    return "/v3/manage/namespaces/%s/repos/%s/tags" % (tenant["namespace"], tenant["repository"])


def sdk_date(offset_s: float = 0) -> str:
    """An X-Sdk-Date `offset_s` seconds away from now (UTC)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + offset_s))


# --- the three list operations, as callables on (server, credentials) ----------------------
def ims_list(server, ak, sk, project=DEFAULT_PROJECT_ID):
    return make_ims_client(server, project_id=project, ak=ak, sk=sk).list_images_tags(ListImagesTagsRequest())


def swr_v2_list(server, ak, sk, tenant=TENANT1):
    return make_swr_client(server, ak=ak, sk=sk).list_repository_tags(
        ListRepositoryTagsRequest(namespace=tenant["namespace"], repository=tenant["repository"]))


def swr_v3_list(server, ak, sk, tenant=TENANT1):
    return make_swr_client(server, ak=ak, sk=sk).list_repository_tag(
        ListRepositoryTagRequest(namespace=tenant["namespace"], repository=tenant["repository"]))


OPERATIONS = {"ims ListImagesTags": ims_list, "swr v2 ListRepositoryTags": swr_v2_list,
              "swr v3 ListRepositoryTag": swr_v3_list}


def assert_apigw_401(error, detail):
    """The SDK's view of the API gateway envelope {"error_code","error_msg","request_id"}."""
    assert type(error) is ClientRequestException
    assert error.status_code == 401
    assert error.error_code == "APIGW.0301"
    assert error.error_msg.startswith(AUTH_ERROR_PREFIX), error.error_msg
    assert detail in error.error_msg, error.error_msg
    assert REQUEST_ID.match(error.request_id or ""), error.request_id


def assert_raw_apigw_401(status, headers, parsed, detail):
    assert status == 401, parsed
    assert parsed["error_code"] == "APIGW.0301"
    assert parsed["error_msg"] == AUTH_ERROR_PREFIX + detail
    assert REQUEST_ID.match(parsed["request_id"])
    assert parsed["request_id"] == headers["X-Request-Id"]


# --- servers ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def strict_server():
    server = start_server(auth=("--auth", "strict"))
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def lenient_server():
    """No --auth flag at all: lenient is the server's default."""
    server = start_server(auth=())
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def off_server():
    server = start_server(auth=("--auth", "off"))
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def diagnostics_server():
    server = start_server("--auth-diagnostics", auth=("--auth", "strict"))
    yield server
    stop_server(server)


# ===========================================================================================
# The rest of the suite really runs strict
# ===========================================================================================
def test_the_suites_shared_servers_run_with_strict_auth_and_reject_a_wrong_secret(default_server, big_server):
    # Act
    with pytest.raises(ClientRequestException) as default_caught:
        ims_list(default_server, AK, "NOT-THE-SECRET")
    with pytest.raises(ClientRequestException) as big_caught:
        swr_v3_list(big_server, AK, "NOT-THE-SECRET", tenant={"namespace": "bigns", "repository": "big"})

    # Assert
    assert AUTH_ARGS == ("--auth", "strict")
    for server in (default_server, big_server):
        assert " ".join(AUTH_ARGS) in " ".join(server.args)
    assert "--include-default-fixture" in big_server.args
    assert_apigw_401(default_caught.value, "verify aksk signature fail")
    assert_apigw_401(big_caught.value, "verify aksk signature fail")


# ===========================================================================================
# strict: AK/SK signatures
# ===========================================================================================
@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_strict_rejects_a_wrong_secret_key_with_401_apigw_0301(strict_server, operation):
    # Act
    with pytest.raises(ClientRequestException) as caught:
        operation(strict_server, AK, "NOT-THE-SECRET")

    # Assert
    assert_apigw_401(caught.value, "verify aksk signature fail")


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_strict_rejects_an_unknown_access_key_with_401_ak_not_exist(strict_server, operation):
    # Act
    with pytest.raises(ClientRequestException) as caught:
        operation(strict_server, "AKNOBODY", SK)

    # Assert
    assert_apigw_401(caught.value, "Get secretKey failed,ak:AKNOBODY,err:ak not exist")


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_strict_accepts_the_right_keys_of_either_tenant(strict_server, operation):
    # Act
    first = operation(strict_server, TENANT1["ak"], TENANT1["sk"])
    second_kwargs = {"project": TENANT2["project"]} if operation is ims_list else {"tenant": TENANT2}
    second = operation(strict_server, TENANT2["ak"], TENANT2["sk"], **second_kwargs)

    # Assert
    assert first.status_code == 200 and second.status_code == 200


@pytest.mark.parametrize("date", ["20200101T000000Z", "future-20min"])
def test_strict_rejects_an_x_sdk_date_outside_the_default_15_minute_skew(strict_server, date):
    # Arrange
    date = sdk_date(+20 * 60) if date == "future-20min" else date
    client = make_ims_client(strict_server)

    # Act
    with pytest.raises(ClientRequestException) as caught:
        client.list_images_tags_invoker(ListImagesTagsRequest()).add_header("X-Sdk-Date", date).invoke()

    # Assert
    assert_apigw_401(caught.value, "verify aksk signature fail: X-Sdk-Date")
    assert date in caught.value.error_msg
    assert "(at most 900 s allowed)" in caught.value.error_msg


def test_strict_accepts_an_x_sdk_date_5_minutes_old(strict_server):
    # Arrange
    client = make_ims_client(strict_server)

    # Act
    response = client.list_images_tags_invoker(ListImagesTagsRequest()).add_header(
        "X-Sdk-Date", sdk_date(-5 * 60)).invoke()

    # Assert
    assert response.status_code == 200
    assert json.loads(response.raw_content) == {"tags": SEED_001_TAGS}


def test_strict_with_max_clock_skew_60_rejects_a_date_2_minutes_old_but_accepts_30_seconds():
    # Arrange
    server = start_server("--max-clock-skew", "60", auth=("--auth", "strict"))
    client = make_ims_client(server)
    try:
        # Act
        with pytest.raises(ClientRequestException) as caught:
            client.list_images_tags_invoker(ListImagesTagsRequest()).add_header(
                "X-Sdk-Date", sdk_date(-120)).invoke()
        recent = client.list_images_tags_invoker(ListImagesTagsRequest()).add_header(
            "X-Sdk-Date", sdk_date(-30)).invoke()
    finally:
        stop_server(server)

    # Assert
    assert_apigw_401(caught.value, "verify aksk signature fail: X-Sdk-Date")
    assert "(at most 60 s allowed)" in caught.value.error_msg
    assert re.search(r"is 1[12]\d s away from the server clock", caught.value.error_msg), caught.value.error_msg
    assert recent.status_code == 200


def test_strict_accepts_a_request_signed_by_the_independent_oracle_not_the_sdk(strict_server):
    # Arrange: sign by hand, exactly the headers urllib will send as signed headers.
    path, date = ims_path(DEFAULT_PROJECT_ID), sdk_date()
    host = "127.0.0.1:%d" % strict_server.port
    signed = {"host": host, "x-sdk-date": date}
    creq = oracle.canonical_request("GET", path, "", signed.get, sorted(signed), b"")
    headers = {"Host": host, "X-Sdk-Date": date,
               "Authorization": oracle.authorization(AK, sorted(signed), oracle.expected_signature(SK, date, creq))}

    # Act
    status, _, _, parsed = raw_get(strict_server, path, headers)

    # Assert
    assert status == 200, parsed
    assert parsed == {"tags": SEED_001_TAGS}


# ===========================================================================================
# strict: tenancy
# ===========================================================================================
def test_strict_tenant_1_using_tenant_2s_ims_project_is_400_img_0030(strict_server):
    # Act
    with pytest.raises(ClientRequestException) as caught:
        ims_list(strict_server, TENANT1["ak"], TENANT1["sk"], project=TENANT2["project"])

    # Assert
    assert caught.value.status_code == 400  # the IMS error table's status for IMG.0030
    assert caught.value.error_code == "IMG.0030"
    assert TENANT2["project"] in caught.value.error_msg
    assert REQUEST_ID.match(caught.value.request_id or "")


def test_strict_tenant_2_using_tenant_1s_ims_project_is_400_img_0030(strict_server):
    # Act
    with pytest.raises(ClientRequestException) as caught:
        ims_list(strict_server, TENANT2["ak"], TENANT2["sk"], project=TENANT1["project"])

    # Assert
    assert caught.value.status_code == 400  # the IMS error table's status for IMG.0030
    assert caught.value.error_code == "IMG.0030"


@pytest.mark.parametrize("operation", [swr_v2_list, swr_v3_list], ids=["v2", "v3"])
@pytest.mark.parametrize("caller, owner", [(TENANT1, TENANT2), (TENANT2, TENANT1)], ids=["tenant1", "tenant2"])
def test_strict_swr_namespace_of_another_account_is_403_svcstg_swr_4030170(strict_server, operation, caller, owner):
    # Act
    with pytest.raises(ClientRequestException) as caught:
        operation(strict_server, caller["ak"], caller["sk"], tenant=owner)

    # Assert
    assert caught.value.status_code == 403
    assert caught.value.error_code == "SVCSTG.SWR.4030170"
    assert owner["namespace"] in caught.value.error_msg
    assert REQUEST_ID.match(caught.value.request_id or "")


def test_strict_tenant_2_sees_its_own_ims_tags_and_swr_tag(strict_server):
    # Act
    ims = ims_list(strict_server, TENANT2["ak"], TENANT2["sk"], project=TENANT2["project"])
    v2 = swr_v2_list(strict_server, TENANT2["ak"], TENANT2["sk"], tenant=TENANT2)
    v3 = swr_v3_list(strict_server, TENANT2["ak"], TENANT2["sk"], tenant=TENANT2)

    # Assert
    assert json.loads(ims.raw_content) == {"tags": TENANT2["ims_tags"]}
    assert [item.tag for item in v2.body] == ["1.25"] and v2.content_range == "0-1/1"
    assert v2.body[0].domain_id == "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d"
    assert [item.tag for item in v3.tags] == ["1.25"]
    assert v3.tags[0].path == "swr.cn-north-1.myhuaweicloud.com/othernamespace/nginx:1.25"


# ===========================================================================================
# strict: tokens (raw HTTP; the SDK only signs)
# ===========================================================================================
@pytest.mark.parametrize("tenant, other", [(TENANT1, TENANT2), (TENANT2, TENANT1)], ids=["TOKENTEST", "TOKENOTHER"])
def test_strict_known_token_reaches_its_own_tenant_and_is_403_on_the_other(strict_server, tenant, other):
    # Arrange
    headers = {"X-Auth-Token": tenant["token"]}

    # Act
    own_ims = raw_get(strict_server, ims_path(tenant["project"]), headers)
    own_v2 = raw_get(strict_server, swr_v2_path(tenant), headers)
    own_v3 = raw_get(strict_server, swr_v3_path(tenant), headers)
    other_ims = raw_get(strict_server, ims_path(other["project"]), headers)
    other_v2 = raw_get(strict_server, swr_v2_path(other), headers)
    other_v3 = raw_get(strict_server, swr_v3_path(other), headers)

    # Assert
    assert (own_ims[0], own_v2[0], own_v3[0]) == (200, 200, 200)
    assert own_ims[3] == {"tags": tenant["ims_tags"]}
    assert [item["Tag"] for item in own_v2[3]] == [tenant["tag"]]
    assert [item["tag"] for item in own_v3[3]["tags"]] == [tenant["tag"]]
    assert (other_ims[0], other_v2[0], other_v3[0]) == (400, 403, 403)
    assert other_ims[3]["error"]["code"] == "IMG.0030"
    assert other_v2[3]["error_code"] == other_v3[3]["error_code"] == "SVCSTG.SWR.4030170"


def test_strict_unknown_token_is_401_decrypt_token_fail(strict_server):
    # Act
    status, headers, _, parsed = raw_get(strict_server, ims_path(DEFAULT_PROJECT_ID), {"X-Auth-Token": "nope"})

    # Assert
    assert_raw_apigw_401(status, headers, parsed, "decrypt token fail")


def test_strict_no_credentials_is_401_x_auth_token_not_found(strict_server):
    # Act
    status, headers, _, parsed = raw_get(strict_server, swr_v3_path(TENANT1))

    # Assert
    assert_raw_apigw_401(status, headers, parsed, "x-auth-token not found")


def test_strict_unknown_route_stays_404_and_health_needs_no_auth(strict_server):
    # Act
    unknown = raw_get(strict_server, "/v2/no/such/route", {"X-Auth-Token": "TOKENTEST"})
    unknown_anonymous = raw_get(strict_server, "/v2/no/such/route")
    health = raw_get(strict_server, "/_mock/health")

    # Assert
    assert unknown[0] == 404 and unknown_anonymous[0] == 404
    assert health[0] == 200 and health[3]["status"] == "ok"


# ===========================================================================================
# strict: --auth-diagnostics
# ===========================================================================================
def hand_signed_headers(server, signature="0" * 64):
    date = sdk_date()
    host = "127.0.0.1:%d" % server.port
    return {"Host": host, "X-Sdk-Date": date,
            "Authorization": oracle.authorization(AK, ["host", "x-sdk-date"], signature)}, host, date


def test_auth_diagnostics_explain_a_signature_mismatch_exactly_as_the_oracle_computes_it(diagnostics_server):
    # Arrange
    path = ims_path(DEFAULT_PROJECT_ID)
    headers, host, date = hand_signed_headers(diagnostics_server)
    signed = {"host": host, "x-sdk-date": date}
    oracle_creq = oracle.canonical_request("GET", path, "", signed.get, sorted(signed), b"")
    correct_signature = oracle.expected_signature(SK, date, oracle_creq)

    # Act
    status, got_headers, text, parsed = raw_get(diagnostics_server, path, headers)

    # Assert
    assert_raw_apigw_401(status, got_headers, parsed, "verify aksk signature fail")
    diagnostics = parsed["diagnostics"]
    assert diagnostics["canonical_request"].startswith("GET\n/v2/%s/images/tags/\n" % DEFAULT_PROJECT_ID)
    assert diagnostics["canonical_request"] == oracle_creq
    assert diagnostics["string_to_sign"].startswith("SDK-HMAC-SHA256\n")
    assert diagnostics["string_to_sign"] == oracle.string_to_sign(date, oracle_creq)
    assert diagnostics["signed_headers"] == "host;x-sdk-date"
    assert isinstance(diagnostics["hint"], str) and diagnostics["hint"].strip()
    assert SK not in text
    assert correct_signature not in text


def test_auth_diagnostics_canonical_query_matches_the_oracle(diagnostics_server):
    # Arrange: a query in non-canonical order with a character that needs encoding.
    path, query = swr_v3_path(TENANT1), "marker=a%20b&limit=5&with_manifest=true"
    headers, host, date = hand_signed_headers(diagnostics_server)
    signed = {"host": host, "x-sdk-date": date}
    oracle_creq = oracle.canonical_request("GET", path, query, signed.get, sorted(signed), b"")

    # Act
    status, _, _, parsed = raw_get(diagnostics_server, path + "?" + query, headers)

    # Assert
    assert status == 401
    assert parsed["diagnostics"]["canonical_request"] == oracle_creq
    assert oracle_creq.split("\n")[2] == "limit=5&marker=a%20b&with_manifest=true"


def test_auth_diagnostics_are_absent_without_the_flag(strict_server):
    # Arrange
    headers, _, _ = hand_signed_headers(strict_server)

    # Act
    status, got_headers, _, parsed = raw_get(strict_server, ims_path(DEFAULT_PROJECT_ID), headers)

    # Assert
    assert_raw_apigw_401(status, got_headers, parsed, "verify aksk signature fail")
    assert set(parsed) == {"error_code", "error_msg", "request_id"}


def test_auth_diagnostics_keep_an_sdk_wrong_secret_a_plain_apigw_0301_for_the_sdk(diagnostics_server):
    # Act
    with pytest.raises(ClientRequestException) as caught:
        ims_list(diagnostics_server, AK, "NOT-THE-SECRET")

    # Assert
    assert_apigw_401(caught.value, "verify aksk signature fail")


# ===========================================================================================
# lenient (the default) and off
# ===========================================================================================
@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
@pytest.mark.parametrize("ak, sk", [(AK, "NOT-THE-SECRET"), ("AKNOBODY", "whatever")], ids=["wrong SK", "unknown AK"])
def test_lenient_default_accepts_any_sdk_signature_without_verifying_it(lenient_server, operation, ak, sk):
    # Act
    response = operation(lenient_server, ak, sk)

    # Assert
    assert response.status_code == 200


def test_lenient_default_without_credentials_is_401_x_auth_token_not_found(lenient_server):
    # Act
    results = [raw_get(lenient_server, path) for path in
               (ims_path(DEFAULT_PROJECT_ID), swr_v2_path(TENANT1), swr_v3_path(TENANT1))]

    # Assert
    for status, headers, _, parsed in results:
        assert_raw_apigw_401(status, headers, parsed, "x-auth-token not found")


def test_lenient_default_accepts_any_token(lenient_server):
    # Act
    results = [raw_get(lenient_server, path, {"X-Auth-Token": "anything-at-all"}) for path in
               (ims_path(DEFAULT_PROJECT_ID), swr_v2_path(TENANT1), swr_v3_path(TENANT1))]

    # Assert
    assert [status for status, *_ in results] == [200, 200, 200]
    assert results[0][3] == {"tags": SEED_001_TAGS}


def test_lenient_default_accepts_a_well_formed_but_wrong_hand_made_signature(lenient_server):
    # Arrange
    headers, _, _ = hand_signed_headers(lenient_server, signature="ab" * 32)

    # Act
    status, _, _, parsed = raw_get(lenient_server, ims_path(DEFAULT_PROJECT_ID), headers)

    # Assert
    assert status == 200
    assert parsed == {"tags": SEED_001_TAGS}


@pytest.mark.parametrize("mangle", ["short signature", "no X-Sdk-Date", "other algorithm"])
def test_lenient_default_rejects_a_malformed_signature(lenient_server, mangle):
    # Arrange
    headers, _, _ = hand_signed_headers(lenient_server)
    if mangle == "short signature":
        headers["Authorization"] = headers["Authorization"].replace("0" * 64, "0" * 10)
    elif mangle == "no X-Sdk-Date":
        del headers["X-Sdk-Date"]
    else:
        headers["Authorization"] = headers["Authorization"].replace("SDK-HMAC-SHA256", "SDK-HMAC-SM3")

    # Act
    status, got_headers, _, parsed = raw_get(lenient_server, ims_path(DEFAULT_PROJECT_ID), headers)

    # Assert
    assert status == 401, parsed
    assert parsed["error_code"] == "APIGW.0301"
    assert parsed["error_msg"].startswith(AUTH_ERROR_PREFIX)
    assert parsed["request_id"] == got_headers["X-Request-Id"]


def test_off_accepts_requests_without_any_credentials(off_server):
    # Act
    results = [raw_get(off_server, path) for path in
               (ims_path(DEFAULT_PROJECT_ID), swr_v2_path(TENANT1), swr_v3_path(TENANT1))]

    # Assert
    assert [status for status, *_ in results] == [200, 200, 200]
    assert results[0][3] == {"tags": SEED_001_TAGS}


# ===========================================================================================
# Region-based construction: the SDK discovers the project id with GET /v3/projects?name=
# ===========================================================================================
def fresh_region_id():
    """The SDK caches discovered project ids per AK+region in-process; a new region id per
    test makes every build() really call the server."""
    return "test-region-%s" % uuid.uuid4().hex[:12]


def region_client(client_class, server, ak, sk, region_id):
    credentials = BasicCredentials(ak, sk).with_iam_endpoint(server.uri)
    client = (client_class.new_builder()
              .with_http_config(http_config())
              .with_credentials(credentials)
              .with_region(Region(region_id, server.uri))
              .build())
    return client, credentials


@pytest.mark.parametrize("tenant", [TENANT1, TENANT2], ids=["AKTEST", "AKOTHER"])
def test_ims_client_built_from_a_region_discovers_the_callers_project(strict_server, tenant):
    # Arrange
    client, credentials = region_client(ImsClient, strict_server, tenant["ak"], tenant["sk"], fresh_region_id())

    # Act
    response = client.list_images_tags(ListImagesTagsRequest())

    # Assert
    assert credentials.project_id == tenant["project"]
    assert json.loads(response.raw_content) == {"tags": tenant["ims_tags"]}


@pytest.mark.parametrize("tenant", [TENANT1, TENANT2], ids=["AKTEST", "AKOTHER"])
def test_swr_client_built_from_a_region_discovers_the_project_and_lists_its_namespace(strict_server, tenant):
    # Arrange
    client, credentials = region_client(SwrClient, strict_server, tenant["ak"], tenant["sk"], fresh_region_id())

    # Act
    v2 = client.list_repository_tags(
        ListRepositoryTagsRequest(namespace=tenant["namespace"], repository=tenant["repository"]))
    v3 = client.list_repository_tag(
        ListRepositoryTagRequest(namespace=tenant["namespace"], repository=tenant["repository"]))

    # Assert
    assert credentials.project_id == tenant["project"]
    assert [item.tag for item in v2.body] == [tenant["tag"]]
    assert [item.tag for item in v3.tags] == [tenant["tag"]]


def test_iam_discovery_answers_keystone_shape_for_the_signing_ak(strict_server):
    # Arrange: sign GET /v3/projects?name=cn-east-3 by hand as AKOTHER.
    path, query, date = "/v3/projects", "name=cn-east-3", sdk_date()
    host = "127.0.0.1:%d" % strict_server.port
    signed = {"host": host, "x-sdk-date": date}
    creq = oracle.canonical_request("GET", path, query, signed.get, sorted(signed), b"")
    headers = {"Host": host, "X-Sdk-Date": date, "Authorization": oracle.authorization(
        "AKOTHER", sorted(signed), oracle.expected_signature("SKOTHER", date, creq))}

    # Act
    status, _, _, parsed = raw_get(strict_server, path + "?" + query, headers)

    # Assert
    assert status == 200, parsed
    assert [(p["id"], p["name"], p["domain_id"]) for p in parsed["projects"]] == [
        (TENANT2["project"], "cn-east-3", "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d")]
    assert "links" in parsed


def test_region_client_with_an_unknown_ak_fails_at_build_with_the_401(strict_server):
    # Act
    with pytest.raises(SdkException) as caught:
        region_client(ImsClient, strict_server, "AKNOBODY", "whatever", fresh_region_id())

    # Assert
    message = str(caught.value.error_msg)
    assert "Failed to get project id" in message
    assert "APIGW.0301" in message and "ak not exist" in message


def test_region_client_with_a_wrong_secret_fails_at_build_with_the_401(strict_server):
    # Act
    with pytest.raises(SdkException) as caught:
        region_client(ImsClient, strict_server, AK, "NOT-THE-SECRET", fresh_region_id())

    # Assert
    message = str(caught.value.error_msg)
    assert "Failed to get project id" in message
    assert "APIGW.0301" in message and "verify aksk signature fail" in message


# ===========================================================================================
# The independent signature oracle itself (docs/sdk-wire-facts.md §6 worked examples)
# ===========================================================================================
@pytest.mark.parametrize("case", oracle.WORKED_EXAMPLES, ids=list(oracle.WORKED_EXAMPLES))
def test_signature_oracle_reproduces_the_worked_example(case):
    # Arrange
    headers, want_creq_sha256, want_signature = oracle.WORKED_EXAMPLES[case]
    names = sorted(headers)
    path = "/v2/%s/images/tags" % oracle.WORKED_EXAMPLE_PROJECT

    # Act
    creq = oracle.canonical_request("GET", path, "", headers.get, names, b"")
    signature = oracle.expected_signature(SK, oracle.WORKED_EXAMPLE_DATE, creq)

    # Assert
    assert hashlib.sha256(creq.encode()).hexdigest() == want_creq_sha256
    assert creq.endswith("\n" + oracle.EMPTY_SHA256)
    assert HEX64.match(signature)
    assert signature == want_signature


def test_signature_oracle_agrees_with_the_sdk_signer_on_worked_example_a():
    # Arrange
    headers, _, want_signature = oracle.WORKED_EXAMPLES["A: signer only"]
    request = SdkRequest(method="GET", schema="http", host="127.0.0.1:8080",
                         resource_path="/v2/%s/images/tags" % oracle.WORKED_EXAMPLE_PROJECT, query_params=[],
                         header_params={"X-Sdk-Date": oracle.WORKED_EXAMPLE_DATE}, body="")

    # Act
    authorization = Signer(BasicCredentials(AK, SK)).sign(request).header_params["Authorization"]

    # Assert
    assert authorization == oracle.authorization(AK, sorted(headers), want_signature)
