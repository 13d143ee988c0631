"""Finding the `ims-swr-mock` binary that the wheel installed.

The wheel puts the binary in the scripts directory of the scheme it is
installed into (maturin `bindings = "bin"`), which is not always on `PATH`
(an unactivated venv, `pip install --user`, `--prefix`, `--target`). So,
as uv's `_find_uv.py` does, look where each installation scheme puts
scripts, relative to this package, rather than on `PATH`.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

__all__ = ["BinaryNotFound", "find_binary"]

#: The environment variable that names a binary to use instead (a local
#: `cargo build`, for example). It wins over every other place.
BIN_ENV = "IMS_SWR_MOCK_BIN"


class BinaryNotFound(FileNotFoundError):
    """The `ims-swr-mock` binary is in none of the places looked at."""


def _exe_name() -> str:
    return "ims-swr-mock" + (sysconfig.get_config_var("EXE") or "")


def _user_scheme() -> str:
    if sys.version_info >= (3, 10):
        return sysconfig.get_preferred_scheme("user")
    if os.name == "nt":
        return "nt_user"
    if sys.platform == "darwin" and getattr(sys, "_framework", None):
        return "osx_framework_user"
    return "posix_user"


def _candidates() -> list[Path]:
    here = Path(__file__).resolve().parent  # .../site-packages/ims_swr_mock
    site = here.parent
    dirs: list[Path] = [
        # The scripts directory of the running interpreter (a venv's bin/).
        Path(sysconfig.get_path("scripts")),
        # The same for the base interpreter (a system-wide install).
        Path(sysconfig.get_path("scripts", vars={"base": sys.base_prefix})),
    ]
    # `pip install --prefix P`: the package is in P/lib/pythonX.Y/site-packages
    # (P/Lib/site-packages on Windows) and the binary in P/bin (P/Scripts).
    if site.name == "site-packages":
        lib = site.parent.parent if site.parent.name.startswith("python") else site.parent
        prefix = lib.parent
        dirs += [prefix / "bin", prefix / "Scripts"]
    # `pip install --target T`: the package is in T and the binary in T/bin.
    dirs.append(site / "bin")
    # `pip install --user`: the user scheme's scripts directory (~/.local/bin).
    try:
        dirs.append(Path(sysconfig.get_path("scripts", scheme=_user_scheme())))
    except KeyError:
        pass
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_binary() -> str:
    """Return the path of the `ims-swr-mock` binary.

    `$IMS_SWR_MOCK_BIN` first (it must then name an executable file), then
    the scripts directories of the installation schemes the wheel may have
    been installed with: the running interpreter's (a venv), the base
    interpreter's, a `--prefix`, a `--target` and the user scheme
    (`--user`). Raises :class:`BinaryNotFound` listing every place looked at.
    """
    override = os.environ.get(BIN_ENV)
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise BinaryNotFound(
            "%s=%s does not name an executable file" % (BIN_ENV, override)
        )
    name = _exe_name()
    looked = _candidates()
    for directory in looked:
        path = directory / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    places = "\n".join(" - %s" % d for d in looked)
    raise BinaryNotFound(
        "Could not find the %s binary in any of these places:\n%s\n"
        "Install the ims-swr-mock wheel, or set %s to a binary." % (name, places, BIN_ENV)
    )
