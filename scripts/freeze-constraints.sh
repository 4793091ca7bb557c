#!/usr/bin/env bash
# Write constraints/board.txt: the exact versions of every package a board's install
# pulls in, so that every board of a fleet runs what the tests ran (docs/packaging.md).
#
#   scripts/freeze-constraints.sh          then ./scripts/test, then commit the file
#
# It builds the wheel, installs it into an empty venv WITHOUT the old constraints (so pip
# takes the newest versions pyproject.toml allows), and writes down what `pip freeze`
# finds there, less signage-agent itself. Run it with the boards' Python (Raspberry Pi
# OS Bookworm: 3.11): which packages a venv needs can depend on the Python version.
# BUILD_PYTHON: the Python with `build` (default .venv's).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
source scripts/_package.sh

BUILD_PYTHON="${BUILD_PYTHON:-$REPO/.venv/bin/python}"
OUT="$REPO/constraints/board.txt"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

stage_source "$REPO" "$WORK/src"
"$BUILD_PYTHON" -m build --wheel --outdir "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 \
    || { tail -n 30 "$WORK/build.log" >&2; exit 1; }
"$BUILD_PYTHON" -m venv "$WORK/venv"
wheel=("$WORK"/dist/*.whl)
# [video]: what systemd/install.sh installs on a board.
"$WORK/venv/bin/python" -m pip install --disable-pip-version-check --quiet "${wheel[0]}[video]"
"$WORK/venv/bin/python" -m pip check
python_version="$("$WORK/venv/bin/python" -c 'import platform; print(platform.python_version())')"

mkdir -p "$(dirname "$OUT")"
{
    echo "# The tested versions of everything a board's install pulls in (the wheel's"
    echo "# dependencies and theirs). Install with: pip install -c constraints/board.txt …"
    echo "# systemd/install.sh does; so does scripts/check-wheel.sh, which ./scripts/test runs."
    echo "#"
    echo "# Made by scripts/freeze-constraints.sh: the wheel installed into an empty venv"
    echo "# (Python $python_version) without constraints, then \`pip freeze\`. Not edited by hand: to"
    echo "# move a fleet to newer versions, run that script, run ./scripts/test, commit."
    "$WORK/venv/bin/python" -m pip freeze --disable-pip-version-check --exclude signage-agent
} >"$OUT"
# Refused pins stay written, for the reader to see which; the script fails.
check_board_wheels "$WORK/venv/bin/python" "$OUT" "$WORK/board-wheels.log"
echo "wrote $OUT ($(grep -vc '^#' "$OUT") packages, Python $python_version)"
