"""IMS image tags through the official Python SDK (huaweicloudsdkims), against ims-swr-mock.

    pip install -r requirements.txt
    IMS_SWR_MOCK_URL=http://127.0.0.1:8080 python ims_tags.py

Expects a freshly started server on the embedded default fixture (or one just reset with
`POST /_mock/reset`); works in every auth mode, `--auth strict` included, because it signs
with AKTEST/SKTEST, credentials of that fixture. Prints each step; exits non-zero on any
unexpected answer.
"""
import os
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkims.v2 import (AddImageTagRequest, AddImageTagRequestBody, DeleteImageTagRequest, ImsClient,
                                  ListImagesTagsRequest, ListImageTagsRequest, ResourceTag)

ENDPOINT = os.environ.get("IMS_SWR_MOCK_URL", "http://127.0.0.1:8080")
PROJECT_ID = "fd73a4a14a4a4dfb9771a8475e5198ea"  # the default fixture's project (tenant 1)
IMAGE_ID = "67e17426-359e-49fb-aa12-0bd1756ec240"  # seed-image-1, tagged key9=value9 and key8
SEED_AGGREGATE = [("key9", ["value9"]), ("key8", [""]), ("key3", ["valueXX", "value3"])]


def expect(actual, expected, what):
    """Fail the script (exit 1, via an uncaught AssertionError) unless actual == expected."""
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def main():
    print("ims-swr-mock at %s" % ENDPOINT)
    # IMS needs the project id in the credentials when the endpoint is given explicitly:
    # it goes into the path (/v2/{project_id}/...) and the X-Project-Id header.
    credentials = BasicCredentials("AKTEST", "SKTEST", PROJECT_ID)
    ims = ImsClient.new_builder().with_credentials(credentials).with_endpoints([ENDPOINT]).build()

    # 1. Every tag of the project, aggregated: keys with all their values.
    tags = ims.list_images_tags(ListImagesTagsRequest()).tags
    aggregate = [(t.key, t.values) for t in tags]
    print("ListImagesTags: %s" % aggregate)
    expect(aggregate, SEED_AGGREGATE, "the seed project's tags (is the server fresh?)")

    # 2. Add a tag to one image (204, empty body).
    response = ims.add_image_tag(AddImageTagRequest(
        image_id=IMAGE_ID, body=AddImageTagRequestBody(tag=ResourceTag(key="env", value="example"))))
    print("AddImageTag env=example: %d" % response.status_code)
    expect(response.status_code, 204, "AddImageTag status")

    # 3. The image's own tags now include it, and so does the project's aggregate.
    image_tags = [(t.key, t.value) for t in ims.list_image_tags(ListImageTagsRequest(image_id=IMAGE_ID)).tags]
    print("ListImageTags %s: %s" % (IMAGE_ID, image_tags))
    expect(sorted(image_tags), [("env", "example"), ("key8", ""), ("key9", "value9")], "the image's tags")
    aggregate = [(t.key, t.values) for t in ims.list_images_tags(ListImagesTagsRequest()).tags]
    expect(("env", ["example"]) in aggregate, True, "env=example in ListImagesTags")

    # 4. Delete it (204); the image is back to its seed tags.
    response = ims.delete_image_tag(DeleteImageTagRequest(image_id=IMAGE_ID, key="env"))
    print("DeleteImageTag env: %d" % response.status_code)
    expect(response.status_code, 204, "DeleteImageTag status")
    image_tags = [(t.key, t.value) for t in ims.list_image_tags(ListImageTagsRequest(image_id=IMAGE_ID)).tags]
    expect(sorted(image_tags), [("key8", ""), ("key9", "value9")], "the image's tags after the delete")
    aggregate = [(t.key, t.values) for t in ims.list_images_tags(ListImagesTagsRequest()).tags]
    expect(aggregate, SEED_AGGREGATE, "the project's tags after the delete")

    # 5. DeleteImageTag is not idempotent: a missing key is a 404 in IMS's own envelope.
    try:
        ims.delete_image_tag(DeleteImageTagRequest(image_id=IMAGE_ID, key="env"))
        raise AssertionError("deleting a missing tag key should fail")
    except ClientRequestException as e:
        print("DeleteImageTag env again: %d %s (%s), request id %s"
              % (e.status_code, e.error_code, e.error_msg, e.request_id))
        expect((e.status_code, e.error_code), (404, "IMG.0121"), "error of a second delete")

    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
