"""The official Python SDK over HTTPS, trusting the PEM that --tls-self-signed writes."""
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import SdkException
from huaweicloudsdkims.v2 import ImsClient, ListImagesTagsRequest
from huaweicloudsdkswr.v2 import ListRepositoryTagRequest, SwrClient

from support import AK, DEFAULT_PROJECT_ID, SK, http_config, start_server, stop_server


@pytest.fixture
def https_server(tmp_path):
    pem = tmp_path / "ca.pem"
    server = start_server("--tls-self-signed", str(pem))
    yield server, pem
    stop_server(server)


def config(ca=None):
    cfg = http_config()
    if ca is not None:
        cfg.ssl_ca_cert = str(ca)
    return cfg


def test_the_server_announces_an_https_url(https_server):
    server, pem = https_server
    assert server.uri.startswith("https://127.0.0.1:")
    assert pem.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_the_sdk_lists_tags_over_https_when_it_trusts_the_pem(https_server):
    server, pem = https_server
    credentials = BasicCredentials(AK, SK, DEFAULT_PROJECT_ID)
    ims = ImsClient.new_builder().with_http_config(config(pem)).with_credentials(credentials) \
        .with_endpoints([server.uri]).build()
    tags = ims.list_images_tags(ListImagesTagsRequest()).tags
    assert [t.key for t in tags] == ["key9", "key8", "key3"]
    swr = SwrClient.new_builder().with_http_config(config(pem)).with_credentials(credentials) \
        .with_endpoints([server.uri]).build()
    page = swr.list_repository_tag(ListRepositoryTagRequest(namespace="namespace", repository="busybox"))
    assert [t.tag for t in page.tags] == ["latest"]


def test_the_sdk_refuses_the_server_without_the_pem(https_server):
    server, _ = https_server
    ims = ImsClient.new_builder().with_http_config(config()).with_credentials(
        BasicCredentials(AK, SK, DEFAULT_PROJECT_ID)).with_endpoints([server.uri]).build()
    with pytest.raises(SdkException) as caught:
        ims.list_images_tags(ListImagesTagsRequest())
    assert "SSL" in type(caught.value).__name__ or "ssl" in str(caught.value).lower()
