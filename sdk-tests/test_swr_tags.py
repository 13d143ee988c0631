"""SWR single-tag operations through the official Python SDK (SwrClient v2):
ShowRepoTag, CreateRepoTag and DeleteRepoTag, with their effect on the v2
(`list_repository_tags`, bare array + Content-Range) and v3 (`list_repository_tag`) lists,
and the admin push door (`PUT /_mock/swr/...`) used to create a repository the SDK then lists.

Default fixture: namespace/busybox:latest (id 1, repo_id 1, tenant 1) and tenant 2's
othernamespace/nginx:1.25 (id 2). Tests that write own their server (`own_server`).
"""
import calendar
import json
import time

import pytest
from huaweicloudsdkswr.v2 import (CreateRepoTagRequest, CreateRepoTagRequestBody, DeleteRepoTagRequest,
                                  ListRepositoryTagRequest, ListRepositoryTagsRequest, ShowRepoTagRequest,
                                  ShowRepoTagResponse)

from seeds import SEED_003_MANIFEST, SEED_004_ITEM
from support import DEFAULT_PROJECT_ID, admin_put_swr_tag, expect_client_error, make_swr_client

NS, REPO = "namespace", "busybox"
OTHER_PROJECT = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
REGISTRY, INTERNAL = "swr.cn-north-1.myhuaweicloud.com", "10.125.0.198:20202"

# ShowRepoTag answers the v3 item's fields with the FULL manifest.
SEED_SHOW = dict(SEED_004_ITEM, manifest=SEED_003_MANIFEST)
COPIED_FIELDS = ("repo_id", "image_id", "manifest", "digest", "schema", "size", "is_trusted", "domain_id", "tag_type")


# ---------------------------------------------------------------------------
# Views through the SDK
# ---------------------------------------------------------------------------
def show(client, tag, namespace=NS, repository=REPO):
    return client.show_repo_tag(ShowRepoTagRequest(namespace=namespace, repository=repository, tag=tag))


def create(client, source, destination, override=False, namespace=NS, repository=REPO):
    return client.create_repo_tag(CreateRepoTagRequest(namespace=namespace, repository=repository,
                                                       body=CreateRepoTagRequestBody(source_tag=source,
                                                                                     destination_tag=destination,
                                                                                     override=override)))


def delete(client, tag, namespace=NS, repository=REPO):
    return client.delete_repo_tag(DeleteRepoTagRequest(namespace=namespace, repository=repository, tag=tag))


def v2_list(client, namespace=NS, repository=REPO):
    """(tag names, Content-Range) of the v2 list, default order (updated desc)."""
    response = client.list_repository_tags(ListRepositoryTagsRequest(namespace=namespace, repository=repository))
    return [item.tag for item in (response.body or [])], response.content_range


def v3_list(client, namespace=NS, repository=REPO):
    """(tag names, has_more) of the v3 list, default order (updated desc)."""
    response = client.list_repository_tag(ListRepositoryTagRequest(namespace=namespace, repository=repository))
    return [item.tag for item in response.tags], response.has_more


def fields(response):
    return {name: getattr(response, name) for name in SEED_SHOW}


def epoch(stamp):
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def assert_recent(stamp, slack_s=120):
    assert abs(epoch(stamp) - time.time()) <= slack_s, stamp


def tenant2(server):
    return make_swr_client(server, project_id=OTHER_PROJECT, ak="AKOTHER", sk="SKOTHER")


@pytest.fixture
def w(own_server):
    """A SWR client on this test's own server (for tests that write)."""
    return make_swr_client(own_server, project_id=DEFAULT_PROJECT_ID)


# ---------------------------------------------------------------------------
# ShowRepoTag
# ---------------------------------------------------------------------------
def test_show_repo_tag_returns_every_field_with_the_full_manifest(swr):
    # Act
    response = show(swr, "latest")

    # Assert
    assert isinstance(response, ShowRepoTagResponse)
    assert response.status_code == 200
    assert fields(response) == SEED_SHOW
    # ...no model field is left out, and the wire keys are exactly the model's (lowercase `tag`,
    # unlike the v2 list's `Tag`)
    assert set(ShowRepoTagResponse.openapi_types) == set(SEED_SHOW)
    assert set(json.loads(response.raw_content)) == set(ShowRepoTagResponse.attribute_map.values())


def test_show_repo_tag_error_paths(swr):
    expect_client_error(lambda: show(swr, "missing"), 404, "SVCSTG.SWR.4040048")
    expect_client_error(lambda: show(swr, "-bad!"), 400, "SVCSTG.SWR.4009021")
    expect_client_error(lambda: show(swr, "latest", repository="nope"), 404, "SVCSTG.SWR.4040010")


# ---------------------------------------------------------------------------
# CreateRepoTag
# ---------------------------------------------------------------------------
def test_create_repo_tag_copies_the_source_and_is_listed_first(w):
    # Act
    response = create(w, "latest", "v2")

    # Assert
    assert response.status_code == 201
    assert response.raw_content in (b"", None)
    new, source = show(w, "v2"), show(w, "latest")
    assert fields(source) == SEED_SHOW
    assert new.id == 3
    assert new.tag == "v2"
    for name in COPIED_FIELDS:
        assert getattr(new, name) == SEED_SHOW[name], name
    assert new.path == "%s/%s/%s:v2" % (REGISTRY, NS, REPO)
    assert new.internal_path == "%s/%s/%s:v2" % (INTERNAL, NS, REPO)
    assert new.created == new.updated
    assert_recent(new.created)
    assert v2_list(w) == (["v2", "latest"], "0-2/2")
    assert v3_list(w) == (["v2", "latest"], False)


def test_create_repo_tag_with_override_replaces_the_destination_keeping_id_and_created(own_server, w):
    # Arrange: a second source with its own content, pushed through the admin door
    status, pushed = admin_put_swr_tag(own_server, NS, REPO, "src", {"size": 42, "updated": "2020-01-01T00:00:00Z"})
    assert status == 201
    assert v2_list(w) == (["src", "latest"], "0-2/2")  # src updated 2020, latest 2018

    # Act
    response = create(w, "src", "latest", override=True)

    # Assert
    assert response.status_code == 201
    replaced = show(w, "latest")
    assert (replaced.id, replaced.created, replaced.tag) == (1, SEED_SHOW["created"], "latest")
    assert replaced.updated != SEED_SHOW["updated"]
    assert_recent(replaced.updated)
    for name in ("image_id", "digest", "manifest", "size"):
        assert getattr(replaced, name) == pushed[name], name
    assert replaced.size == 42
    assert replaced.path == "%s/%s/%s:latest" % (REGISTRY, NS, REPO)
    assert v2_list(w) == (["latest", "src"], "0-2/2")
    assert v3_list(w) == (["latest", "src"], False)


def test_create_repo_tag_onto_an_existing_tag_without_override_is_409(w):
    # Arrange
    create(w, "latest", "v2")
    before = fields(show(w, "v2"))

    # Act / Assert
    expect_client_error(lambda: create(w, "latest", "v2"), 409, "SVCSTG.SWR.4090006")
    expect_client_error(lambda: create(w, "v2", "latest", override=False), 409, "SVCSTG.SWR.4090006")
    assert fields(show(w, "v2")) == before
    assert fields(show(w, "latest")) == SEED_SHOW
    assert v2_list(w) == (["v2", "latest"], "0-2/2")


def test_create_repo_tag_error_paths(own_server, w):
    expect_client_error(lambda: create(w, "missing", "v2"), 404, "SVCSTG.SWR.4040048")
    expect_client_error(lambda: create(w, "latest", "v2", repository="nope"), 404, "SVCSTG.SWR.4040010")
    expect_client_error(lambda: create(w, "1.25", "mine", namespace="othernamespace", repository="nginx"),
                        403, "SVCSTG.SWR.4030170")
    assert v2_list(w) == (["latest"], "0-1/1")
    assert v3_list(tenant2(own_server), "othernamespace", "nginx") == (["1.25"], False)


# ---------------------------------------------------------------------------
# DeleteRepoTag
# ---------------------------------------------------------------------------
def test_delete_repo_tag_is_204_and_gone_from_both_lists(w):
    # Arrange
    create(w, "latest", "v2")

    # Act
    response = delete(w, "latest")

    # Assert
    assert response.status_code == 204
    expect_client_error(lambda: show(w, "latest"), 404, "SVCSTG.SWR.4040048")
    assert v2_list(w) == (["v2"], "0-1/1")
    assert v3_list(w) == (["v2"], False)
    assert delete(w, "v2").status_code == 204
    assert v2_list(w) == ([], "0-0/0")
    assert v3_list(w) == ([], False)


def test_delete_repo_tag_error_paths(own_server, w):
    expect_client_error(lambda: delete(w, "missing"), 404, "SVCSTG.SWR.4040048")
    expect_client_error(lambda: delete(w, "1.25", namespace="othernamespace", repository="nginx"),
                        403, "SVCSTG.SWR.4030170")
    assert v2_list(w) == (["latest"], "0-1/1")
    assert v3_list(tenant2(own_server), "othernamespace", "nginx") == (["1.25"], False)


# ---------------------------------------------------------------------------
# Admin push door + SDK
# ---------------------------------------------------------------------------
def test_a_repository_pushed_through_the_admin_door_is_served_to_the_sdk(own_server, w):
    # Act
    first_status, first = admin_put_swr_tag(own_server, "pushedns", "app", "v1", {"size": 42})
    again_status, _ = admin_put_swr_tag(own_server, "pushedns", "app", "v1", {"size": 43})

    # Assert
    assert (first_status, again_status) == (201, 200)
    assert v2_list(w, "pushedns", "app") == (["v1"], "0-1/1")
    assert v3_list(w, "pushedns", "app") == (["v1"], False)
    shown = show(w, "v1", "pushedns", "app")
    assert (shown.tag, shown.id, shown.size) == ("v1", first["id"], 43)
    assert shown.path == "%s/pushedns/app:v1" % REGISTRY
    assert create(w, "v1", "v2", namespace="pushedns", repository="app").status_code == 201
    assert v2_list(w, "pushedns", "app") == (["v2", "v1"], "0-2/2")
    assert delete(w, "v1", "pushedns", "app").status_code == 204
    assert v3_list(w, "pushedns", "app") == (["v2"], False)
