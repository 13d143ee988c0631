"""IMS `ListImagesTags` (GET /v2/{project_id}/images/tags) through the official Python SDK."""
import json

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkims.v2 import ListImagesTagsRequest, ListImagesTagsResponse

from seeds import SEED_001_TAGS
from support import make_ims_client, start_server, stop_server

UNKNOWN_PROJECT = "0123456789abcdef0123456789abcdef"


def test_list_images_tags_returns_the_seed_001_tags_field_by_field(ims):
    # Act
    response = ims.list_images_tags(ListImagesTagsRequest())

    # Assert
    assert isinstance(response, ListImagesTagsResponse)
    assert response.status_code == 200
    assert len(response.tags) == len(SEED_001_TAGS)
    for got, want in zip(response.tags, SEED_001_TAGS):
        assert got.key == want["key"]
        assert got.values == want["values"]


def test_list_images_tags_wire_body_is_exactly_the_seed_001_answer(ims):
    # Act
    response = ims.list_images_tags(ListImagesTagsRequest())

    # Assert
    assert json.loads(response.raw_content) == {"tags": SEED_001_TAGS}


def test_list_images_tags_of_an_unknown_project_is_an_empty_list_when_auth_is_lenient():
    # Arrange: strict auth (the suite's default) forbids any project outside the caller's own
    # (403 IMG.0030, below), so the "unknown project" answer is only observable when
    # signatures and tenancy are not checked.
    server = start_server(auth=("--auth", "lenient"))
    try:
        client = make_ims_client(server, project_id=UNKNOWN_PROJECT)

        # Act
        response = client.list_images_tags(ListImagesTagsRequest())
    finally:
        stop_server(server)

    # Assert
    assert response.status_code == 200
    assert response.tags == []
    assert json.loads(response.raw_content) == {"tags": []}


def test_list_images_tags_of_an_unknown_project_is_400_img_0030_under_strict_auth(default_server):
    # Arrange
    client = make_ims_client(default_server, project_id=UNKNOWN_PROJECT)

    # Act
    with pytest.raises(ClientRequestException) as caught:
        client.list_images_tags(ListImagesTagsRequest())

    # Assert
    assert caught.value.status_code == 400  # the IMS error table's status for IMG.0030
    assert caught.value.error_code == "IMG.0030"
    assert UNKNOWN_PROJECT in caught.value.error_msg
