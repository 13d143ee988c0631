"""IMS `ListImagesTags` (GET /v2/{project_id}/images/tags) through the official Python SDK."""
import json

from huaweicloudsdkims.v2 import ListImagesTagsRequest, ListImagesTagsResponse

from seeds import SEED_001_TAGS
from support import make_ims_client


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


def test_list_images_tags_of_an_unknown_project_is_an_empty_list(default_server):
    # Arrange
    client = make_ims_client(default_server, project_id="0123456789abcdef0123456789abcdef")

    # Act
    response = client.list_images_tags(ListImagesTagsRequest())

    # Assert
    assert response.status_code == 200
    assert response.tags == []
    assert json.loads(response.raw_content) == {"tags": []}
