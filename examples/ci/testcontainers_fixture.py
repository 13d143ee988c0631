"""ims-swr-mock in a Docker container per test session, with testcontainers-python.

    pip install testcontainers==4.15.0 -r examples/python/requirements.txt pytest
    docker build -t ims-swr-mock:latest .          # at this repository's root
    pytest examples/ci/testcontainers_fixture.py   # or: python examples/ci/testcontainers_fixture.py

Copy the `ims_swr_mock_url` fixture into your own conftest.py. The container logs one line,
`Listening at http://0.0.0.0:8080`, on stdout once it accepts connections: that line is
what the wait strategy looks for (`/_mock/health` answering 200 is the other signal; see
`HTTP_WAIT` below).

scripts/test runs this file, as a script and under pytest, through podman's
Docker-compatible socket (image-tests/test_recipes.py).

(This file is deliberately not named `testcontainers.py`: run as a script or collected by
pytest, a file of that name would shadow the `testcontainers` package it imports.)
"""
import os

import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy, LogMessageWaitStrategy

IMAGE = os.environ.get("IMS_SWR_MOCK_IMAGE", "ims-swr-mock:latest")
PORT = 8080  # the image sets IMS_SWR_MOCK_BIND=0.0.0.0 and IMS_SWR_MOCK_PORT=8080
LISTENING_LINE = "Listening at"  # printed once on stdout after binding
LOG_WAIT = LogMessageWaitStrategy(LISTENING_LINE).with_startup_timeout(30)
# The alternative: poll the admin health route until it answers 200.
HTTP_WAIT = HttpWaitStrategy(PORT, "/_mock/health").for_status_code(200).with_startup_timeout(30)


def ims_swr_mock_container(image: str = IMAGE, auth: str = "strict") -> DockerContainer:
    """A not yet started container: strict auth (the SDKs sign with AKTEST/SKTEST)."""
    return (DockerContainer(image)
            .with_env("IMS_SWR_MOCK_AUTH", auth)
            .with_exposed_ports(PORT)
            .waiting_for(LOG_WAIT))


@pytest.fixture(scope="session")
def ims_swr_mock_url():
    """Base URL of a running ims-swr-mock container, stopped at the end of the session.
    A test that writes can call `POST {url}/_mock/reset` first to start from the fixture."""
    with ims_swr_mock_container() as container:
        yield "http://%s:%s" % (container.get_container_host_ip(), container.get_exposed_port(PORT))


def list_busybox_tags(url: str) -> list:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkswr.v2 import ListRepositoryTagsRequest, SwrClient

    credentials = BasicCredentials("AKTEST", "SKTEST", "fd73a4a14a4a4dfb9771a8475e5198ea")
    swr = SwrClient.new_builder().with_credentials(credentials).with_endpoints([url]).build()
    response = swr.list_repository_tags(ListRepositoryTagsRequest(namespace="namespace", repository="busybox"))
    return [t.tag for t in response.body or []]


def test_seed_tag(ims_swr_mock_url):
    assert list_busybox_tags(ims_swr_mock_url) == ["latest"]


if __name__ == "__main__":
    with ims_swr_mock_container() as running:
        base_url = "http://%s:%s" % (running.get_container_host_ip(), running.get_exposed_port(PORT))
        print("ims-swr-mock container at %s" % base_url)
        tags = list_busybox_tags(base_url)
        print("namespace/busybox tags: %s" % tags)
        assert tags == ["latest"], tags
        print("OK")
