"""A repository name containing `/` is sent as `$` (the Python SDK puts `%24` on the wire)."""
import pytest
from huaweicloudsdkswr.v2 import ListRepositoryTagRequest, ListRepositoryTagsRequest

from support import fixture_args, generate_fixture, make_swr_client, start_server, stop_server

NAMESPACE = "grp"
REPOSITORY = "group/app"
SDK_REPOSITORY = "group$app"


@pytest.fixture(scope="module")
def slash_client(tmp_path_factory):
    fixture = generate_fixture(tmp_path_factory.mktemp("slash") / "slash.json",
                               namespace=NAMESPACE, repository=REPOSITORY, tags=3)
    server = start_server(*fixture_args(fixture))
    yield make_swr_client(server)
    stop_server(server)


def test_v2_list_finds_a_repository_with_a_slash_sent_as_dollar(slash_client):
    # Act
    response = slash_client.list_repository_tags(
        ListRepositoryTagsRequest(namespace=NAMESPACE, repository=SDK_REPOSITORY))

    # Assert
    assert response.content_range == "0-3/3"
    assert [item.tag for item in response.body] == ["v0000002", "v0000001", "v0000000"]
    assert response.body[0].path == "swr.cn-north-1.myhuaweicloud.com/grp/group/app:v0000002"


def test_v3_list_finds_a_repository_with_a_slash_sent_as_dollar(slash_client):
    # Act
    response = slash_client.list_repository_tag(
        ListRepositoryTagRequest(namespace=NAMESPACE, repository=SDK_REPOSITORY, limit=2))
    last = slash_client.list_repository_tag(ListRepositoryTagRequest(
        namespace=NAMESPACE, repository=SDK_REPOSITORY, limit=2, marker=response.next_marker))

    # Assert
    assert [item.tag for item in response.tags] == ["v0000002", "v0000001"]
    assert response.has_more is True
    assert [item.tag for item in last.tags] == ["v0000000"]
    assert last.next_marker is None
    assert last.tags[0].path == "swr.cn-north-1.myhuaweicloud.com/grp/group/app:v0000000"
