"""Real registry clients against the emulator, in lenient and strict mode, over plain HTTP
on loopback and over TLS (--tls-self-signed):

- skopeo copies a 3-layer image (an `oci:` layout made here) to the emulator and back;
- podman pushes and pulls an image;
- oras (PyPI) pushes and pulls an artifact;
- skopeo copies a multi-arch image index both ways;
- skopeo pushes, the state is exported (blobs included), imported into a fresh server, and
  skopeo pulls the image back from it.

Every push is checked through the official SDK's v2 and v3 tag lists (digest and size agree
with what the client reports) and by pulling it back byte for byte. In strict mode the
credentials come from the SDK's CreateSecret. Nothing here skips: a missing tool fails.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkswr.v2 import (CreateSecretRequest, DeleteRepoTagRequest, ListRepositoryTagRequest,
                                  ListRepositoryTagsRequest, SwrClient)

import oci
from support import AK, DEFAULT_PROJECT_ID, SK, http_config, start_server, stop_server

TIMEOUT_S = 120


def run(*argv: str, env: dict | None = None) -> str:
    tool = shutil.which(argv[0])
    if tool is None:
        pytest.fail(f"{argv[0]} is not installed (scripts/test-registry installs it)", pytrace=False)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S,
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}",
                    pytrace=False)
    return result.stdout


@dataclass
class Registry:
    """A running emulator seen as a registry."""
    server: object
    host: str          # 127.0.0.1:<port>
    tls: bool
    user: str | None   # from CreateSecret, in strict mode
    key: str | None
    ca: Path | None
    swr: SwrClient

    def creds(self, flag: str) -> list[str]:
        return [flag, f"{self.user}:{self.key}"] if self.user else []

    def verify(self, flag: str) -> list[str]:
        # Plain HTTP on loopback, or TLS with the self-signed certificate.
        return [f"{flag}=false"]

    def raw(self, path: str, method: str = "GET"):
        headers = {}
        if self.user:
            token = base64.b64encode(f"{self.user}:{self.key}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(self.server.uri + path, headers=headers, method=method)
        context = ssl.create_default_context(cafile=str(self.ca)) if self.ca else None
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


MODES = ["lenient-http", "strict-http", "strict-tls"]


@pytest.fixture(params=MODES)
def registry(request, tmp_path):
    auth, transport = request.param.split("-")
    args = ["--auth", auth]
    ca = None
    if transport == "tls":
        ca = tmp_path / "ca.pem"
        args += ["--tls-self-signed", str(ca)]
    server = start_server(*args, auth=())
    cfg = http_config()
    if ca is not None:
        cfg.ssl_ca_cert = str(ca)
    swr = (SwrClient.new_builder().with_http_config(cfg)
           .with_credentials(BasicCredentials(AK, SK, DEFAULT_PROJECT_ID))
           .with_endpoints([server.uri]).build())
    user = key = None
    if auth == "strict":
        answer = swr.create_secret(CreateSecretRequest(projectname="cn-north-4"))
        words = answer.x_swr_dockerlogin.split()
        user, key = words[words.index("-u") + 1], words[words.index("-p") + 1]
        auths = next(iter(answer.auths.values())).auth
        assert base64.b64decode(auths).decode() == f"{user}:{key}"
    yield Registry(server, f"127.0.0.1:{server.port}", transport == "tls", user, key, ca, swr)
    stop_server(server)


@pytest.fixture(scope="session")
def podman_env(tmp_path_factory):
    """Project-local podman settings (as scripts/test-image writes them): own storage, cgroupfs."""
    cache = tmp_path_factory.mktemp("podman")
    (cache / "storage").mkdir()
    (cache / "run").mkdir()
    (cache / "containers.conf").write_text(
        '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n'
        'runtime = "runc"\nevents_logger = "file"\n')
    (cache / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{cache}/storage"\nrunroot = "{cache}/run"\n')
    return {"CONTAINERS_CONF": str(cache / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(cache / "storage.conf")}


def sdk_tag(registry: Registry, namespace: str, repository: str, tag: str) -> tuple[str, int]:
    """(digest, size) of a tag as the SDK's v2 and v3 lists give it; both must agree."""
    v2 = registry.swr.list_repository_tags(ListRepositoryTagsRequest(namespace=namespace, repository=repository))
    v2_tag = next((t for t in v2.body if t.tag == tag), None)
    assert v2_tag is not None, f"v2 list of {namespace}/{repository} has no tag {tag}"
    v3 = registry.swr.list_repository_tag(ListRepositoryTagRequest(namespace=namespace, repository=repository))
    v3_tag = next((t for t in v3.tags if t.tag == tag), None)
    assert v3_tag is not None, f"v3 list of {namespace}/{repository} has no tag {tag}"
    assert (v2_tag.digest, v2_tag.size) == (v3_tag.digest, v3_tag.size)
    assert v2_tag.path.endswith(f"/{namespace}/{repository}:{tag}")
    return v2_tag.digest, v2_tag.size


def same_blobs(source: Path, copy: Path) -> None:
    """Every blob of `source` is in `copy`, byte for byte."""
    for blob in (source / "blobs" / "sha256").iterdir():
        pulled = copy / "blobs" / "sha256" / blob.name
        assert pulled.is_file(), f"blob {blob.name} did not come back"
        assert pulled.read_bytes() == blob.read_bytes()


def test_skopeo_copies_a_multi_layer_image_both_ways(registry, tmp_path):
    source = tmp_path / "src"
    image = oci.single(source, "v1", [300_000, 200_000, 100_000], seed=1)
    digest_file = tmp_path / "digest"
    run("skopeo", "copy", "--retry-times=0", *registry.verify("--dest-tls-verify"),
        *registry.creds("--dest-creds"), "--digestfile", str(digest_file),
        f"oci:{source}:v1", f"docker://{registry.host}/namespace/skopeo-app:v1")
    pushed = digest_file.read_text().strip()
    assert pushed == image["digest"]
    assert sdk_tag(registry, "namespace", "skopeo-app", "v1") == (pushed, image["_size"])
    back = tmp_path / "back"
    run("skopeo", "copy", "--retry-times=0", *registry.verify("--src-tls-verify"),
        *registry.creds("--src-creds"), f"docker://{registry.host}/namespace/skopeo-app:v1", f"oci:{back}:v1")
    assert oci.tagged_manifest(back) == (image["digest"], image["_bytes"])
    same_blobs(source, back)


def test_skopeo_copies_a_multi_arch_index_both_ways(registry, tmp_path):
    source = tmp_path / "src"
    index = oci.multi_arch(source, "multi")
    digest_file = tmp_path / "digest"
    run("skopeo", "copy", "--all", "--retry-times=0", *registry.verify("--dest-tls-verify"),
        *registry.creds("--dest-creds"), "--digestfile", str(digest_file),
        f"oci:{source}:multi", f"docker://{registry.host}/namespace/multi:v1")
    assert digest_file.read_text().strip() == index["digest"]
    size = sum(child["_size"] for child in index["_children"])
    assert sdk_tag(registry, "namespace", "multi", "v1") == (index["digest"], size)
    back = tmp_path / "back"
    run("skopeo", "copy", "--all", "--retry-times=0", *registry.verify("--src-tls-verify"),
        *registry.creds("--src-creds"), f"docker://{registry.host}/namespace/multi:v1", f"oci:{back}:v1")
    assert oci.tagged_manifest(back) == (index["digest"], index["_bytes"])
    same_blobs(source, back)


def test_podman_pushes_and_pulls(registry, tmp_path, podman_env):
    source = tmp_path / "src"
    oci.single(source, "v1", [150_000, 50_000], seed=2)
    local = f"localhost/ims-swr-mock-registry-test:{registry.server.port}"
    image_id = run("podman", "pull", "-q", f"oci:{source}:v1", env=podman_env).strip().splitlines()[-1]
    run("podman", "tag", image_id, local, env=podman_env)
    remote = f"{registry.host}/namespace/podman-app:v1"
    digest_file = tmp_path / "digest"
    try:
        run("podman", "push", *registry.verify("--tls-verify"), *registry.creds("--creds"),
            "--digestfile", str(digest_file), local, remote, env=podman_env)
        pushed = digest_file.read_text().strip()
        digest, size = sdk_tag(registry, "namespace", "podman-app", "v1")
        assert digest == pushed
        status, headers, manifest = registry.raw("/v2/namespace/podman-app/manifests/v1")
        assert status == 200 and oci.sha256(manifest) == pushed
        doc = json.loads(manifest)
        assert size == doc["config"]["size"] + sum(layer["size"] for layer in doc["layers"])
        run("podman", "rmi", "-f", local, remote, env={**podman_env})
        run("podman", "pull", "-q", *registry.verify("--tls-verify"), *registry.creds("--creds"),
            remote, env=podman_env)
        # The image may also hold the digest it was first pulled under: look for this one.
        inspected = run("podman", "image", "inspect", "--format", "{{json .RepoDigests}}", remote,
                        env=podman_env)
        assert f"{registry.host}/namespace/podman-app@{pushed}" in json.loads(inspected)
    finally:
        subprocess.run(["podman", "rmi", "-f", image_id], capture_output=True, env={**os.environ, **podman_env},
                       timeout=TIMEOUT_S)


def test_oras_pushes_and_pulls_an_artifact(registry, tmp_path, monkeypatch):
    import oras.client
    monkeypatch.chdir(tmp_path)
    payload = oci.noise(3, 70_000)
    Path("artifact.bin").write_bytes(payload)
    client = oras.client.OrasClient(hostname=registry.host, insecure=not registry.tls,
                                    tls_verify=False if registry.tls else True)
    if registry.user:
        client.login(username=registry.user, password=registry.key, hostname=registry.host,
                     tls_verify=False)
    target = f"{registry.host}/namespace/oras-artifact:v1"
    response = client.push(target=target, files=["artifact.bin"])
    assert response.status_code == 201, response.text
    pushed = response.headers["Docker-Content-Digest"]
    digest, size = sdk_tag(registry, "namespace", "oras-artifact", "v1")
    assert digest == pushed
    manifest = json.loads(registry.raw("/v2/namespace/oras-artifact/manifests/v1")[2])
    assert size == manifest["config"]["size"] + len(payload)
    files = client.pull(target=target, outdir=str(tmp_path / "out"))
    assert [Path(f).read_bytes() for f in files] == [payload]


def test_a_tag_deleted_through_the_sdk_no_longer_pulls(registry, tmp_path):
    source = tmp_path / "src"
    oci.single(source, "v1", [1000], seed=4)
    remote = f"docker://{registry.host}/namespace/doomed:v1"
    run("skopeo", "copy", "--retry-times=0", *registry.verify("--dest-tls-verify"),
        *registry.creds("--dest-creds"), f"oci:{source}:v1", remote)
    registry.swr.delete_repo_tag(DeleteRepoTagRequest(namespace="namespace", repository="doomed", tag="v1"))
    status, _, body = registry.raw("/v2/namespace/doomed/manifests/v1")
    assert status == 404
    assert json.loads(body)["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    result = subprocess.run(["skopeo", "inspect", "--retry-times=0", *registry.verify("--tls-verify"),
                             *registry.creds("--creds"), remote], capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert result.returncode != 0
    assert "manifest unknown" in result.stderr.lower(), result.stderr


def test_strict_mode_refuses_clients_without_the_login_key(registry, tmp_path):
    if registry.user is None:
        # Lenient mode accepts anything: an anonymous push succeeds.
        source = tmp_path / "src"
        oci.single(source, "v1", [1000], seed=5)
        run("skopeo", "copy", "--retry-times=0", *registry.verify("--dest-tls-verify"),
            f"oci:{source}:v1", f"docker://{registry.host}/anyone/app:v1")
        return
    source = tmp_path / "src"
    oci.single(source, "v1", [1000], seed=5)
    result = subprocess.run(["skopeo", "copy", "--retry-times=0", *registry.verify("--dest-tls-verify"),
                             "--dest-creds", f"{registry.user}:wrong-key", f"oci:{source}:v1",
                             f"docker://{registry.host}/namespace/refused:v1"],
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode != 0
    assert "unauthorized" in result.stderr.lower() or "authentication" in result.stderr.lower(), result.stderr
    # Tenant 1's key cannot push into tenant 2's organization.
    result = subprocess.run(["skopeo", "copy", "--retry-times=0", *registry.verify("--dest-tls-verify"),
                             *registry.creds("--dest-creds"), f"oci:{source}:v1",
                             f"docker://{registry.host}/othernamespace/nginx:stolen"],
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode != 0
    assert "403" in result.stderr or "denied" in result.stderr.lower(), result.stderr


def test_skopeo_push_then_export_and_import_into_a_fresh_server_pulls_back_byte_for_byte(tmp_path):
    """GET /_mock/state carries the registry's blobs: a fresh server that imports it serves
    the pushed image (manifest and every blob) to skopeo, with its SWR tag."""
    source = tmp_path / "src"
    image = oci.single(source, "v1", [300_000, 200_000, 100_000], seed=7)
    first = start_server(auth=())
    try:
        run("skopeo", "copy", "--retry-times=0", "--dest-tls-verify=false",
            f"oci:{source}:v1", f"docker://127.0.0.1:{first.port}/namespace/kept:v1")
        with urllib.request.urlopen(first.uri + "/_mock/state", timeout=30) as response:
            state = response.read()
    finally:
        stop_server(first)
    assert image["digest"] in json.loads(state)["registry"]["blobs"]
    second = start_server(auth=())
    try:
        request = urllib.request.Request(second.uri + "/_mock/state", data=state, method="PUT",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
        back = tmp_path / "back"
        run("skopeo", "copy", "--retry-times=0", "--src-tls-verify=false",
            f"docker://127.0.0.1:{second.port}/namespace/kept:v1", f"oci:{back}:v1")
        assert oci.tagged_manifest(back) == (image["digest"], image["_bytes"])
        same_blobs(source, back)
        swr = (SwrClient.new_builder().with_http_config(http_config())
               .with_credentials(BasicCredentials(AK, SK, DEFAULT_PROJECT_ID))
               .with_endpoints([second.uri]).build())
        tags = swr.list_repository_tags(ListRepositoryTagsRequest(namespace="namespace", repository="kept"))
        assert [(t.tag, t.digest, t.size) for t in tags.body] == [("v1", image["digest"], image["_size"])]
    finally:
        stop_server(second)
