"""`python -m ims_swr_mock ARGS`: runs the server binary with ARGS.

On POSIX the binary replaces this process (signals and the exit code are
its own); elsewhere it runs as a child and its exit code is passed on.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ims_swr_mock._find import BinaryNotFound, find_binary


def main() -> int:
    try:
        binary = find_binary()
    except BinaryNotFound as exc:
        print("ims_swr_mock: %s" % exc, file=sys.stderr)
        return 127
    argv = [binary, *sys.argv[1:]]
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(binary, argv)
    try:
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
