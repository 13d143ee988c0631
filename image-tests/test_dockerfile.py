"""The Dockerfile's build context keeps every Cargo target: the image build (scripts/test-image)
proves today's targets build; this names the culprit when a .dockerignore line would drop one."""
from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
from pathlib import PurePosixPath

import pytest

from conftest import REPO


def dockerignore_patterns() -> list:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns) -> bool:
    """Docker's rule, for the patterns this file uses: a pattern that matches a path or any
    of its parent directories excludes it, unless a later `!pattern` brings it back."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        candidates = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates):
            result = not negated
    return result


def test_the_build_context_keeps_every_target_cargo_declares():
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("cargo is not on PATH", pytrace=False)
    metadata = json.loads(subprocess.run([cargo, "metadata", "--format-version", "1", "--no-deps"], cwd=REPO,
                                         capture_output=True, text=True, check=True).stdout)
    patterns = dockerignore_patterns()
    files = ["Cargo.toml", "Cargo.lock"]
    for package in metadata["packages"]:
        files += [str(PurePosixPath(t["src_path"]).relative_to(REPO)) for t in package["targets"]]
    assert any(f.startswith("benches/") for f in files) and any(f.startswith("tests/") for f in files), files
    dropped = [f for f in files if ignored(f, patterns)]
    assert not dropped, ".dockerignore drops Cargo targets %s: the image build would fail" % dropped
    # The rule itself: what is meant to go does go.
    assert ignored("target/debug/x", patterns) and ignored("fuzz/Cargo.toml", patterns)
