"""The application under test: a small image catalogue on Huawei Cloud.

It is written for the real cloud: clients are built for a region with
`XxxRegion.value_of(region)` and credentials from the environment, and no
endpoint appears anywhere. Under test, the `huaweicloud_env` fixture of the
ims-swr-mock pytest plugin sets the SDKs' own environment variables so the
same code reaches the emulator.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, TypeVar

from huaweicloudsdkcore.exceptions.exceptions import ServerResponseException
from huaweicloudsdkims.v2 import (AddImageTagRequest, AddImageTagRequestBody, ImsClient,
                                  ListImagesTagsRequest, ListImageTagsRequest, ResourceTag)
from huaweicloudsdkims.v2.region.ims_region import ImsRegion
from huaweicloudsdkswr.v2 import (CreateRepoTagRequest, CreateRepoTagRequestBody,
                                  ListRepositoryTagsRequest, SwrClient)
from huaweicloudsdkswr.v2.region.swr_region import SwrRegion

T = TypeVar("T")


def ims(region: str) -> ImsClient:
    return ImsClient.new_builder().with_region(ImsRegion.value_of(region)).build()


def swr(region: str) -> SwrClient:
    return SwrClient.new_builder().with_region(SwrRegion.value_of(region)).build()


def with_retries(call: Callable[[], T], attempts: int = 3, pause_s: float = 0.01) -> T:
    """Retries a call that fails with a 5xx, as production code should."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ServerResponseException:
            if attempt == attempts:
                raise
            time.sleep(pause_s)
    raise AssertionError("unreachable")


def tag_keys(region: str) -> List[str]:
    """Every image tag key of the project, with retries."""
    client = ims(region)
    return [t.key for t in with_retries(lambda: client.list_images_tags(ListImagesTagsRequest())).tags]


def label_image(region: str, image_id: str, key: str, value: str) -> Dict[str, str]:
    """Adds a tag to an image and returns the image's tags."""
    client = ims(region)
    client.add_image_tag(AddImageTagRequest(
        image_id=image_id, body=AddImageTagRequestBody(tag=ResourceTag(key=key, value=value))))
    tags = client.list_image_tags(ListImageTagsRequest(image_id=image_id)).tags
    return {t.key: t.value for t in tags}


def promote(region: str, namespace: str, repository: str, source: str, target: str) -> List[str]:
    """Tags `source` as `target` in an SWR repository; returns the tag names."""
    client = swr(region)
    client.create_repo_tag(CreateRepoTagRequest(
        namespace=namespace, repository=repository,
        body=CreateRepoTagRequestBody(source_tag=source, destination_tag=target)))
    listed = client.list_repository_tags(ListRepositoryTagsRequest(
        namespace=namespace, repository=repository, limit="100", offset="0"))
    return sorted(t.tag for t in listed.body)
