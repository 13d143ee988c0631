"""Every ```python block of the README, run as written against a default-fixture server.

If the README drifts from what the server or the SDK does, this fails.
"""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_readme_has_python_sdk_examples():
    assert len(BLOCKS) >= 2, "expected the SDK example and the project-discovery example"
    assert any("list_repository_tag(" in b for b in BLOCKS)
    assert any("with_region" in b for b in BLOCKS)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_python_example_runs_against_the_server(index, default_server, monkeypatch):
    monkeypatch.setenv("IMS_SWR_MOCK_URL", default_server.uri)
    code = compile(BLOCKS[index], "%s:python-block-%d" % (README, index), "exec")
    exec(code, {"__name__": "readme_example_%d" % index})
