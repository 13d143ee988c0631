"""SWR v3 `ListRepositoryTag` (GET /v3/manage/namespaces/{ns}/repos/{repo}/tags) through the
official Python SDK: `{"tags":[...],"nextMarker":...,"has_more":...}` with marker paging."""
import pytest
from huaweicloudsdkswr.v2 import ListRepositoryTagRequest

from seeds import SEED_003_MANIFEST, SEED_004_ITEM
from support import BIG_NAMESPACE, BIG_REPOSITORY, BIG_TAG_COUNT, generated_tag_name, generated_tag_updated

MAX_PAGES = 1000  # guards the marker walks against a server that never ends the listing


def list_default(client, **query):
    return client.list_repository_tag(ListRepositoryTagRequest(namespace="namespace", repository="busybox", **query))


def walk(client, **query):
    """Follow nextMarker until it is absent; returns the list of pages (responses)."""
    pages, marker = [], None
    for _ in range(MAX_PAGES):
        response = client.list_repository_tag(ListRepositoryTagRequest(
            namespace=BIG_NAMESPACE, repository=BIG_REPOSITORY, marker=marker, **query))
        pages.append(response)
        if response.next_marker is None:
            return pages
        marker = response.next_marker
    pytest.fail("nextMarker never went away after %d pages" % MAX_PAGES)


def assert_page_flags(pages):
    """has_more is true and nextMarker is a non-empty string on every page but the last."""
    for page in pages[:-1]:
        assert page.has_more is True
        assert isinstance(page.next_marker, str) and page.next_marker
    assert pages[-1].has_more is False
    assert pages[-1].next_marker is None


def test_default_fixture_tag_matches_seed_004_field_by_field(swr):
    # Act
    response = list_default(swr)

    # Assert
    assert response.status_code == 200
    assert response.has_more is False
    assert response.next_marker is None
    assert len(response.tags) == 1
    item = response.tags[0]
    for name, want in SEED_004_ITEM.items():
        assert getattr(item, name) == want, name
    assert set(item.to_dict()) == set(SEED_004_ITEM)


def test_with_manifest_true_returns_the_full_manifest(swr):
    # Act
    with_manifest = list_default(swr, with_manifest=True)
    without_manifest = list_default(swr, with_manifest=False)

    # Assert
    assert with_manifest.tags[0].manifest == SEED_003_MANIFEST
    assert without_manifest.tags[0].manifest == ""


@pytest.mark.parametrize("limit, expected_pages", [(100, 25), (7, 358), (1000, 3)])
def test_marker_walk_lists_every_tag_exactly_once_newest_first(big_swr, limit, expected_pages):
    # Act
    pages = walk(big_swr, limit=limit)

    # Assert
    assert len(pages) == expected_pages
    assert all(len(page.tags) == limit for page in pages[:-1])
    assert_page_flags(pages)
    items = [item for page in pages for item in page.tags]
    expected_order = list(range(BIG_TAG_COUNT - 1, -1, -1))  # updated_at desc = reverse index order
    assert [item.tag for item in items] == [generated_tag_name(i) for i in expected_order]
    assert [item.updated for item in items] == [generated_tag_updated(i) for i in expected_order]


def test_default_limit_is_100(big_swr):
    # Act
    response = big_swr.list_repository_tag(ListRepositoryTagRequest(namespace=BIG_NAMESPACE, repository=BIG_REPOSITORY))

    # Assert
    assert len(response.tags) == 100
    assert response.has_more is True
    assert response.next_marker


def test_order_column_tag_ascending_walks_in_name_order(big_swr):
    # Act
    pages = walk(big_swr, limit=1000, order_column="tag", order_type="asc")

    # Assert
    assert_page_flags(pages)
    assert [item.tag for page in pages for item in page.tags] == [generated_tag_name(i) for i in range(BIG_TAG_COUNT)]


def test_tag_filter_is_a_fuzzy_match_and_pages_within_the_matches(big_swr):
    # Act: "V00024" matches v0002400..v0002499 (case-insensitively)
    pages = walk(big_swr, tag="V00024", limit=30)

    # Assert
    assert len(pages) == 4
    assert_page_flags(pages)
    assert [item.tag for page in pages for item in page.tags] == [generated_tag_name(i) for i in range(2499, 2399, -1)]


def test_tag_filter_without_matches_gives_an_empty_last_page(big_swr):
    # Act
    response = big_swr.list_repository_tag(ListRepositoryTagRequest(
        namespace=BIG_NAMESPACE, repository=BIG_REPOSITORY, tag="no-such-tag"))

    # Assert
    assert response.tags == []
    assert response.has_more is False
    assert response.next_marker is None
