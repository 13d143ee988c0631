"""The Go-style path, from Python: TLS, and nothing but `ims-swr-mock env`.

The Go SDK reaches IAM only over https (it puts `https://` in front of
`HUAWEICLOUD_SDK_IAM_ENDPOINT`). So this runs a server on TLS and, in a
child process, evaluates `ims-swr-mock env --tls-self-signed ...
--discover-project` in a shell, as a CI job would, then builds clients for
the region with no project id: the SDK asks IAM for it over https, trusting
the self-signed certificate through REQUESTS_CA_BUNDLE.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ims_swr_mock import MockServer, find_binary

APP = Path(__file__).resolve().parent.parent

CHILD = """
import catalog
assert catalog.tag_keys("cn-north-4") == ["key9", "key8", "key3"]
assert catalog.promote("cn-north-4", "namespace", "busybox", "latest", "tls") == ["latest", "tls"]
"""


def test_region_built_clients_over_tls_through_env():
    assert shutil.which("ims-swr-mock") == find_binary(), "the wheel's binary is on PATH"
    with MockServer(auth="strict", tls=True) as server:
        assert server.url.startswith("https://")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HUAWEICLOUD_SDK_", "IMS_SWR_MOCK_"))
               and k not in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")}
        env.update(URL=server.url, CA=server.ca_file, PY=sys.executable, PYTHONPATH=str(APP))
        script = ('eval "$(ims-swr-mock env --url "$URL" --tls-self-signed "$CA" '
                  '--discover-project)" && exec "$PY" -c "$0"')
        done = subprocess.run(["sh", "-c", script, CHILD], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

        iam = server.requests(path="/v3/projects")
        # One discovery: the SDK keeps the project per AK and region for later clients.
        assert [r["status"] for r in iam] == [200]
        assert {r["query"] for r in iam} == {"name=cn-north-4"}
        routes = [r["route"] for r in server.requests() if r["route"] != "/v3/projects"]
        assert routes == [
            "/v2/{project_id}/images/tags",
            "/v2/manage/namespaces/{namespace}/repos/{repository}/tags",
            "/v2/manage/namespaces/{namespace}/repos/{repository}/tags",
        ]
