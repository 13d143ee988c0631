"""Injected faults, and assertions on what the application sent."""

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ServerResponseException

import catalog
from ims_swr_mock import MockServerError

TAGS = "/v2/{project_id}/images/tags"


def test_a_fault_that_fails_twice_then_succeeds(huaweicloud_env, ims_swr_mock):
    rule = ims_swr_mock.faults.add(method="GET", path=TAGS, status=503, times=2)

    assert catalog.tag_keys("cn-north-4") == ["key9", "key8", "key3"]  # retried through it

    statuses = [r["status"] for r in ims_swr_mock.requests(path=TAGS)]
    assert statuses == [503, 503, 200]
    fired = [r for r in ims_swr_mock.faults.list() if r["id"] == rule["id"]]
    assert fired[0]["fired"] == 2


def test_without_retries_the_fault_surfaces(huaweicloud_env, ims_swr_mock):
    ims_swr_mock.faults.add(method="GET", path=TAGS, status=503, times=3)
    with pytest.raises(ServerResponseException) as caught:
        catalog.tag_keys("cn-north-4")
    assert caught.value.status_code == 503


def test_the_journal_sees_exactly_this_tests_requests(huaweicloud_env, ims_swr_mock):
    catalog.promote("cn-north-4", "namespace", "busybox", "latest", "v1")

    sent = [(r["method"], r["route"], r["status"]) for r in ims_swr_mock.requests()]
    assert sent == [
        ("POST", "/v2/manage/namespaces/{namespace}/repos/{repository}/tags", 201),
        ("GET", "/v2/manage/namespaces/{namespace}/repos/{repository}/tags", 200),
    ]
    posted = ims_swr_mock.requests(method="POST")[0]
    assert "Signature=<redacted>" in posted["headers"]["authorization"]


def test_a_refused_admin_call_carries_the_servers_message(ims_swr_mock):
    with pytest.raises(MockServerError) as caught:
        ims_swr_mock.faults.add(path="/v3/**", status=999)
    assert caught.value.status == 400
    assert "status 999" in caught.value.message
