#!/usr/bin/env bash
# Run the official-SDK conformance suite against an already built ims-swr-mock binary.
#
#   bash sdk-tests/run.sh [extra pytest args...]
#
# Environment:
#   IMS_SWR_MOCK_BIN  binary under test (default: <repo>/target/debug/ims-swr-mock). This script never builds it.
#   SDK_VENV          virtualenv to create/reuse (default: <repo>/.venv-sdk)
#   PYTHON            interpreter used to create the venv (default: python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

bin="${IMS_SWR_MOCK_BIN:-$repo/target/debug/ims-swr-mock}"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
if [[ ! -x "$bin" ]]; then
  echo "run.sh: ims-swr-mock binary not found or not executable: $bin" >&2
  echo "run.sh: build it first (cargo build) or point IMS_SWR_MOCK_BIN at it" >&2
  exit 1
fi
export IMS_SWR_MOCK_BIN="$bin"

venv="${SDK_VENV:-$repo/.venv-sdk}"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "run.sh: creating virtualenv $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"

if ! "$py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"; then
  echo "run.sh: pip install -r $here/requirements.txt failed" >&2
  exit 1
fi

cd "$repo"
status=0
"$py" -m pytest sdk-tests -q "$@" || status=$?
if [[ $status -eq 5 ]]; then
  echo "run.sh: pytest collected no tests; treating that as a failure" >&2
fi
exit "$status"
