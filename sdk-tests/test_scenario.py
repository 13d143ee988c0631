"""One user journey across IMS and SWR through the official Python SDK, on its own server:
tag a VM image, list it, find it by tag, retag a container image, show it, list both SWR
APIs, delete both tags and list again. Every step's view is asserted."""
from huaweicloudsdkims.v2 import (AddImageTagRequest, AddImageTagRequestBody, DeleteImageTagRequest,
                                  ListImageByTagsRequest, ListImageByTagsRequestBody, ListImagesTagsRequest,
                                  ListImageTagsRequest, ResourceTag, Tags)
from huaweicloudsdkswr.v2 import (CreateRepoTagRequest, CreateRepoTagRequestBody, DeleteRepoTagRequest,
                                  ListRepositoryTagRequest, ListRepositoryTagsRequest, ShowRepoTagRequest)

from seeds import SEED_001_TAGS, SEED_003_ITEM
from support import expect_client_error, make_ims_client, make_swr_client

IMAGE = "67e17426-359e-49fb-aa12-0bd1756ec240"  # seed-image-1, tagged key9=value9, key8=""
NS, REPO = "namespace", "busybox"


def image_tags(ims):
    return [(t.key, t.value) for t in ims.list_image_tags(ListImageTagsRequest(image_id=IMAGE)).tags]


def aggregate(ims):
    return [{"key": t.key, "values": t.values} for t in ims.list_images_tags(ListImagesTagsRequest()).tags]


def find(ims, key, value):
    response = ims.list_image_by_tags(ListImageByTagsRequest(body=ListImageByTagsRequestBody(
        action="filter", tags=[Tags(key=key, values=[value])], limit="10", offset="0")))
    return response.total_count, [(r.resource_id, r.resource_name, [(t.key, t.value) for t in r.tags])
                                  for r in (response.resources or [])]


def swr_lists(swr):
    v2 = swr.list_repository_tags(ListRepositoryTagsRequest(namespace=NS, repository=REPO, limit="100", offset="0"))
    v3 = swr.list_repository_tag(ListRepositoryTagRequest(namespace=NS, repository=REPO, limit=100))
    return ([item.tag for item in (v2.body or [])], v2.content_range,
            [item.tag for item in v3.tags], v3.has_more, v3.next_marker)


def test_tag_find_retag_show_list_and_delete_across_ims_and_swr(own_server):
    ims, swr = make_ims_client(own_server), make_swr_client(own_server)

    # 1. Tag a VM image
    assert ims.add_image_tag(AddImageTagRequest(image_id=IMAGE, body=AddImageTagRequestBody(
        tag=ResourceTag(key="release", value="2024.06")))).status_code == 204

    # 2. List: the image's tags and the project aggregate
    assert image_tags(ims) == [("key9", "value9"), ("key8", ""), ("release", "2024.06")]
    assert aggregate(ims) == SEED_001_TAGS + [{"key": "release", "values": ["2024.06"]}]

    # 3. Find the image by its new tag
    assert find(ims, "release", "2024.06") == (
        1, [(IMAGE, "seed-image-1", [("key9", "value9"), ("key8", ""), ("release", "2024.06")])])

    # 4. Retag the container image latest -> 2024.06
    assert swr.create_repo_tag(CreateRepoTagRequest(namespace=NS, repository=REPO, body=CreateRepoTagRequestBody(
        source_tag="latest", destination_tag="2024.06", override=False))).status_code == 201

    # 5. Show it: same image as latest, its own id, path and times
    shown = swr.show_repo_tag(ShowRepoTagRequest(namespace=NS, repository=REPO, tag="2024.06"))
    assert shown.tag == "2024.06"
    assert (shown.id, shown.repo_id) == (3, 1)
    assert (shown.image_id, shown.digest, shown.size, shown.manifest) == (
        SEED_003_ITEM["image_id"], SEED_003_ITEM["digest"], SEED_003_ITEM["size"], SEED_003_ITEM["manifest"])
    assert shown.path == "swr.cn-north-1.myhuaweicloud.com/namespace/busybox:2024.06"
    assert shown.created == shown.updated > SEED_003_ITEM["updated"]

    # 6. List v2 and v3: the new tag comes first (updated_at desc)
    assert swr_lists(swr) == (["2024.06", "latest"], "0-2/2", ["2024.06", "latest"], False, None)

    # 7. Delete both tags
    assert ims.delete_image_tag(DeleteImageTagRequest(image_id=IMAGE, key="release")).status_code == 204
    assert swr.delete_repo_tag(DeleteRepoTagRequest(namespace=NS, repository=REPO, tag="2024.06")).status_code == 204

    # 8. List again: back to the seed views
    assert image_tags(ims) == [("key9", "value9"), ("key8", "")]
    assert aggregate(ims) == SEED_001_TAGS
    assert find(ims, "release", "2024.06") == (0, [])
    assert swr_lists(swr) == (["latest"], "0-1/1", ["latest"], False, None)
    expect_client_error(lambda: swr.show_repo_tag(ShowRepoTagRequest(namespace=NS, repository=REPO, tag="2024.06")),
                        404, "SVCSTG.SWR.4040048")
