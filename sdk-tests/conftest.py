"""pytest fixtures for the official-SDK conformance suite (helpers live in support.py).

Servers are real `ims-swr-mock` processes. Module-scoped servers are shared by the
tests of one module; `server_with` starts a per-test server on a generated fixture.
All of them run with support.AUTH_ARGS (strict auth) and are stopped (SIGTERM) at teardown.
"""
import pytest

from support import (BIG_NAMESPACE, BIG_REPOSITORY, BIG_TAG_COUNT, fixture_args, generate_fixture, make_ims_client,
                     make_swr_client, start_server, stop_all_servers, stop_server)


def pytest_sessionfinish(session, exitstatus):
    """Never leave a server behind, even if a fixture teardown did not run."""
    stop_all_servers()


@pytest.fixture(scope="module")
def default_server():
    """A server with the embedded default fixture (seeds 001-004), one per test module."""
    server = start_server()
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def big_server(tmp_path_factory):
    """A server whose only SWR repository, bigns/big, holds 2,500 generated tags."""
    fixture = generate_fixture(tmp_path_factory.mktemp("big") / "big.json",
                               namespace=BIG_NAMESPACE, repository=BIG_REPOSITORY, tags=BIG_TAG_COUNT)
    server = start_server(*fixture_args(fixture))
    yield server
    stop_server(server)


@pytest.fixture
def server_with(tmp_path):
    """Factory: `server_with(namespace=..., repository=..., tags=..., extra_args=[...])` starts a
    server on a freshly generated fixture; it is stopped when the test ends."""
    started = []

    def _start(*, namespace: str, repository: str, tags: int, extra_args=(), **generate_args):
        fixture = generate_fixture(tmp_path / ("fixture-%d.json" % len(started)),
                                   namespace=namespace, repository=repository, tags=tags, **generate_args)
        server = start_server(*fixture_args(fixture), *extra_args)
        started.append(server)
        return server

    yield _start
    for server in started:
        stop_server(server)


@pytest.fixture
def own_server():
    """A default-fixture server owned by ONE test: tests that write use it (never the
    module-shared `default_server`), so no write leaks into another test."""
    server = start_server()
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def ims(default_server):
    return make_ims_client(default_server)


@pytest.fixture(scope="module")
def swr(default_server):
    return make_swr_client(default_server)


@pytest.fixture(scope="module")
def big_swr(big_server):
    return make_swr_client(big_server)


