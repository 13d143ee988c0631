"""The README's Python SDK example, run as written against a default-fixture server.

If the README drifts from what the server or the SDK does, this fails.
"""
import os
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_readme_has_a_python_sdk_example():
    blocks = readme_python_blocks()
    assert len(blocks) == 1, "expected exactly one ```python block in README.md"
    assert "list_images_tags" in blocks[0] and "list_repository_tag(" in blocks[0]


def test_the_readme_python_example_runs_against_the_server(default_server, monkeypatch):
    (code,) = readme_python_blocks()
    monkeypatch.setenv("IMS_SWR_MOCK_URL", default_server.uri)
    exec(compile(code, str(README) + ":python-example", "exec"), {"__name__": "readme_example"})
    assert os.environ["IMS_SWR_MOCK_URL"] == default_server.uri
