#!/usr/bin/env bash
# Builds paper/weir.pdf from the last run's results/ (see paper/build.py). Typst comes from
# PyPI (typst==0.15.2, a self-contained wheel of about 15 MB with its fonts) and is
# installed into .venv-paper/ (ignored by git) on first use.
#
#   paper/build.sh [--results DIR] [--output PDF]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-paper
if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import typst" 2> /dev/null; }; then
  echo "paper: installing Typst (pip: typst==0.15.2) into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check typst==0.15.2
fi
exec "$venv/bin/python" paper/build.py "$@"
