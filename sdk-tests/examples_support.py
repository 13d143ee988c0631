"""Helpers for test_examples.py: paths, subprocesses and the binary's --help.

The container recipes under examples/ci/ run for real against the built image in
image-tests/ (scripts/test-image); test_examples.py checks them against the binary.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from support import mock_binary

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PYTHON_EXAMPLES = EXAMPLES / "python"
NODE_EXAMPLE = EXAMPLES / "node"
CI_EXAMPLES = EXAMPLES / "ci"

# Environment variables that the examples read themselves (client side), not the server.
CLIENT_ENV_VARS = {"IMS_SWR_MOCK_URL", "IMS_SWR_MOCK_IMAGE", "IMS_SWR_MOCK_BIN"}
ENV_VAR_RE = re.compile(r"\bIMS_SWR_MOCK_[A-Z0-9_]+\b")
CONTAINER_PORT = 8080


def require_tool(name: str) -> str:
    """Path of an executable on PATH; fails (never skips) the test when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail("`%s` is not on PATH; the examples' tests need it (install it, do not skip)" % name,
                    pytrace=False)
    return path


def run(argv, *, cwd=REPO, env=None, timeout=120, check=True) -> subprocess.CompletedProcess:
    """Run a command, capture text output, and fail the test with both streams on a non-zero exit."""
    try:
        result = subprocess.run([str(a) for a in argv], cwd=str(cwd), env=env, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        pytest.fail("timed out after %ss: %s\nstdout:\n%s\nstderr:\n%s"
                    % (timeout, " ".join(map(str, argv)), error.stdout, error.stderr), pytrace=False)
    if check and result.returncode != 0:
        pytest.fail("exit %d: %s\nstdout:\n%s\nstderr:\n%s"
                    % (result.returncode, " ".join(map(str, argv)), result.stdout, result.stderr), pytrace=False)
    return result


def env_with(**extra) -> dict:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@lru_cache(maxsize=None)
def server_help() -> str:
    """`ims-swr-mock --help` plus the help of its subcommands."""
    binary = mock_binary()
    parts = [run([binary, "--help"]).stdout]
    for sub in ("healthcheck", "generate-fixture"):
        parts.append(run([binary, sub, "--help"]).stdout)
    return "\n".join(parts)


def server_env_vars() -> set:
    """Every `[env: IMS_SWR_MOCK_...]` the binary documents."""
    return set(re.findall(r"\[env: (IMS_SWR_MOCK_[A-Z0-9_]+)", server_help()))


def server_flags() -> set:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", server_help()))


def dockerfile_healthcheck() -> list:
    """The exec-form command of the Dockerfile's HEALTHCHECK, e.g. ["/usr/local/bin/ims-swr-mock", "healthcheck"]."""
    text = (REPO / "Dockerfile").read_text()
    match = re.search(r"^HEALTHCHECK\b(?:[^\n]*\\\n)*[^\n]*?\bCMD\s+(\[.*?\])\s*$", text, re.M)
    assert match, "no exec-form HEALTHCHECK ... CMD [...] in the Dockerfile"
    return json.loads(match.group(1))


def dockerfile_env() -> dict:
    """ENV of the Dockerfile's final stage (KEY=VALUE pairs, continuation lines joined)."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    final = text[text.rfind("\nFROM "):]
    env = {}
    for line in re.findall(r"^ENV\s+(.*)$", final, re.M):
        for key, value in re.findall(r"(\w+)=(\S+)", line):
            env[key] = value
    return env


def python_bin_dir() -> str:
    """The folder of the interpreter running the suite (the SDK venv): its `python` has the SDKs."""
    return str(Path(sys.executable).parent)
