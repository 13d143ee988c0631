import pytest
from huaweicloudsdkcore.exceptions.exceptions import ServerResponseException
from huaweicloudsdkswr.v2 import ListRepositoryTagsRequest

BUSYBOX = ListRepositoryTagsRequest(namespace="namespace", repository="busybox")


def test_lists_tags_then_fails_on_demand(swr_client, ims_swr_mock):
    assert [t.tag for t in swr_client.list_repository_tags(BUSYBOX).body] == ["latest"]
    ims_swr_mock.faults.add(method="GET", path="/v2/manage/**", status=503, times=1)
    with pytest.raises(ServerResponseException):
        swr_client.list_repository_tags(BUSYBOX)
    assert [r["status"] for r in ims_swr_mock.requests()] == [200, 503]  # the journal
