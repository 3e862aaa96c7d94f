#!/usr/bin/env bash
# Installs the peer engines into .venv-peers/ (ignored by git), from PyPI:
#   apache-flink==2.3.0  Flink's jars and PyFlink (about 840 MB, 2-3 minutes); runs on the
#                        installed Java 17 in a local MiniCluster
#   bytewax==0.21.1      Bytewax (a Rust dataflow engine driven from Python)
# Needs python3 (3.9-3.11 for apache-flink) with venv and java on the PATH. Safe to rerun:
# an installed environment is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.venv-peers
packages=(apache-flink==2.3.0 bytewax==0.21.1)
command -v java > /dev/null || { echo "setup: Flink needs java (17) on the PATH" >&2; exit 1; }
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import pyflink, bytewax" 2> /dev/null; then
  exit 0
fi
echo "setup: installing ${packages[*]} into $venv (a few minutes) ..." >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
