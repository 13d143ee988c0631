"""Real registry clients (skopeo, podman, oras) against the emulator's registry, checked
through the official SDK. Shares the server helpers of sdk-tests/support.py."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk-tests"))

from support import stop_all_servers  # noqa: E402


def pytest_sessionfinish(session, exitstatus):
    stop_all_servers()
