#!/usr/bin/env bash
# The project's pinned Python tools (scripts/ci/requirements.txt) in a virtual environment at
# VENV-DIR: created when missing, reinstalled when the requirements changed, else left alone.
# Used by .ci/run and by the object-store tests (through LOGBENCH_VENV).
set -euo pipefail
venv=${1:?usage: scripts/ci/pytools.sh VENV-DIR}
req="$(cd "$(dirname "$0")" && pwd)/requirements.txt"
stamp="$venv/.logbench-requirements"
if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then
  exit 0
fi
command -v python3 >/dev/null || { echo "pytools: python3 is needed (with its venv module)" >&2; exit 1; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
cp "$req" "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
echo "pytools: $venv ready ($(grep -c '^[a-zA-Z]' "$req") pinned packages)"
