"""Error answers as the official Python SDK surfaces them: ClientRequestException with
status_code, error_code, error_msg and request_id (from the X-Request-Id header)."""
import re

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkims.v2 import ListImagesTagsRequest
from huaweicloudsdkswr.v2 import ListRepositoryTagRequest, ListRepositoryTagsRequest

from support import make_ims_client, start_server, stop_server

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def v2_list(namespace="namespace", repository="busybox", **query):
    return lambda ctx: ctx.swr.list_repository_tags(
        ListRepositoryTagsRequest(namespace=namespace, repository=repository, **query))


def v3_list(namespace="namespace", repository="busybox", **query):
    return lambda ctx: ctx.swr.list_repository_tag(
        ListRepositoryTagRequest(namespace=namespace, repository=repository, **query))


def ims_list(project_id):
    return lambda ctx: make_ims_client(ctx.server, project_id=project_id).list_images_tags(ListImagesTagsRequest())


def lenient_ims_list(project_id):
    """On a server with `--auth lenient`: under strict auth (the suite's default) a malformed
    project id is never the caller's own project, so tenancy answers 400 IMG.0030 before the
    400 IMG.0067 validation can be seen (both are asserted below)."""
    return lambda ctx: make_ims_client(ctx.lenient_server, project_id=project_id).list_images_tags(
        ListImagesTagsRequest())


# (id, call, status, error_code, words the message must contain, case-insensitively)
CASES = [
    ("v2 unknown repository", v2_list(repository="nope"), 404, "SVCSTG.SWR.4040010", ["not found", "nope"]),
    ("v2 unknown namespace", v2_list(namespace="nope"), 404, "SVCSTG.SWR.4040058", ["organization", "not found"]),
    ("v3 unknown repository", v3_list(repository="nope"), 404, "SVCSTG.SWR.4040010", ["not found", "nope"]),
    ("v3 unknown namespace", v3_list(namespace="nope"), 404, "SVCSTG.SWR.4040058", ["organization", "not found"]),
    ("v2 invalid namespace name", v2_list(namespace="Bad-NS"), 400, "SVCSTG.SWR.4001028", ["organization", "Bad-NS"]),
    ("v2 invalid repository name", v2_list(repository="-bad-"), 400, "SVCSTG.SWR.4001029", ["-bad-"]),
    ("v2 limit 0", v2_list(limit="0"), 400, "SVCSTG.SWR.4000056", ["page size", "limit"]),
    ("v2 limit 1001", v2_list(limit="1001"), 400, "SVCSTG.SWR.4000056", ["page size", "1001"]),
    ("v2 limit not a number", v2_list(limit="abc"), 400, "SVCSTG.SWR.4000056", ["page size", "abc"]),
    ("v3 limit 0", v3_list(limit=0), 400, "SVCSTG.SWR.4000056", ["page size", "limit"]),
    ("v3 limit 1001", v3_list(limit=1001), 400, "SVCSTG.SWR.4000056", ["page size", "1001"]),
    ("v3 garbage marker", v3_list(marker="garbage"), 400, "SVCSTG.SWR.4000014", ["marker", "garbage"]),
    ("ims project id too long", lenient_ims_list("x" * 65), 400, "IMG.0067", ["project"]),
    ("ims project id with a bad character", lenient_ims_list("bad!id"), 400, "IMG.0067", ["project", "bad!id"]),
    ("strict: ims project id too long", ims_list("x" * 65), 400, "IMG.0030", ["project", "x" * 65]),
    ("strict: ims project id with a bad character", ims_list("bad!id"), 400, "IMG.0030", ["project", "bad!id"]),
]


class Ctx:
    def __init__(self, server, swr, lenient_server):
        self.server, self.swr, self.lenient_server = server, swr, lenient_server


@pytest.fixture(scope="module")
def lenient_server():
    server = start_server(auth=("--auth", "lenient"))
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def ctx(default_server, swr, lenient_server):
    return Ctx(default_server, swr, lenient_server)


@pytest.mark.parametrize("call, status, error_code, words",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_error_is_a_client_request_exception_with_code_message_and_request_id(ctx, call, status, error_code, words):
    # Act
    with pytest.raises(ClientRequestException) as caught:
        call(ctx)

    # Assert
    error = caught.value
    assert type(error) is ClientRequestException
    assert error.status_code == status
    assert error.error_code == error_code
    assert isinstance(error.error_msg, str) and error.error_msg.strip()
    for word in words:
        assert word.lower() in error.error_msg.lower()
    assert REQUEST_ID.match(error.request_id or ""), error.request_id


def test_every_error_carries_a_different_request_id(ctx):
    # Arrange
    ids = []

    # Act
    for _ in range(3):
        with pytest.raises(ClientRequestException) as caught:
            v2_list(repository="nope")(ctx)
        ids.append(caught.value.request_id)

    # Assert
    assert len(set(ids)) == 3
