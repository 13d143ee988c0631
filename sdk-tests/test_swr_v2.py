"""SWR v2 `ListRepositoryTags` (GET /v2/manage/namespaces/{ns}/repos/{repo}/tags) through the
official Python SDK: a bare JSON array of items keyed `Tag`, plus the `Content-Range` header."""
from huaweicloudsdkswr.v2 import ListRepositoryTagsRequest

from seeds import SEED_003_ITEM
from support import (BIG_NAMESPACE, BIG_REPOSITORY, BIG_TAG_COUNT, generated_tag_name,
                     generated_tag_updated, make_swr_client)


def list_big(client, **query):
    return client.list_repository_tags(
        ListRepositoryTagsRequest(namespace=BIG_NAMESPACE, repository=BIG_REPOSITORY, **query))


def names(response):
    return [item.tag for item in (response.body or [])]


def test_default_fixture_tag_matches_seed_003_field_by_field(swr):
    # Act
    response = swr.list_repository_tags(ListRepositoryTagsRequest(namespace="namespace", repository="busybox"))

    # Assert
    assert response.status_code == 200
    assert response.content_range == "0-1/1"
    assert len(response.body) == 1
    item = response.body[0]
    for name, want in SEED_003_ITEM.items():
        assert getattr(item, name) == want, name
    # ...and the SDK model has no field this test forgot.
    assert set(item.to_dict()) == set(SEED_003_ITEM)


def test_default_page_size_is_100_with_content_range(big_swr):
    # Act
    response = list_big(big_swr)

    # Assert
    assert response.content_range == "0-100/%d" % BIG_TAG_COUNT
    assert names(response) == [generated_tag_name(i) for i in range(BIG_TAG_COUNT - 1, BIG_TAG_COUNT - 101, -1)]


def test_paging_with_string_limit_and_offset_lists_every_tag_once_newest_first(big_swr):
    # Arrange
    limit, seen, ranges = 1000, [], []

    # Act
    for offset in range(0, BIG_TAG_COUNT, limit):
        response = list_big(big_swr, limit=str(limit), offset=str(offset))
        ranges.append(response.content_range)
        seen.extend(response.body)

    # Assert
    assert ranges == ["0-1000/2500", "1000-1000/2500", "2000-500/2500"]
    expected_order = list(range(BIG_TAG_COUNT - 1, -1, -1))  # updated_at desc = reverse index order
    assert [item.tag for item in seen] == [generated_tag_name(i) for i in expected_order]
    assert [item.updated for item in seen] == [generated_tag_updated(i) for i in expected_order]
    assert len({item.tag for item in seen}) == BIG_TAG_COUNT


def test_order_column_tag_ascending_sorts_by_name(big_swr):
    # Act
    response = list_big(big_swr, order_column="tag", order_type="asc", limit="10", offset="5")

    # Assert
    assert response.content_range == "5-10/2500"
    assert names(response) == [generated_tag_name(i) for i in range(5, 15)]


def test_updated_at_ascending_is_oldest_first(big_swr):
    # Act
    response = list_big(big_swr, order_column="updated_at", order_type="asc", limit="3", offset="0")

    # Assert
    assert names(response) == ["v0000000", "v0000001", "v0000002"]


def test_tag_filter_is_a_case_insensitive_substring_match(big_swr):
    # Act
    response = list_big(big_swr, tag="V00024", limit="1000", offset="0")

    # Assert: v0002400..v0002499, newest first, and the total counts matches only
    assert response.content_range == "0-100/100"
    assert names(response) == [generated_tag_name(i) for i in range(2499, 2399, -1)]


def test_filter_parameter_combines_offset_limit_order_and_tag(big_swr):
    # Act
    paged = list_big(big_swr, filter="offset::10|limit::5|order_column::tag|order_type::asc")
    filtered = list_big(big_swr, filter="offset::0|limit::10|order_column::updated_at|order_type::desc|tag::v000001")

    # Assert
    assert paged.content_range == "10-5/2500"
    assert names(paged) == [generated_tag_name(i) for i in range(10, 15)]
    assert filtered.content_range == "0-10/10"
    assert names(filtered) == [generated_tag_name(i) for i in range(19, 9, -1)]


def test_offset_past_the_end_gives_no_body_and_an_empty_content_range(big_swr):
    # Act
    response = list_big(big_swr, offset=str(BIG_TAG_COUNT), limit="100")

    # Assert: the SDK turns an empty JSON array into body=None (documented SDK quirk)
    assert response.status_code == 200
    assert response.body is None
    assert response.raw_content.strip() == b"[]"
    assert response.content_range == "2500-0/2500"


def test_path_uses_the_configured_registry_host(server_with):
    # Arrange
    server = server_with(namespace="ns1", repository="app", tags=1,
                         extra_args=["--registry-host", "registry.example.test:5000"])

    # Act
    response = make_swr_client(server).list_repository_tags(
        ListRepositoryTagsRequest(namespace="ns1", repository="app"))

    # Assert
    assert response.body[0].path == "registry.example.test:5000/ns1/app:v0000000"
