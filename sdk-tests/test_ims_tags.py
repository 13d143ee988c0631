"""The whole IMS image-tag family through the official Python SDK (ImsClient v2):

  ListImagesTags, ListImageTags, AddImageTag, BatchAddOrDeleteTags, DeleteImageTag,
  ListImageByTags, BatchDeleteTags (v1), CreateOrUpdateTags (v1), ListTags (v1),
  GlanceCreateTag, GlanceDeleteTag.

Each operation: the SDK's parsed answer, the effect as seen through the list operations
(also through the SDK), and its main error paths as SDK exceptions. Tests that write own
their server (`own_server`); read-only tests share the module's `default_server`.

Default fixture, project fd73... (fixture order):
  IMG1 seed-image-1  key9=value9, key8=""
  IMG2 seed-image-2  key3=valueXX
  IMG3 seed-image-3  key3=value3, key9=value9, key8=""   (newest)
Tenant 2 (AKOTHER/SKOTHER, project 0b0b...) owns OTHER_IMG (owner=tenant2).
"""
import pytest
from huaweicloudsdkims.v2 import (AddImageTagRequest, AddImageTagRequestBody, AddOrUpdateTagsRequestBody,
                                  BatchAddOrDeleteTagsRequest, BatchAddOrDeleteTagsRequestBody,
                                  BatchDeleteTagsRequest, BatchDeleteTagsRequestBody, CreateOrUpdateTagsRequest,
                                  DeleteImageTagRequest, GlanceCreateTagRequest, GlanceDeleteTagRequest,
                                  ListImageByTagsRequest, ListImageByTagsRequestBody, ListImageByTagsResponse,
                                  ListImagesTagsRequest, ListImageTagsRequest, ListImageTagsResponse,
                                  ListTagsRequest, ListTagsResponse, QueryImageByTagsResourceDetail, ResourceTag,
                                  ShowImageByTagsResource, TagKeyValue, Tags)

from support import expect_client_error, make_ims_client

# GlanceCreateTag/GlanceDeleteTag are deprecated in the SDK (it warns on every call); they are
# still part of the tag family this module covers.
pytestmark = pytest.mark.filterwarnings("ignore:Method 'glance_.*' of ImsClient is deprecated:DeprecationWarning")

IMG1 = "67e17426-359e-49fb-aa12-0bd1756ec240"
IMG2 = "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
IMG3 = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
UNKNOWN_IMG = "00000000-0000-4000-8000-00000000dead"
OTHER_PROJECT = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
OTHER_IMG = "0b0b0b0b-0000-4000-8000-000000000001"

SEED_IMAGE_TAGS = {
    IMG1: [("key9", "value9"), ("key8", "")],
    IMG2: [("key3", "valueXX")],
    IMG3: [("key3", "value3"), ("key9", "value9"), ("key8", "")],
}
SEED_AGGREGATE = [("key9", ["value9"]), ("key8", [""]), ("key3", ["valueXX", "value3"])]
SEED_V1_TAGS = ["key3=value3", "key9=value9", "key8", "key3=valueXX"]  # newest image first


# ---------------------------------------------------------------------------
# Views through the SDK
# ---------------------------------------------------------------------------
def image_tags(client, image_id):
    """ListImageTags as [(key, value)] in the server's order."""
    return [(t.key, t.value) for t in client.list_image_tags(ListImageTagsRequest(image_id=image_id)).tags]


def aggregate(client):
    """ListImagesTags as [(key, values)]."""
    return [(t.key, t.values) for t in client.list_images_tags(ListImagesTagsRequest()).tags]


def by_tags(client, **body):
    """ListImageByTags (action filter unless given) → the SDK response."""
    body.setdefault("action", "filter")
    return client.list_image_by_tags(ListImageByTagsRequest(body=ListImageByTagsRequestBody(**body)))


def found_ids(client, **body):
    return [r.resource_id for r in (by_tags(client, **body).resources or [])]


def v1_tags(client, **query):
    """ListTags (GET /v1/cloudimages/tags) → its list of strings."""
    return client.list_tags(ListTagsRequest(**query)).tags


def tag(key, value=None):
    return ResourceTag(key=key, value=value)


def add(client, image_id, key, value):
    return client.add_image_tag(AddImageTagRequest(image_id=image_id, body=AddImageTagRequestBody(
        tag=ResourceTag(key=key, value=value))))


def batch(client, image_id, action, tags):
    return client.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(
        image_id=image_id, body=BatchAddOrDeleteTagsRequestBody(action=action, tags=tags)))


def v1_delete(client, image_id, tags):
    return client.batch_delete_tags(BatchDeleteTagsRequest(image_id=image_id,
                                                           body=BatchDeleteTagsRequestBody(tags=tags)))


def v1_put(client, **body):
    return client.create_or_update_tags(CreateOrUpdateTagsRequest(body=AddOrUpdateTagsRequestBody(**body)))


def snapshot(client):
    """Every view at once: per-image tags, the aggregate, and the v1 list."""
    return ({image: image_tags(client, image) for image in (IMG1, IMG2, IMG3)}, aggregate(client), v1_tags(client))


SEED_SNAPSHOT = (SEED_IMAGE_TAGS, SEED_AGGREGATE, SEED_V1_TAGS)


def tenant2(server):
    return make_ims_client(server, project_id=OTHER_PROJECT, ak="AKOTHER", sk="SKOTHER")


@pytest.fixture
def w(own_server):
    """An IMS client on this test's own server (for tests that write)."""
    return make_ims_client(own_server)


# ---------------------------------------------------------------------------
# ListImagesTags (aggregate) — write visibility; the seed answer is in test_ims.py
# ---------------------------------------------------------------------------
def test_list_images_tags_follows_writes_first_appearance_order_and_value_disappearance(w):
    # Arrange
    assert aggregate(w) == SEED_AGGREGATE

    # Act / Assert: a new key goes to the end
    add(w, IMG3, "env", "prod")
    assert aggregate(w) == SEED_AGGREGATE + [("env", ["prod"])]

    # a replaced value that another image still carries stays; the new value is appended
    add(w, IMG1, "key9", "new9")
    assert aggregate(w)[0] == ("key9", ["value9", "new9"])

    # a value no image carries any more disappears
    add(w, IMG2, "key3", "zz")
    assert aggregate(w)[2] == ("key3", ["value3", "zz"])

    # ...and when re-added it goes to the end
    add(w, IMG1, "key3", "valueXX")
    assert aggregate(w)[2] == ("key3", ["value3", "zz", "valueXX"])

    # a key no image carries any more disappears
    batch(w, IMG3, "delete", [tag("env")])
    assert [key for key, _ in aggregate(w)] == ["key9", "key8", "key3"]


@pytest.mark.parametrize("write", [
    lambda c: add(c, IMG2, "env", "prod"),
    lambda c: c.glance_create_tag(GlanceCreateTagRequest(image_id=IMG2, tag="beta")),
], ids=["AddImageTag", "GlanceCreateTag"])
def test_a_write_to_an_image_does_not_reorder_the_aggregate_values_it_did_not_touch(w, write):
    """Regression guard: IMG2 carries key3=valueXX from the start and keeps it. Adding an
    unrelated key to IMG2 must leave key3's values in first-appearance order
    [valueXX, value3]; the aggregate only appends the new key."""
    # Act
    write(w)

    # Assert
    assert image_tags(w, IMG2)[0] == ("key3", "valueXX")
    assert aggregate(w)[:3] == SEED_AGGREGATE


def test_a_write_to_an_image_does_not_move_its_other_keys_behind_newer_keys_in_the_aggregate(w):
    """Same rule for keys: `only2` (carried by IMG2 alone) first appeared before `alpha`, and
    IMG2 keeps it, so a later unrelated write to IMG2 must not move it behind `alpha`."""
    # Arrange
    add(w, IMG2, "only2", "a")
    add(w, IMG1, "alpha", "b")
    assert [key for key, _ in aggregate(w)] == ["key9", "key8", "key3", "only2", "alpha"]

    # Act
    add(w, IMG2, "zzz", "c")

    # Assert
    assert [key for key, _ in aggregate(w)] == ["key9", "key8", "key3", "only2", "alpha", "zzz"]


# ---------------------------------------------------------------------------
# ListImageTags
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("image_id", [IMG1, IMG2, IMG3])
def test_list_image_tags_returns_the_seed_tags_in_insertion_order(ims, image_id):
    # Act
    response = ims.list_image_tags(ListImageTagsRequest(image_id=image_id))

    # Assert
    assert isinstance(response, ListImageTagsResponse)
    assert response.status_code == 200
    assert all(isinstance(t, ResourceTag) for t in response.tags)
    assert [(t.key, t.value) for t in response.tags] == SEED_IMAGE_TAGS[image_id]


def test_list_image_tags_of_an_unknown_image_is_400_img_0027(ims):
    expect_client_error(lambda: ims.list_image_tags(ListImageTagsRequest(image_id=UNKNOWN_IMG)), 400, "IMG.0027")


# ---------------------------------------------------------------------------
# AddImageTag
# ---------------------------------------------------------------------------
def test_add_image_tag_is_204_and_visible_in_every_list(w):
    # Act
    response = add(w, IMG1, "team", "blue")

    # Assert
    assert response.status_code == 204
    assert image_tags(w, IMG1) == [("key9", "value9"), ("key8", ""), ("team", "blue")]
    assert aggregate(w) == SEED_AGGREGATE + [("team", ["blue"])]
    assert found_ids(w, tags=[Tags(key="team", values=["blue"])]) == [IMG1]
    assert v1_tags(w) == SEED_V1_TAGS + ["team=blue"]


def test_add_image_tag_with_an_existing_key_replaces_the_value_in_place(w):
    # Act
    response = add(w, IMG3, "key9", "replaced")

    # Assert
    assert response.status_code == 204
    assert image_tags(w, IMG3) == [("key3", "value3"), ("key9", "replaced"), ("key8", "")]
    assert found_ids(w, tags=[Tags(key="key9", values=["replaced"])]) == [IMG3]


def test_add_image_tag_accepts_the_longest_key_and_value_and_an_empty_value(w):
    # Act: 128 and 255 characters (Image Tag Format, ims_03_0902)
    add(w, IMG2, "k" * 128, "v" * 255)
    add(w, IMG2, "empty", "")

    # Assert
    assert image_tags(w, IMG2)[1:] == [("k" * 128, "v" * 255), ("empty", "")]


@pytest.mark.parametrize("key, value", [("", "v"), ("   ", "v"), ("k" * 129, "v"), ("k", "v" * 256),
                                        ("a*b<c>", "v"), ("k", "x/y|z"), (" lead", "v"), ("k", "trail ")],
                         ids=["empty key", "blank key", "key of 129", "value of 256", "key with * < >",
                              "value with |", "key with a leading space", "value with a trailing space"])
def test_add_image_tag_with_an_invalid_tag_is_400_img_0115_and_changes_nothing(w, key, value):
    # Act / Assert
    expect_client_error(lambda: add(w, IMG1, key, value), 400, "IMG.0115")
    assert snapshot(w) == SEED_SNAPSHOT


def test_add_image_tag_beyond_twenty_tags_is_400_img_0116_but_replacing_at_twenty_works(w):
    # Arrange: IMG1 has 2 tags; 18 more makes the quota of 20
    for i in range(18):
        add(w, IMG1, "q%d" % i, "v")
    assert len(image_tags(w, IMG1)) == 20

    # Act / Assert
    expect_client_error(lambda: add(w, IMG1, "twenty-first", "v"), 400, "IMG.0116")
    assert len(image_tags(w, IMG1)) == 20
    assert "twenty-first" not in [key for key, _ in aggregate(w)]
    assert add(w, IMG1, "q0", "again").status_code == 204
    assert image_tags(w, IMG1)[2] == ("q0", "again")


def test_add_image_tag_error_paths(own_server, w):
    # Act / Assert
    expect_client_error(lambda: add(w, UNKNOWN_IMG, "k", "v"), 400, "IMG.0027")
    other_project = make_ims_client(own_server, project_id=OTHER_PROJECT)
    expect_client_error(lambda: add(other_project, OTHER_IMG, "k", "v"), 400, "IMG.0030")
    assert snapshot(w) == SEED_SNAPSHOT
    assert image_tags(tenant2(own_server), OTHER_IMG) == [("owner", "tenant2")]


# ---------------------------------------------------------------------------
# BatchAddOrDeleteTags
# ---------------------------------------------------------------------------
def test_batch_create_adds_new_tags_and_replaces_existing_ones_in_place(w):
    # Act
    response = batch(w, IMG1, "create", [tag("key8", "now-set"), tag("a", "1"), tag("b", "")])

    # Assert
    assert response.status_code == 204
    assert image_tags(w, IMG1) == [("key9", "value9"), ("key8", "now-set"), ("a", "1"), ("b", "")]
    assert aggregate(w) == [("key9", ["value9"]), ("key8", ["", "now-set"]), ("key3", ["valueXX", "value3"]),
                            ("a", ["1"]), ("b", [""])]
    assert found_ids(w, tags=[Tags(key="a", values=[])]) == [IMG1]


def test_batch_create_up_to_exactly_twenty_tags_counting_replacements_once(w):
    # Act: IMG3 has 3 tags; 17 new keys + 1 replacement = 20
    tags = [tag("n%d" % i, "v") for i in range(17)] + [tag("key3", "r")]
    response = batch(w, IMG3, "create", tags)

    # Assert
    assert response.status_code == 204
    assert len(image_tags(w, IMG3)) == 20
    assert image_tags(w, IMG3)[0] == ("key3", "r")


def test_batch_delete_by_key_by_key_and_value_and_missing_tags_is_204(w):
    # Act: key9 (no value) goes whatever its value; key3=value3 matches; key8=other does not match;
    # "ghost" does not exist and counts as deleted.
    response = batch(w, IMG3, "delete", [tag("key9"), tag("key3", "value3"), tag("key8", "other"), tag("ghost")])

    # Assert
    assert response.status_code == 204
    assert image_tags(w, IMG3) == [("key8", "")]
    assert image_tags(w, IMG1) == SEED_IMAGE_TAGS[IMG1]
    assert aggregate(w) == [("key9", ["value9"]), ("key8", [""]), ("key3", ["valueXX"])]
    assert v1_tags(w) == ["key8", "key3=valueXX", "key9=value9"]


def test_batch_delete_accepts_the_longest_delete_key_and_value(w):
    # Act / Assert: delete only checks lengths (key <= 128, value <= 255); a missing tag is fine
    assert batch(w, IMG1, "delete", [tag("k" * 128, "v" * 255)]).status_code == 204
    assert snapshot(w) == SEED_SNAPSHOT


def test_batch_create_that_would_exceed_twenty_tags_changes_nothing(w):
    # Arrange: IMG3 has 3 tags; 18 new ones would make 21
    tags = [tag("n%d" % i, "v") for i in range(18)]

    # Act / Assert
    expect_client_error(lambda: batch(w, IMG3, "create", tags), 400, "IMG.0116")
    assert snapshot(w) == SEED_SNAPSHOT
    assert found_ids(w, tags=[Tags(key="n0", values=[])]) == []


def test_batch_create_with_one_invalid_key_changes_nothing(w):
    # Arrange: valid tags (one of them a replacement) around one key of 129 characters
    tags = [tag("ok1", "v"), tag("key9", "changed"), tag("k" * 129, "v"), tag("ok2", "v")]

    # Act / Assert
    expect_client_error(lambda: batch(w, IMG1, "create", tags), 400, "IMG.0115")
    assert snapshot(w) == SEED_SNAPSHOT


@pytest.mark.parametrize("action, tags, status, code", [
    ("create", [tag("dup", "1"), tag("dup", "2")], 400, "IMG.0115"),
    ("delete", [tag("key9"), tag("key9")], 400, "IMG.0115"),
    ("create", [], 400, "IMG.0115"),
    ("delete", [], 400, "IMG.0115"),
    ("create", [tag("k", "v" * 256)], 400, "IMG.0115"),
    ("create", [tag("", "v")], 400, "IMG.0115"),
    ("create", [tag("k")], 400, "IMG.0001"),
    ("create", [tag("a|b", "v")], 400, "IMG.0115"),
    ("delete", [tag("k" * 129)], 400, "IMG.0115"),
    ("delete", [tag("key9", "v" * 256)], 400, "IMG.0115"),
    ("update", [tag("k", "v")], 400, "IMG.0001"),
], ids=["duplicate create keys", "duplicate delete keys", "empty create", "empty delete", "create value of 256",
        "create empty key", "create without a value", "create key with |", "delete key of 129", "delete value of 256",
        "unknown action"])
def test_batch_error_paths_change_nothing(w, action, tags, status, code):
    # Act / Assert
    expect_client_error(lambda: batch(w, IMG1, action, tags), status, code)
    assert snapshot(w) == SEED_SNAPSHOT


def test_batch_on_an_unknown_image_or_another_tenants_project_fails(own_server, w):
    expect_client_error(lambda: batch(w, UNKNOWN_IMG, "create", [tag("k", "v")]), 400, "IMG.0027")
    other_project = make_ims_client(own_server, project_id=OTHER_PROJECT)
    expect_client_error(lambda: batch(other_project, OTHER_IMG, "delete", [tag("owner")]), 400, "IMG.0030")
    assert image_tags(tenant2(own_server), OTHER_IMG) == [("owner", "tenant2")]


# ---------------------------------------------------------------------------
# DeleteImageTag
# ---------------------------------------------------------------------------
def test_delete_image_tag_is_204_and_gone_from_every_list(w):
    # Act
    first = w.delete_image_tag(DeleteImageTagRequest(image_id=IMG1, key="key9"))
    second = w.delete_image_tag(DeleteImageTagRequest(image_id=IMG3, key="key9"))

    # Assert
    assert (first.status_code, second.status_code) == (204, 204)
    assert image_tags(w, IMG1) == [("key8", "")]
    assert image_tags(w, IMG3) == [("key3", "value3"), ("key8", "")]
    assert aggregate(w) == [("key8", [""]), ("key3", ["valueXX", "value3"])]
    assert found_ids(w, tags_any=[Tags(key="key9", values=[])]) == []
    assert v1_tags(w) == ["key3=value3", "key8", "key3=valueXX"]


def test_delete_image_tag_with_a_percent_encoded_key(w):
    # Arrange: the SDK percent-encodes the space, the colon, the at and the plus sign in the path
    add(w, IMG2, "k 1:x@y+z", "odd")
    assert image_tags(w, IMG2)[-1] == ("k 1:x@y+z", "odd")

    # Act
    response = w.delete_image_tag(DeleteImageTagRequest(image_id=IMG2, key="k 1:x@y+z"))

    # Assert
    assert response.status_code == 204
    assert image_tags(w, IMG2) == SEED_IMAGE_TAGS[IMG2]


def test_deleting_every_tag_makes_the_image_untagged_for_list_image_by_tags(w):
    # Act
    w.delete_image_tag(DeleteImageTagRequest(image_id=IMG2, key="key3"))

    # Assert
    assert image_tags(w, IMG2) == []
    assert found_ids(w, without_any_tag=True) == [IMG2]


def test_delete_image_tag_error_paths(own_server, w):
    expect_client_error(lambda: w.delete_image_tag(DeleteImageTagRequest(image_id=IMG1, key="nope")), 404, "IMG.0121")
    expect_client_error(lambda: w.delete_image_tag(DeleteImageTagRequest(image_id=IMG2, key="key9")), 404, "IMG.0121")
    expect_client_error(lambda: w.delete_image_tag(DeleteImageTagRequest(image_id=UNKNOWN_IMG, key="key9")),
                        400, "IMG.0027")
    other_project = make_ims_client(own_server, project_id=OTHER_PROJECT)
    expect_client_error(lambda: other_project.delete_image_tag(DeleteImageTagRequest(image_id=OTHER_IMG, key="owner")),
                        400, "IMG.0030")
    assert snapshot(w) == SEED_SNAPSHOT
    assert image_tags(tenant2(own_server), OTHER_IMG) == [("owner", "tenant2")]


# ---------------------------------------------------------------------------
# ListImageByTags
# ---------------------------------------------------------------------------
def test_list_image_by_tags_filter_without_criteria_lists_every_image_with_its_tags(ims):
    # Act
    response = by_tags(ims)

    # Assert
    assert isinstance(response, ListImageByTagsResponse)
    assert response.status_code == 200
    assert response.total_count == 3
    assert [r.resource_id for r in response.resources] == [IMG1, IMG2, IMG3]
    assert [r.resource_name for r in response.resources] == ["seed-image-1", "seed-image-2", "seed-image-3"]
    for resource in response.resources:
        assert isinstance(resource, ShowImageByTagsResource)
        assert isinstance(resource.resource_detail, QueryImageByTagsResourceDetail)
        assert resource.resource_detail.status == "active"
        assert all(isinstance(t, TagKeyValue) for t in resource.tags)
        assert [(t.key, t.value) for t in resource.tags] == SEED_IMAGE_TAGS[resource.resource_id]


def T(key, *values):  # noqa: N802 - reads like the request's shape
    return Tags(key=key, values=list(values))


@pytest.mark.parametrize("body, expected", [
    (dict(tags=[T("key3")]), [IMG2, IMG3]),
    (dict(tags=[T("key3", "value3")]), [IMG3]),
    (dict(tags=[T("key3", "value3", "valueXX")]), [IMG2, IMG3]),
    (dict(tags=[T("key3"), T("key9")]), [IMG3]),
    (dict(tags=[T("key8", "")]), [IMG1, IMG3]),
    (dict(tags=[T("KEY3")]), []),
    (dict(tags_any=[T("key3", "valueXX"), T("key9", "nope")]), [IMG2]),
    (dict(tags_any=[T("key3", "value3"), T("key8")]), [IMG1, IMG3]),
    (dict(not_tags=[T("key9"), T("key8")]), [IMG2]),
    (dict(not_tags=[T("key3"), T("key9")]), [IMG1, IMG2]),
    (dict(not_tags_any=[T("key3")]), [IMG1]),
    (dict(not_tags_any=[T("key3", "valueXX"), T("key8")]), []),
    (dict(without_any_tag=True), []),
    (dict(matches=[TagKeyValue(key="resource_name", value="IMAGE-2")]), [IMG2]),
    (dict(matches=[TagKeyValue(key="resource_name", value="seed")]), [IMG1, IMG2, IMG3]),
    (dict(matches=[TagKeyValue(key="resource_id", value=IMG3)]), [IMG3]),
    (dict(matches=[TagKeyValue(key="resource_id", value=IMG3[:8])]), []),
    (dict(tags=[T("key9")], matches=[TagKeyValue(key="resource_name", value="image-1")]), [IMG1]),
    (dict(tags=[T("key3")], not_tags_any=[T("key9")]), [IMG2]),
], ids=["tags key only", "tags one value", "tags values are OR", "tags keys are AND", "tags empty value",
        "keys are case-sensitive", "tags_any", "tags_any with a key-only entry", "not_tags excludes all-matching",
        "not_tags keys are AND", "not_tags_any", "not_tags_any can exclude everything", "without_any_tag",
        "resource_name is a case-insensitive substring", "resource_name seed", "resource_id exact",
        "resource_id is not a prefix match", "tags and matches together", "tags and not_tags_any together"])
def test_list_image_by_tags_filters(ims, body, expected):
    # Act
    response = by_tags(ims, **body)
    count = by_tags(ims, action="count", **body)

    # Assert
    assert [r.resource_id for r in (response.resources or [])] == expected
    assert response.total_count == len(expected)
    assert count.total_count == len(expected)


@pytest.mark.parametrize("offset, limit, expected", [
    ("0", "2", [IMG1, IMG2]), ("2", "2", [IMG3]), ("1", "1", [IMG2]), ("5", "2", []), ("0", "1000", [IMG1, IMG2, IMG3]),
])
def test_list_image_by_tags_pages_with_string_offset_and_limit(ims, offset, limit, expected):
    # Act
    response = by_tags(ims, offset=offset, limit=limit)

    # Assert
    assert [r.resource_id for r in (response.resources or [])] == expected
    assert response.total_count == 3


def test_list_image_by_tags_count_has_only_a_total(ims):
    # Act
    response = by_tags(ims, action="count", tags=[T("key3")])

    # Assert
    assert response.status_code == 200
    assert response.total_count == 2
    assert response.resources is None


@pytest.mark.parametrize("body", [
    dict(tags=[]), dict(tags_any=[]), dict(not_tags=[]), dict(not_tags_any=[]), dict(matches=[]),
    dict(tags=[T("k%d" % i) for i in range(11)]),
    dict(tags=[T("key3", *["v%d" % i for i in range(11)])]),
    dict(limit="0"), dict(limit="1001"), dict(limit="x"),
], ids=["empty tags", "empty tags_any", "empty not_tags", "empty not_tags_any", "empty matches", "11 keys",
        "11 values", "limit 0", "limit 1001", "limit not a number"])
def test_list_image_by_tags_invalid_bodies_are_400_img_0001(ims, body):
    expect_client_error(lambda: by_tags(ims, **body), 400, "IMG.0001")


# ---------------------------------------------------------------------------
# BatchDeleteTags (v1, DELETE with a body)
# ---------------------------------------------------------------------------
def test_v1_batch_delete_tags_by_key_and_by_key_and_value(w):
    # Act
    response = v1_delete(w, IMG3, [tag("key9"), tag("key3", "value3"), tag("key8", "mismatch"), tag("ghost", "x")])

    # Assert
    assert response.status_code == 204
    assert image_tags(w, IMG3) == [("key8", "")]
    assert aggregate(w) == [("key9", ["value9"]), ("key8", [""]), ("key3", ["valueXX"])]
    assert found_ids(w, tags=[T("key3", "value3")]) == []
    assert v1_tags(w) == ["key8", "key3=valueXX", "key9=value9"]


def test_v1_batch_delete_tags_error_paths(own_server, w):
    expect_client_error(lambda: v1_delete(w, IMG1, [tag("k" * 129)]), 400, "IMG.0115")
    expect_client_error(lambda: v1_delete(w, IMG1, [tag("key9", "v" * 256)]), 400, "IMG.0115")
    expect_client_error(lambda: v1_delete(w, UNKNOWN_IMG, [tag("key9")]), 400, "IMG.0027")
    other_project = make_ims_client(own_server, project_id=OTHER_PROJECT)
    expect_client_error(lambda: v1_delete(other_project, OTHER_IMG, [tag("owner")]), 400, "IMG.0030")
    assert snapshot(w) == SEED_SNAPSHOT
    assert image_tags(tenant2(own_server), OTHER_IMG) == [("owner", "tenant2")]


# ---------------------------------------------------------------------------
# CreateOrUpdateTags (v1, PUT /v1/cloudimages/tags)
# ---------------------------------------------------------------------------
def test_v1_create_or_update_tags_splits_tag_at_the_first_dot(w):
    # Act
    responses = [v1_put(w, image_id=IMG2, tag="a.b.c"), v1_put(w, image_id=IMG2, tag="nodot")]

    # Assert
    assert [r.status_code for r in responses] == [204, 204]
    assert image_tags(w, IMG2) == [("key3", "valueXX"), ("a", "b.c"), ("nodot", "")]
    assert v1_tags(w) == SEED_V1_TAGS + ["a=b.c", "nodot"]


def test_v1_create_or_update_tags_with_image_tag_updates_in_place(w):
    # Act
    response = v1_put(w, image_id=IMG1, image_tag=ResourceTag(key="key9", value="updated"))
    v1_put(w, image_id=IMG1, image_tag=ResourceTag(key="fresh", value="yes"))

    # Assert
    assert response.status_code == 204
    assert image_tags(w, IMG1) == [("key9", "updated"), ("key8", ""), ("fresh", "yes")]
    assert aggregate(w)[0] == ("key9", ["value9", "updated"])
    assert found_ids(w, tags=[T("fresh", "yes")]) == [IMG1]


def test_v1_create_or_update_tags_error_paths(own_server, w):
    both = dict(image_id=IMG1, tag="a.b", image_tag=ResourceTag(key="x", value="y"))
    expect_client_error(lambda: v1_put(w, **both), 400, "IMG.0001")
    expect_client_error(lambda: v1_put(w, image_id=IMG1), 400, "IMG.0001")
    expect_client_error(lambda: v1_put(w, image_id=UNKNOWN_IMG, tag="a.b"), 400, "IMG.0027")
    # another tenant's image is invisible under strict auth
    expect_client_error(lambda: v1_put(w, image_id=OTHER_IMG, tag="owner.me"), 400, "IMG.0027")
    assert snapshot(w) == SEED_SNAPSHOT
    assert image_tags(tenant2(own_server), OTHER_IMG) == [("owner", "tenant2")]


# ---------------------------------------------------------------------------
# ListTags (v1, GET /v1/cloudimages/tags)
# ---------------------------------------------------------------------------
def test_v1_list_tags_without_filters_is_newest_image_first_deduplicated(ims):
    # Act
    response = ims.list_tags(ListTagsRequest())

    # Assert
    assert isinstance(response, ListTagsResponse)
    assert response.status_code == 200
    assert response.tags == SEED_V1_TAGS


IMG1_V1 = ["key9=value9", "key8"]
IMG2_V1 = ["key3=valueXX"]
IMG3_V1 = ["key3=value3", "key9=value9", "key8"]


@pytest.mark.parametrize("query, expected", [
    (dict(limit=1), IMG3_V1),
    (dict(limit=1, page=1), IMG3_V1),
    (dict(limit=1, page=2), IMG2_V1),
    (dict(limit=1, page=3), IMG1_V1),
    (dict(limit=1, page=4), []),
    (dict(limit=2, page=2), IMG1_V1),
    (dict(limit=2), SEED_V1_TAGS),
    (dict(id=IMG1), IMG1_V1),
    (dict(name="seed-image-2"), IMG2_V1),
    (dict(status="active"), SEED_V1_TAGS),
    (dict(imagetype="private"), SEED_V1_TAGS),
    (dict(min_disk=40), SEED_V1_TAGS),
    (dict(platform="Ubuntu"), SEED_V1_TAGS),
    (dict(platform="Windows"), []),
    (dict(os_type="Linux"), SEED_V1_TAGS),
    (dict(os_type="Windows"), []),
    (dict(virtual_env_type="FusionCompute"), SEED_V1_TAGS),
    (dict(enterprise_project_id="0"), SEED_V1_TAGS),
    (dict(architecture="x86"), SEED_V1_TAGS),
    (dict(architecture="arm"), []),
    (dict(created_at="gt:2024-01-01T00:02:30Z"), IMG3_V1),
    (dict(created_at="gt:2024-01-01T00:01:30Z"), IMG3_V1 + IMG2_V1),
    (dict(created_at="gt:2024-01-01T00:01:30Z", limit=1, page=2), IMG2_V1),
], ids=lambda v: repr(v) if isinstance(v, dict) else None)
def test_v1_list_tags_filters_and_pages_per_image(ims, query, expected):
    assert v1_tags(ims, **query) == expected


def test_v1_list_tags_shows_only_the_callers_project(default_server):
    # Act
    other = v1_tags(tenant2(default_server))

    # Assert
    assert other == ["owner=tenant2"]


def test_v1_list_tags_with_an_invalid_enum_value_is_400_img_0001(ims):
    expect_client_error(lambda: ims.list_tags(ListTagsRequest(architecture="mips")), 400, "IMG.0001")


# ---------------------------------------------------------------------------
# GlanceCreateTag / GlanceDeleteTag (PUT/DELETE /v2/images/{image_id}/tags/{tag})
# ---------------------------------------------------------------------------
def test_glance_create_tag_adds_a_key_only_tag_and_leaves_an_existing_key_alone(w):
    # Act
    created = w.glance_create_tag(GlanceCreateTagRequest(image_id=IMG1, tag="beta"))
    existing = w.glance_create_tag(GlanceCreateTagRequest(image_id=IMG3, tag="key9"))

    # Assert
    assert (created.status_code, existing.status_code) == (204, 204)
    assert image_tags(w, IMG1) == [("key9", "value9"), ("key8", ""), ("beta", "")]
    assert image_tags(w, IMG3) == SEED_IMAGE_TAGS[IMG3]
    assert aggregate(w) == SEED_AGGREGATE + [("beta", [""])]
    assert found_ids(w, tags=[T("beta")]) == [IMG1]
    assert v1_tags(w) == SEED_V1_TAGS + ["beta"]


def test_glance_create_tag_error_paths(w):
    expect_client_error(lambda: w.glance_create_tag(GlanceCreateTagRequest(image_id=IMG1, tag="a=b")), 400, "IMG.0115")
    expect_client_error(lambda: w.glance_create_tag(GlanceCreateTagRequest(image_id=IMG1, tag="a*b")), 400, "IMG.0115")
    expect_client_error(lambda: w.glance_create_tag(GlanceCreateTagRequest(image_id=IMG1, tag="g" * 129)), 400,
                        "IMG.0115")
    expect_client_error(lambda: w.glance_create_tag(GlanceCreateTagRequest(image_id=UNKNOWN_IMG, tag="x")),
                        400, "IMG.0027")
    assert snapshot(w) == SEED_SNAPSHOT


def test_glance_delete_tag_removes_the_key_whatever_its_value(w):
    # Act
    response = w.glance_delete_tag(GlanceDeleteTagRequest(image_id=IMG3, tag="key9"))

    # Assert
    assert response.status_code == 204
    assert image_tags(w, IMG3) == [("key3", "value3"), ("key8", "")]
    assert aggregate(w) == SEED_AGGREGATE  # IMG1 still carries key9=value9
    assert found_ids(w, tags=[T("key9")]) == [IMG1]
    assert v1_tags(w) == ["key3=value3", "key8", "key3=valueXX", "key9=value9"]


def test_glance_delete_tag_error_paths(w):
    expect_client_error(lambda: w.glance_delete_tag(GlanceDeleteTagRequest(image_id=IMG2, tag="key9")), 404, "IMG.0121")
    expect_client_error(lambda: w.glance_delete_tag(GlanceDeleteTagRequest(image_id=UNKNOWN_IMG, tag="key9")),
                        400, "IMG.0027")
    assert snapshot(w) == SEED_SNAPSHOT
