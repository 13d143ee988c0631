"""SWR image tags through the official Python SDK (huaweicloudsdkswr), against ims-swr-mock.

    pip install -r requirements.txt
    IMS_SWR_MOCK_URL=http://127.0.0.1:8080 python swr_tags.py

Expects a freshly started server on the embedded default fixture (or one just reset with
`POST /_mock/reset`): namespace `namespace`, repository `busybox`, one tag `latest`. Works
in every auth mode, `--auth strict` included, because it signs with AKTEST/SKTEST,
credentials of that fixture. Prints each step; exits non-zero on any unexpected answer.
"""
import os
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkswr.v2 import (CreateRepoTagRequest, CreateRepoTagRequestBody, DeleteRepoTagRequest,
                                  ListRepositoryTagRequest, ListRepositoryTagsRequest, ShowRepoTagRequest,
                                  SwrClient)

ENDPOINT = os.environ.get("IMS_SWR_MOCK_URL", "http://127.0.0.1:8080")
NAMESPACE, REPOSITORY = "namespace", "busybox"  # a repository `group/app` is passed as `group$app`
NEW_TAG = "python-example"


def expect(actual, expected, what):
    """Fail the script (exit 1, via an uncaught AssertionError) unless actual == expected."""
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def list_v2(swr):
    """v2: a bare JSON array lands in resp.body; the Content-Range header in resp.content_range."""
    response = swr.list_repository_tags(ListRepositoryTagsRequest(
        namespace=NAMESPACE, repository=REPOSITORY, limit="100", offset="0"))  # limit/offset are strings
    names = [t.tag for t in response.body or []]
    print("ListRepositoryTags (v2): %s, Content-Range %s" % (names, response.content_range))
    return names, response.content_range


def walk_v3(swr, limit):
    """v3: follow next_marker until it is absent. Returns the pages' tag names."""
    pages, marker = [], None
    while True:
        page = swr.list_repository_tag(ListRepositoryTagRequest(
            namespace=NAMESPACE, repository=REPOSITORY, limit=limit, marker=marker))
        pages.append([t.tag for t in page.tags or []])
        if not page.next_marker:
            break
        marker = page.next_marker
    print("ListRepositoryTag (v3) marker walk, limit %d: pages %s" % (limit, pages))
    return pages


def main():
    print("ims-swr-mock at %s" % ENDPOINT)
    # SWR paths carry no project id; the SDK still wants BasicCredentials (it sends X-Project-Id).
    credentials = BasicCredentials("AKTEST", "SKTEST", "fd73a4a14a4a4dfb9771a8475e5198ea")
    swr = SwrClient.new_builder().with_credentials(credentials).with_endpoints([ENDPOINT]).build()

    # 1. The seed: busybox:latest, alone.
    expect(list_v2(swr), (["latest"], "0-1/1"), "the seed repository (is the server fresh?)")

    # 2. CreateRepoTag: a new tag pointing at latest's image (201, empty body).
    response = swr.create_repo_tag(CreateRepoTagRequest(
        namespace=NAMESPACE, repository=REPOSITORY,
        body=CreateRepoTagRequestBody(source_tag="latest", destination_tag=NEW_TAG, override=False)))
    print("CreateRepoTag latest -> %s: %d" % (NEW_TAG, response.status_code))
    expect(response.status_code, 201, "CreateRepoTag status")

    # 3. ShowRepoTag: one tag, same image as its source.
    latest = swr.show_repo_tag(ShowRepoTagRequest(namespace=NAMESPACE, repository=REPOSITORY, tag="latest"))
    shown = swr.show_repo_tag(ShowRepoTagRequest(namespace=NAMESPACE, repository=REPOSITORY, tag=NEW_TAG))
    print("ShowRepoTag %s: digest %s, size %s, path %s" % (shown.tag, shown.digest, shown.size, shown.path))
    expect(shown.tag, NEW_TAG, "ShowRepoTag tag")
    expect((shown.image_id, shown.digest, shown.size), (latest.image_id, latest.digest, latest.size),
           "the new tag's image (same as latest's)")

    # 4. Both lists see it at once. v2 sorts newest first by default; the v3 walk with
    #    limit=1 takes one page per tag and returns each tag exactly once.
    expect(list_v2(swr), ([NEW_TAG, "latest"], "0-2/2"), "v2 list after the create")
    expect(walk_v3(swr, limit=1), [[NEW_TAG], ["latest"]], "v3 pages after the create")

    # 5. DeleteRepoTag (204); then ShowRepoTag is a 404 in SWR's envelope.
    response = swr.delete_repo_tag(DeleteRepoTagRequest(namespace=NAMESPACE, repository=REPOSITORY, tag=NEW_TAG))
    print("DeleteRepoTag %s: %d" % (NEW_TAG, response.status_code))
    expect(response.status_code, 204, "DeleteRepoTag status")
    try:
        swr.show_repo_tag(ShowRepoTagRequest(namespace=NAMESPACE, repository=REPOSITORY, tag=NEW_TAG))
        raise AssertionError("showing a deleted tag should fail")
    except ClientRequestException as e:
        print("ShowRepoTag %s: %d %s (%s), request id %s"
              % (NEW_TAG, e.status_code, e.error_code, e.error_msg, e.request_id))
        expect((e.status_code, e.error_code), (404, "SVCSTG.SWR.4040048"), "error of a deleted tag")

    expect(list_v2(swr), (["latest"], "0-1/1"), "v2 list after the delete")
    expect(walk_v3(swr, limit=100), [["latest"]], "v3 pages after the delete")

    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
