"""The pytest plugin of ims-swr-mock (entry point `pytest11`).

Fixtures:

- `ims_swr_mock_server` (session): one server per test session, and so one
  per pytest-xdist worker (each worker is its own session);
- `ims_swr_mock` (function): that server, reset after the test (data,
  faults and journal back to the startup state);
- `huaweicloud_env` (function): sets the official SDKs' own variables for
  the configured region (`HUAWEICLOUD_SDK_REGION_{IMS,SWR}_{REGION}`,
  `HUAWEICLOUD_SDK_IAM_ENDPOINT`, `HUAWEICLOUD_SDK_AK`/`SK`/`PROJECT_ID`,
  and with TLS the CA bundle), so `ImsRegion.value_of(region)` and
  `SwrRegion.value_of(region)` reach the server; undone after the test;
- `ims_client`, `swr_client` (function): ready official clients
  (`huaweicloudsdkims.v2.ImsClient`, `huaweicloudsdkswr.v2.SwrClient`) with
  the default tenant's AK/SK and project.

Options (command line, or the ini key in `pytest.ini` / `[tool.pytest.ini_options]`):
`--ims-swr-mock-auth` / `ims_swr_mock_auth`, `--ims-swr-mock-fixtures` /
`ims_swr_mock_fixtures`, `--ims-swr-mock-include-default-fixture` /
`ims_swr_mock_include_default_fixture`, `--ims-swr-mock-region` /
`ims_swr_mock_region`, `--ims-swr-mock-tls` / `ims_swr_mock_tls`,
`--ims-swr-mock-arg` / `ims_swr_mock_args`.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List, Optional

import pytest

from ims_swr_mock._server import (
    _AUTH_MODES,
    DEFAULT_AK,
    DEFAULT_PROJECT_ID,
    DEFAULT_REGION,
    DEFAULT_SK,
    MockServer,
)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ims-swr-mock", "ims-swr-mock (Huawei Cloud IMS/SWR emulator)")
    group.addoption("--ims-swr-mock-auth", dest="ims_swr_mock_auth", default=None,
                    help="auth mode of the session server: off, lenient or strict "
                         "(ini: ims_swr_mock_auth; default: the server's, lenient)")
    group.addoption("--ims-swr-mock-fixtures", dest="ims_swr_mock_fixtures", action="append",
                    default=None, metavar="PATH",
                    help="fixture file or directory for the server; repeatable "
                         "(ini: ims_swr_mock_fixtures; default: the embedded fixture)")
    group.addoption("--ims-swr-mock-include-default-fixture",
                    dest="ims_swr_mock_include_default_fixture", action="store_true",
                    default=None,
                    help="also load the embedded default fixture with --ims-swr-mock-fixtures "
                         "(ini: ims_swr_mock_include_default_fixture)")
    group.addoption("--ims-swr-mock-region", dest="ims_swr_mock_region", default=None,
                    help="region the huaweicloud_env fixture points at the server "
                         "(ini: ims_swr_mock_region; default cn-north-4)")
    group.addoption("--ims-swr-mock-tls", dest="ims_swr_mock_tls", action="store_true",
                    default=None,
                    help="serve HTTPS with a self-signed certificate (ini: ims_swr_mock_tls)")
    group.addoption("--ims-swr-mock-arg", dest="ims_swr_mock_args", action="append",
                    default=None, metavar="ARG",
                    help="one more server flag, e.g. --ims-swr-mock-arg=--fault=GET /v3/** 503; "
                         "repeatable (ini: ims_swr_mock_args)")
    parser.addini("ims_swr_mock_auth", "auth mode: off, lenient or strict", default="")
    parser.addini("ims_swr_mock_fixtures", "fixture files or directories (relative to the "
                  "ini file)", type="paths", default=[])
    parser.addini("ims_swr_mock_include_default_fixture",
                  "also load the embedded default fixture", type="bool", default=False)
    parser.addini("ims_swr_mock_region", "region of huaweicloud_env", default=DEFAULT_REGION)
    parser.addini("ims_swr_mock_tls", "serve HTTPS (self-signed)", type="bool", default=False)
    parser.addini("ims_swr_mock_args", "more server flags", type="args", default=[])


class _Settings:
    """The plugin's options, command line over ini."""

    def __init__(self, config: pytest.Config) -> None:
        def pick(name: str) -> Any:
            value = config.getoption(name)
            return config.getini(name) if value is None else value

        self.auth: Optional[str] = pick("ims_swr_mock_auth") or None
        if self.auth is not None and self.auth not in _AUTH_MODES:
            raise pytest.UsageError(
                "--ims-swr-mock-auth / ims_swr_mock_auth = %r: expected one of %s"
                % (self.auth, ", ".join(_AUTH_MODES)))
        self.fixtures: List[str] = [os.fspath(p) for p in pick("ims_swr_mock_fixtures")]
        for path in self.fixtures:
            if not os.path.exists(path):
                raise pytest.UsageError(
                    "--ims-swr-mock-fixtures / ims_swr_mock_fixtures: %s does not exist" % path)
        self.include_default = bool(pick("ims_swr_mock_include_default_fixture"))
        self.region: str = pick("ims_swr_mock_region") or DEFAULT_REGION
        self.tls = bool(pick("ims_swr_mock_tls"))
        self.args: List[str] = list(pick("ims_swr_mock_args"))


def pytest_configure(config: pytest.Config) -> None:
    config._ims_swr_mock_settings = _Settings(config)  # type: ignore[attr-defined]
    config.addinivalue_line(
        "markers", "ims_swr_mock: a test that uses the ims-swr-mock server")


def _settings(config: pytest.Config) -> _Settings:
    return config._ims_swr_mock_settings  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="session")
def ims_swr_mock_server(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    """The session's server (one per xdist worker), started on 127.0.0.1:0."""
    s = _settings(pytestconfig)
    server = MockServer(auth=s.auth, fixtures=s.fixtures,
                        include_default_fixture=s.include_default, tls=s.tls, args=s.args)
    with server:
        yield server


@pytest.fixture
def ims_swr_mock(ims_swr_mock_server: MockServer) -> Iterator[MockServer]:
    """The session's server, reset after the test."""
    yield ims_swr_mock_server
    ims_swr_mock_server.reset()


@pytest.fixture
def huaweicloud_env(ims_swr_mock: MockServer, pytestconfig: pytest.Config,
                    monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    """Sets the official SDKs' environment variables so that clients built
    for the configured region (`XxxRegion.value_of(region)`, credentials
    from the environment) reach the server. Returns the variables."""
    variables = ims_swr_mock.environ(_settings(pytestconfig).region)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


def _sdk_config(server: MockServer) -> Any:
    from huaweicloudsdkcore.http.http_config import HttpConfig

    config = HttpConfig.get_default_config()
    if server.ca_file:
        config.ssl_ca_cert = server.ca_file
    return config


def _credentials() -> Any:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials

    return BasicCredentials(DEFAULT_AK, DEFAULT_SK, DEFAULT_PROJECT_ID)


@pytest.fixture(scope="session")
def _ims_swr_mock_ims_client(ims_swr_mock_server: MockServer) -> Any:
    from huaweicloudsdkims.v2 import ImsClient

    return (ImsClient.new_builder().with_http_config(_sdk_config(ims_swr_mock_server))
            .with_credentials(_credentials()).with_endpoints([ims_swr_mock_server.url]).build())


@pytest.fixture(scope="session")
def _ims_swr_mock_swr_client(ims_swr_mock_server: MockServer) -> Any:
    from huaweicloudsdkswr.v2 import SwrClient

    return (SwrClient.new_builder().with_http_config(_sdk_config(ims_swr_mock_server))
            .with_credentials(_credentials()).with_endpoints([ims_swr_mock_server.url]).build())


@pytest.fixture
def ims_client(ims_swr_mock: MockServer, _ims_swr_mock_ims_client: Any) -> Any:
    """`huaweicloudsdkims.v2.ImsClient` on the server, default tenant; the
    server is reset after the test. (Built once per session: a client holds
    no state between calls, and keeps its connections.)"""
    return _ims_swr_mock_ims_client


@pytest.fixture
def swr_client(ims_swr_mock: MockServer, _ims_swr_mock_swr_client: Any) -> Any:
    """`huaweicloudsdkswr.v2.SwrClient` on the server, default tenant; the
    server is reset after the test."""
    return _ims_swr_mock_swr_client
