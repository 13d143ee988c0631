"""ims-swr-mock for Python: the emulator of Huawei Cloud's IMS and SWR
image-tag APIs, its binary (installed by this wheel), a `MockServer` to run
it from Python, and a pytest plugin (`ims_swr_mock.pytest_plugin`).

::

    from ims_swr_mock import MockServer

    with MockServer(auth="strict") as server:
        print(server.url)
"""

from __future__ import annotations

from ims_swr_mock._find import BinaryNotFound, find_binary
from ims_swr_mock._server import (
    DEFAULT_AK,
    DEFAULT_PROJECT_ID,
    DEFAULT_REGION,
    DEFAULT_SK,
    Faults,
    MockServer,
    MockServerError,
)

__all__ = [
    "BinaryNotFound",
    "DEFAULT_AK",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_REGION",
    "DEFAULT_SK",
    "Faults",
    "MockServer",
    "MockServerError",
    "find_binary",
]
