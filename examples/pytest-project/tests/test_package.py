"""The wheel itself: its binary, `python -m ims_swr_mock`, find_binary()."""

import os
import subprocess
import sys

from ims_swr_mock import find_binary


def test_python_dash_m_runs_the_binary_and_passes_the_exit_code():
    done = subprocess.run([sys.executable, "-m", "ims_swr_mock", "--version"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("ims-swr-mock "), done
    bad = subprocess.run([sys.executable, "-m", "ims_swr_mock", "--auth", "nope"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--auth" in bad.stderr


def test_the_binary_comes_from_the_wheel_not_a_cargo_build():
    binary = find_binary()
    assert os.path.dirname(binary) == os.path.dirname(sys.executable), binary
    assert "target" not in binary.split(os.sep)
