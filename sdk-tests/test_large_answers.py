"""Large list answers through the official Python SDK (issue 14, finding 1).

A list answer larger than the page cache's largest kept answer (2 MiB) once came back as a
200 with `Content-Length: 0`: the SDK then saw an empty repository, with no error. Here the
SDK lists 1,000 tags carrying ~3 KB manifest lists each (v2 and v3 with `with_manifest=true`,
about 4 MB) and the tag keys of 6,000 IMS images, three times each, so the later answers
come from the cache: every answer is the whole answer.
"""
import json

import pytest
from huaweicloudsdkims.v2 import ListImagesTagsRequest
from huaweicloudsdkswr.v2 import ListRepositoryTagRequest, ListRepositoryTagsRequest

from support import fixture_args, make_ims_client, make_swr_client, start_server, stop_server

NAMESPACE, REPOSITORY, TAGS = "largens", "multiarch", 1000
PROJECT, IMAGES = "0a1b2c3d4e5f60718293a4b5c6d7e8f9", 6000
TWO_MIB = 2 << 20
AK, SK = "AKLARGE", "SKLARGE"


def manifest_list(index: int) -> str:
    manifests = [{
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "size": 1000 + index,
        "digest": "sha256:%064x" % (index * 31 + k),
        "platform": {"architecture": "amd64", "os": "linux"},
    } for k in range(15)]
    return json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
                       "manifests": manifests})


@pytest.fixture(scope="module")
def large_server(tmp_path_factory):
    tags = [{"tag": "v%07d" % i, "manifest": manifest_list(i)} for i in range(TAGS)]
    images = [{"name": "image-%06d" % i,
               "tags": [{"key": "key%d" % k, "value": "value-%06d-%d-of-a-long-tag-value" % (i, k)}
                        for k in range(10)]} for i in range(IMAGES)]
    # The IMS project belongs to a tenant of its own (tenant 1 of the default fixture owns
    # the default project); the SWR namespace, without a domain, belongs to tenant 1.
    iam = {"domains": [{"id": "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e", "name": "large",
                        "projects": [{"id": PROJECT}], "access_keys": [{"access": AK, "secret": SK}]}]}
    fixture = {"iam": iam, "ims": {"projects": [{"id": PROJECT, "images": images}]},
               "swr": {"namespaces": [{"name": NAMESPACE, "repositories": [{"name": REPOSITORY, "tags": tags}]}]}}
    path = tmp_path_factory.mktemp("large") / "large.json"
    path.write_text(json.dumps(fixture))
    server = start_server(*fixture_args(path))
    yield server
    stop_server(server)


def test_v3_list_with_manifests_over_2_mib_arrives_whole_every_time(large_server):
    client = make_swr_client(large_server)
    first = None
    for _ in range(3):
        response = client.list_repository_tag(ListRepositoryTagRequest(
            namespace=NAMESPACE, repository=REPOSITORY, limit="1000", with_manifest=True))
        assert response.status_code == 200
        assert len(response.tags) == TAGS
        assert sum(len(t.manifest) for t in response.tags) > TWO_MIB
        dump = json.dumps(response.to_json_object(), sort_keys=True)
        first = first or dump
        assert dump == first


def test_v2_list_over_2_mib_arrives_whole_every_time(large_server):
    client = make_swr_client(large_server)
    first = None
    for _ in range(3):
        response = client.list_repository_tags(ListRepositoryTagsRequest(
            namespace=NAMESPACE, repository=REPOSITORY, offset="0", limit="1000"))
        assert response.status_code == 200
        assert len(response.body) == TAGS
        assert sum(len(t.manifest) for t in response.body) > TWO_MIB
        dump = json.dumps([t.to_dict() for t in response.body], sort_keys=True)
        first = first or dump
        assert dump == first


def test_ims_list_images_tags_over_6000_images_arrives_whole_every_time(large_server):
    client = make_ims_client(large_server, project_id=PROJECT, ak=AK, sk=SK)
    first = None
    for _ in range(3):
        response = client.list_images_tags(ListImagesTagsRequest())
        assert response.status_code == 200
        values = sum(len(t.values) for t in response.tags)
        assert values == IMAGES * 10
        dump = json.dumps(response.to_json_object(), sort_keys=True)
        first = first or dump
        assert dump == first
