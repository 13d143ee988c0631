"""Fidelity round 2 (issue 16) through the official Python SDK, in strict mode.

What the SDK can send is tested here; what it cannot (the Go SDK's wire bodies, a wrong
method, ListTags' unmodelled `tag`/`marker`/`sort_*`/`__isregistered`, Keystone filters)
is tested over raw HTTP in tests/it/fidelity.rs. CONFORMANCE.md cites both, rule by rule.
"""
import pytest
from huaweicloudsdkims.v2 import (AddImageTagRequest, AddImageTagRequestBody, BatchAddOrDeleteTagsRequest,
                                  BatchAddOrDeleteTagsRequestBody, BatchDeleteTagsRequest,
                                  BatchDeleteTagsRequestBody, CreateOrUpdateTagsRequest, AddOrUpdateTagsRequestBody,
                                  ListImageByTagsRequest, ListImageByTagsRequestBody, ListImageTagsRequest,
                                  ListTagsRequest, ResourceTag, TagKeyValue, Tags)
from huaweicloudsdkswr.v2 import ListRepositoryTagRequest, ListRepositoryTagsRequest

from support import expect_client_error, make_ims_client, make_swr_client

IMG1 = "67e17426-359e-49fb-aa12-0bd1756ec240"
IMG2 = "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
IMG3 = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"


@pytest.fixture
def w(own_server):
    return make_ims_client(own_server)


def image_tags(client, image_id):
    return [(t.key, t.value) for t in client.list_image_tags(ListImageTagsRequest(image_id=image_id)).tags]


def add(client, image_id, tag):
    return client.add_image_tag(AddImageTagRequest(image_id=image_id, body=AddImageTagRequestBody(tag=tag)))


# Item 1: the tag-format page's characters (ims_03_0902)
def test_every_character_the_tag_format_page_allows_is_stored_through_the_sdk(w):
    key, value = "Ab9 中文_.:+-@z", "v/w x_.:+-@中"
    assert add(w, IMG2, ResourceTag(key=key, value=value)).status_code == 204
    assert image_tags(w, IMG2)[-1] == (key, value)


@pytest.mark.parametrize("key, value", [("a*b<c>", "v"), ("k", "x/y|z"), (" lead", "v"), ("k/v", "v")],
                         ids=["key with * < >", "value with |", "leading space", "key with /"])
def test_forbidden_characters_are_400_img_0115_on_every_create_path(w, key, value):
    before = image_tags(w, IMG2)
    expect_client_error(lambda: add(w, IMG2, ResourceTag(key=key, value=value)), 400, "IMG.0115")
    expect_client_error(lambda: w.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(
        image_id=IMG2, body=BatchAddOrDeleteTagsRequestBody(action="create", tags=[ResourceTag(key=key, value=value)]))),
        400, "IMG.0115")
    expect_client_error(lambda: w.create_or_update_tags(CreateOrUpdateTagsRequest(
        body=AddOrUpdateTagsRequestBody(image_id=IMG2, image_tag=TagKeyValue(key=key, value=value)))), 400, "IMG.0115")
    assert image_tags(w, IMG2) == before


# Item 2: an empty value deletes by key (what the Go SDK always sends)
def test_an_empty_value_deletes_by_key_in_both_delete_operations(w):
    response = w.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(
        image_id=IMG1, body=BatchAddOrDeleteTagsRequestBody(action="delete", tags=[ResourceTag(key="key9", value="")])))
    assert response.status_code == 204
    assert image_tags(w, IMG1) == [("key8", "")]
    response = w.batch_delete_tags(BatchDeleteTagsRequest(
        image_id=IMG3, body=BatchDeleteTagsRequestBody(tags=[ResourceTag(key="key3", value="")])))
    assert response.status_code == 204
    assert image_tags(w, IMG3) == [("key9", "value9"), ("key8", "")]


# Item 6: a tag being created needs its value (it may be "")
def test_add_image_tag_without_a_value_is_400_img_0001(w):
    expect_client_error(lambda: add(w, IMG2, ResourceTag(key="k")), 400, "IMG.0001")
    assert add(w, IMG2, ResourceTag(key="k", value="")).status_code == 204


# Item 4: ListTags through the SDK (it always sends X-Project-Id): one project, paged
def test_list_tags_pages_over_the_callers_project_only(w):
    assert w.list_tags(ListTagsRequest(limit=1, page=1)).tags == ["key3=value3", "key9=value9", "key8"]
    assert w.list_tags(ListTagsRequest(limit=1, page=2)).tags == ["key3=valueXX"]
    assert "owner=tenant2" not in w.list_tags(ListTagsRequest()).tags


# Item 5: SWR names with repeated hyphens are valid names (404 when absent, not 400)
def test_swr_names_with_repeated_hyphens_are_valid(own_server):
    swr = make_swr_client(own_server)
    expect_client_error(lambda: swr.list_repository_tag(ListRepositoryTagRequest(namespace="a--b", repository="c--d")),
                        404, "SVCSTG.SWR.4040058")
    expect_client_error(lambda: swr.list_repository_tags(ListRepositoryTagsRequest(namespace="a-", repository="c")),
                        400, "SVCSTG.SWR.4001028")


# Item 7: SWR v2 limit without offset
def test_swr_v2_limit_without_offset_is_400_4001072(own_server):
    swr = make_swr_client(own_server)
    expect_client_error(lambda: swr.list_repository_tags(
        ListRepositoryTagsRequest(namespace="namespace", repository="busybox", limit="10")), 400, "SVCSTG.SWR.4001072")
    response = swr.list_repository_tags(
        ListRepositoryTagsRequest(namespace="namespace", repository="busybox", limit="10", offset="0"))
    assert response.content_range == "0-1/1"


# Item 8: ListImageByTags needs `values`
def test_list_image_by_tags_without_values_is_400_img_0001(w):
    expect_client_error(lambda: w.list_image_by_tags(ListImageByTagsRequest(
        body=ListImageByTagsRequestBody(action="count", tags=[Tags(key="key9")]))), 400, "IMG.0001")
    response = w.list_image_by_tags(ListImageByTagsRequest(
        body=ListImageByTagsRequestBody(action="count", tags=[Tags(key="key9", values=[])])))
    assert response.total_count == 2


# Item 8: IMG.0027 is a 400, as the error table lists it
def test_an_unknown_image_is_400_img_0027(w):
    expect_client_error(lambda: w.list_image_tags(ListImageTagsRequest(image_id="00000000-0000-4000-8000-00000000dead")),
                        400, "IMG.0027")
