"""IMS images through the official Python SDK (ImsClient v2), in `--auth strict`: ListImages
(`GET /v2/cloudimages`, with the filters users combine with tags), UpdateImage (name and
description), GlanceShowImage and GlanceListImages (their `tags` kept consistent with the Glance
tag routes), and the admin door that adds an image at run time.

Default fixture, project fd73a4a14a4a4dfb9771a8475e5198ea (tenant 1): seed-image-1 (IMG1, tags
key9=value9, key8), seed-image-2 (IMG2, key3=valueXX), seed-image-3 (IMG3, key3=value3, key9=value9,
key8), created in that order a minute apart. Tenant 2's project holds its own images.
"""
import json
import urllib.error
import urllib.request

import pytest
from huaweicloudsdkims.v2 import (AddImageTagRequest, AddImageTagRequestBody, GlanceCreateTagRequest,
                                  GlanceDeleteTagRequest, GlanceListImagesRequest, GlanceShowImageRequest,
                                  ListImagesRequest, ResourceTag, UpdateImageRequest, UpdateImageRequestBody)

from support import DEFAULT_PROJECT_ID, expect_client_error, make_ims_client, raw_get

IMG1 = "67e17426-359e-49fb-aa12-0bd1756ec240"
IMG2 = "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
IMG3 = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
OTHER_PROJECT = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"

# The image fields of the pages' examples ("Querying Images", ims_03_0602; "Querying Image
# Details (Native OpenStack API)", ims_03_0702) that the emulator answers, with their JSON types.
PAGE_IMAGE_FIELDS = {
    "__imagetype": str, "__platform": str, "__os_type": str, "__os_bit": str, "__isregistered": str,
    "__description": str, "__image_source_type": str, "checksum": str, "container_format": str,
    "disk_format": str, "created_at": str, "updated_at": str, "enterprise_project_id": str, "file": str,
    "id": str, "min_disk": int, "min_ram": int, "name": str, "owner": str, "protected": bool, "schema": str,
    "self": str, "size": int, "status": str, "tags": list, "virtual_env_type": str, "virtual_size": int,
    "visibility": str,
}


def tenant2(server):
    return make_ims_client(server, project_id=OTHER_PROJECT, ak="AKOTHER", sk="SKOTHER")


def ids(response):
    return [i.id for i in response.images]


@pytest.fixture
def w(own_server):
    return make_ims_client(own_server)


def test_list_images_answers_the_callers_images_newest_first_in_the_pages_shape(ims, default_server):
    response = ims.list_images(ListImagesRequest())
    assert ids(response) == [IMG3, IMG2, IMG1]
    first = response.images[-1]
    assert (first.id, first.name, first.status, first.imagetype, first.visibility, first.owner, first.tags,
            first.min_disk, first.created_at) == (
        IMG1, "seed-image-1", "active", "private", "private", DEFAULT_PROJECT_ID, ["key9=value9", "key8"], 40,
        "2024-01-01T00:01:00Z")
    status, _, text, body = raw_get(default_server, "/v2/cloudimages?limit=1", {"X-Auth-Token": "TOKENTEST"})
    assert status == 200, text
    assert list(body) == ["images"]
    image = body["images"][0]
    for field, kind in PAGE_IMAGE_FIELDS.items():
        assert type(image[field]) is kind, (field, image[field])
    # Tenant 2 sees none of tenant 1's images.
    assert not set(ids(tenant2(default_server).list_images(ListImagesRequest()))) & {IMG1, IMG2, IMG3}


def test_list_images_filters_combine_with_tags(ims):
    assert ids(ims.list_images(ListImagesRequest(tag="key9=value9"))) == [IMG3, IMG1]
    assert ids(ims.list_images(ListImagesRequest(tag="key3=valueXX"))) == [IMG2]
    assert ids(ims.list_images(ListImagesRequest(tag="key8"))) == [IMG3, IMG1]
    assert ids(ims.list_images(ListImagesRequest(tag="key9=value9", name="seed-image-1"))) == [IMG1]
    assert ids(ims.list_images(ListImagesRequest(imagetype="private", status="active", visibility="private"))) == [
        IMG3, IMG2, IMG1]
    assert ids(ims.list_images(ListImagesRequest(imagetype="gold"))) == []
    assert ids(ims.list_images(ListImagesRequest(visibility="public"))) == []
    assert ids(ims.list_images(ListImagesRequest(sort_key="name", sort_dir="asc"))) == [IMG1, IMG2, IMG3]
    expect_client_error(lambda: ims.list_images(ListImagesRequest(visibility="everyone")), 400, "IMG.0001")
    expect_client_error(lambda: ims.list_images(ListImagesRequest(sort_key="colour")), 400, "IMG.0001")
    expect_client_error(lambda: ims.list_images(ListImagesRequest(imagetype="bronze")), 400, "IMG.0001")


def test_list_images_pages_with_limit_and_marker(ims):
    seen, marker = [], None
    while True:
        page = ids(ims.list_images(ListImagesRequest(limit=2, marker=marker)))
        seen += page
        if len(page) < 2:
            break
        marker = page[-1]
    assert seen == [IMG3, IMG2, IMG1]
    expect_client_error(lambda: ims.list_images(ListImagesRequest(marker="no-such-image")), 400, "IMG.0001")


def test_update_image_changes_name_and_description_and_lists_show_it(w, own_server):
    updated = w.update_image(UpdateImageRequest(image_id=IMG1, body=[
        UpdateImageRequestBody(op="replace", path="/name", value="renamed"),
        UpdateImageRequestBody(op="add", path="/__description", value="for tests"),
    ]))
    assert (updated.id, updated.name, updated.description) == (IMG1, "renamed", "for tests")
    assert updated.updated_at > "2024-01-01T00:01:00Z"
    assert ids(w.list_images(ListImagesRequest(name="renamed"))) == [IMG1]
    assert w.glance_show_image(GlanceShowImageRequest(image_id=IMG1)).description == "for tests"
    w.update_image(UpdateImageRequest(image_id=IMG1, body=[UpdateImageRequestBody(op="remove",
                                                                                  path="/__description")]))
    assert w.glance_show_image(GlanceShowImageRequest(image_id=IMG1)).description == ""
    expect_client_error(lambda: w.update_image(UpdateImageRequest(image_id=IMG1, body=[
        UpdateImageRequestBody(op="replace", path="/min_disk", value="1")])), 400, "IMG.0001")
    expect_client_error(lambda: w.update_image(UpdateImageRequest(image_id=IMG1, body=[
        UpdateImageRequestBody(op="replace", path="/name", value="")])), 400, "IMG.0001")
    expect_client_error(lambda: w.update_image(UpdateImageRequest(image_id="no-such", body=[
        UpdateImageRequestBody(op="replace", path="/name", value="x")])), 400, "IMG.0027")
    expect_client_error(lambda: tenant2(own_server).update_image(UpdateImageRequest(image_id=IMG1, body=[
        UpdateImageRequestBody(op="replace", path="/name", value="x")])), 400, "IMG.0027")


def test_glance_show_image_keeps_tags_in_step_with_the_glance_tag_routes(w, own_server):
    shown = w.glance_show_image(GlanceShowImageRequest(image_id=IMG2))
    assert (shown.id, shown.name, shown.tags, shown.visibility, shown.owner) == (
        IMG2, "seed-image-2", ["key3=valueXX"], "private", DEFAULT_PROJECT_ID)
    w.glance_create_tag(GlanceCreateTagRequest(image_id=IMG2, tag="beta"))
    assert w.glance_show_image(GlanceShowImageRequest(image_id=IMG2)).tags == ["key3=valueXX", "beta"]
    w.add_image_tag(AddImageTagRequest(image_id=IMG2,
                                       body=AddImageTagRequestBody(tag=ResourceTag(key="env", value="prod"))))
    assert w.glance_show_image(GlanceShowImageRequest(image_id=IMG2)).tags == ["key3=valueXX", "beta", "env=prod"]
    assert ids(w.glance_list_images(GlanceListImagesRequest(tag="beta"))) == [IMG2]
    assert ids(w.list_images(ListImagesRequest(tag="env=prod"))) == [IMG2]
    w.glance_delete_tag(GlanceDeleteTagRequest(image_id=IMG2, tag="beta"))
    assert w.glance_show_image(GlanceShowImageRequest(image_id=IMG2)).tags == ["key3=valueXX", "env=prod"]
    assert ids(w.glance_list_images(GlanceListImagesRequest(tag="beta"))) == []
    expect_client_error(lambda: w.glance_show_image(GlanceShowImageRequest(image_id="no-such")), 400, "IMG.0027")
    expect_client_error(lambda: tenant2(own_server).glance_show_image(GlanceShowImageRequest(image_id=IMG2)),
                        400, "IMG.0027")


def test_glance_list_images_pages_with_limit_marker_and_next(ims, default_server):
    page = ims.glance_list_images(GlanceListImagesRequest(limit=2))
    assert ids(page) == [IMG3, IMG2]
    assert page.first == "/v2/images?limit=2"
    assert page.next == "/v2/images?limit=2&marker=%s" % IMG2
    assert page.schema == "/v2/schemas/images"
    last = ims.glance_list_images(GlanceListImagesRequest(limit=2, marker=IMG2))
    assert ids(last) == [IMG1] and last.next is None
    assert ids(ims.glance_list_images(GlanceListImagesRequest(tag="key8"))) == [IMG3, IMG1]
    status, _, text, body = raw_get(default_server, "/v2/images/%s" % IMG1, {"X-Auth-Token": "TOKENTEST"})
    assert status == 200, text
    for field, kind in PAGE_IMAGE_FIELDS.items():
        assert type(body[field]) is kind, (field, body[field])


def test_the_admin_api_adds_an_image_that_every_read_then_shows(w, own_server):
    spec = {"name": "built-at-runtime", "imagetype": "gold", "tags": [{"key": "env", "value": "prod"}]}
    request = urllib.request.Request(
        own_server.uri + "/_mock/ims/projects/%s/images" % DEFAULT_PROJECT_ID,
        data=json.dumps(spec).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        added = json.loads(response.read())
    assert (added["name"], added["__imagetype"], added["visibility"], added["tags"]) == (
        "built-at-runtime", "gold", "public", ["env=prod"])
    assert ids(w.list_images(ListImagesRequest(tag="env=prod"))) == [added["id"]]
    assert ids(w.list_images(ListImagesRequest(visibility="public"))) == [added["id"]]
    assert w.glance_show_image(GlanceShowImageRequest(image_id=added["id"])).name == "built-at-runtime"
    # A bad record is refused, naming the field.
    bad = urllib.request.Request(
        own_server.uri + "/_mock/ims/projects/%s/images" % DEFAULT_PROJECT_ID,
        data=json.dumps({"min_disk": "big"}).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(bad, timeout=30)
    assert caught.value.code == 400
    assert "min_disk" in caught.value.read().decode()
