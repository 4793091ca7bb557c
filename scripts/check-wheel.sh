#!/usr/bin/env bash
# The package as a user's pip gets it (docs/packaging.md): build the sdist, build the
# wheel from that sdist (so the sdist is proved complete), install the wheel with the
# boards' constraints into an empty venv, and run from outside the checkout (so nothing
# is imported from it) the commands a board and a content manager use.
#
#   scripts/check-wheel.sh [WORK_DIR]     (default: .wheel-check/, made anew each run)
#
# WORK_DIR keeps dist/ (the sdist and wheel), sdist/ (unpacked), venv/ (the wheel
# installed), a log per step, and env, which scripts/test sources:
# SIGNAGE_STUDIO_PYTHON (the venv's python, for the browser test of `signage-agent
# studio`) and SIGNAGE_WHEEL_DIST (for tests/test_packaging.py).
# BUILD_PYTHON: the Python with `build` (default .venv's).
# SIGNAGE_WHEELHOUSE: where the pinned wheels are kept (default ~/.cache/signage-agent/wheels).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
source scripts/_package.sh

BUILD_PYTHON="${BUILD_PYTHON:-$REPO/.venv/bin/python}"
WORK="$(realpath -m -- "${1:-$REPO/.wheel-check}")"
CONSTRAINTS="$REPO/constraints/board.txt"
STARTED=$SECONDS
STUDIO_PID=""

say() { printf '  %s\n' "$*"; }
fail() {
    printf 'check-wheel: ✗ %s\n' "$*" >&2
    exit 1
}
stop_studio() {
    if [ -n "$STUDIO_PID" ]; then
        kill "$STUDIO_PID" 2>/dev/null || true
        wait "$STUDIO_PID" 2>/dev/null || true
        STUDIO_PID=""
    fi
}
trap stop_studio EXIT

# Run a command of the installed package; its output goes to a log named after the step,
# shown when it fails.
run_step() {
    local name="$1"
    shift
    if ! "$@" >"$WORK/$name.log" 2>&1; then
        tail -n 30 "$WORK/$name.log" >&2
        fail "$name failed: $* (whole log: $WORK/$name.log)"
    fi
}

rm -rf "$WORK"
mkdir -p "$WORK/run"

# --- build: sdist, then the wheel from the sdist, as `python -m build` does --------------
stage_source "$REPO" "$WORK/src"
run_step build "$BUILD_PYTHON" -m build --outdir "$WORK/dist" "$WORK/src"
shopt -s nullglob
sdists=("$WORK"/dist/*.tar.gz)
wheels=("$WORK"/dist/*.whl)
shopt -u nullglob
[ "${#sdists[@]}" -eq 1 ] && [ "${#wheels[@]}" -eq 1 ] || fail "expected one sdist and one wheel in $WORK/dist"
WHEEL="${wheels[0]}"
# The sdist as a user unpacks it: the files below come from it, not from the checkout.
mkdir -p "$WORK/sdist"
tar -C "$WORK/sdist" --strip-components=1 -xzf "${sdists[0]}"
say "✓ built $(basename "${sdists[0]}") and $(basename "$WHEEL") from it ($((SECONDS - STARTED)) s)"

# --- an empty venv, the wheel and the boards' pinned dependencies ------------------------
# No pip of its own (ensurepip would cost ~10 s a run): the build Python's pip installs
# into it with --python, and the venv holds the package and its dependencies only.
run_step venv "$BUILD_PYTHON" -m venv --without-pip "$WORK/venv"
PY="$WORK/venv/bin/python"
PIP=("$BUILD_PYTHON" -m pip --python "$PY" --disable-pip-version-check)
AGENT="$WORK/venv/bin/signage-agent"
# Offline, as a technician installs a board (install.sh --wheels): the pinned wheels come
# from a folder kept between runs (pip's own cache is not always there to use), fetched
# only when a pin is new. A dependency the pins do not cover fails here: the constraints
# are out of date.
WHEELHOUSE="${SIGNAGE_WHEELHOUSE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/signage-agent/wheels}"
offline=("${PIP[@]}" install --no-index --find-links "$WHEELHOUSE"
    -c "$CONSTRAINTS" "$WHEEL[video]")  # [video]: as systemd/install.sh installs a board
if ! "${offline[@]}" >"$WORK/pip.log" 2>&1; then
    run_step pip-download "${PIP[@]}" download --no-deps \
        -d "$WHEELHOUSE" -r "$CONSTRAINTS"
    if ! "${offline[@]}" >"$WORK/pip.log" 2>&1; then
        grep -v 'is ignored' "$WORK/pip.log" | tail -n 10 >&2
        fail "the wheel needs a package constraints/board.txt does not pin: run scripts/freeze-constraints.sh"
    fi
fi
# A [studio] extra, once there is one, is what a content manager installs (not pinned:
# the pins are the boards').
if "$BUILD_PYTHON" -I -c 'import sys, zipfile
w = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in w.namelist() if n.endswith(".dist-info/METADATA"))
sys.exit("Provides-Extra: studio" not in w.read(meta).decode().splitlines())' "$WHEEL"; then
    run_step pip-studio "${PIP[@]}" install -c "$CONSTRAINTS" "$WHEEL[studio]"
fi
run_step pip-check "${PIP[@]}" check
say "✓ installed into an empty venv, offline, from the pins of constraints/board.txt; pip check clean ($((SECONDS - STARTED)) s)"
check_board_wheels "$BUILD_PYTHON" "$CONSTRAINTS" "$WORK/board-wheels.log" || fail "the pins do not install on a board"
say "✓ every pin in constraints/board.txt has a wheel for a board (aarch64, CPython 3.11)"

# --- from outside the checkout: the installed package and nothing else ------------------
cd "$WORK/run"
unset PYTHONPATH
export SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy
SITE="$("$PY" -I -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
run_step imports "$PY" -I -c '
import sys
import agent, display_layouts, firmware_bridge, fleet, signage_base
for module in (agent, display_layouts, firmware_bridge, fleet, signage_base):
    if not module.__file__.startswith(sys.argv[1] + "/"):
        sys.exit(f"{module.__name__} imported from {module.__file__}, not {sys.argv[1]}")
print(agent.__file__)
' "$SITE"
say "✓ agent, display_layouts, firmware_bridge, fleet, signage_base import from the venv: $(cat "$WORK/imports.log")"

want="signage-agent $(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$REPO/agent/__init__.py")"
run_step version "$AGENT" --version
[ "$(cat "$WORK/version.log")" = "$want" ] || fail "--version said '$(cat "$WORK/version.log")', not '$want'"
run_step help "$AGENT" --help
say "✓ $want; --help"

SAMPLE="$("$PY" -I -c 'import importlib.resources as r; print(r.files("agent") / "samples" / "inbox" / "phuc-xa-notices.json")')"
shopt -s nullglob
playlists=("$WORK"/sdist/docs/examples/playlist-*.json)
shopt -u nullglob
[ "${#playlists[@]}" -gt 0 ] || fail "the sdist has no docs/examples/playlist-*.json"
run_step validate "$AGENT" validate "$SAMPLE" "${playlists[@]}"
say "✓ validate: the packaged sample and the sdist's ${#playlists[@]} docs/examples playlists"

run_step preview "$AGENT" preview headline --content "$SAMPLE" --size 256x64 --out preview.png
"$PY" -I -c 'import sys; sys.exit(open("preview.png", "rb").read(8) != b"\x89PNG\r\n\x1a\n")' \
    || fail "preview did not write a PNG: $WORK/run/preview.png"
say "✓ preview headline → a PNG drawn with the packaged layouts and fonts"

run_step demo "$AGENT" demo --seconds 3 --state-dir "$WORK/run/demo"
[ -s "$WORK/run/demo/frame.png" ] || fail "demo drew no frame (log: $WORK/demo.log)"
say "✓ demo --seconds 3: the agent ran headless and drew frames"

if ! "$AGENT" studio --help >"$WORK/studio-help.log" 2>&1; then
    fail "studio --help failed from the wheel (log: $WORK/studio-help.log)"
else
    port="$("$PY" -I -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$AGENT" studio --listen "127.0.0.1:$port" >"$WORK/studio.log" 2>&1 &
    STUDIO_PID=$!
    # Wait for the page, not for a while: fail at once if studio exits.
    "$PY" -I - "$port" "$STUDIO_PID" <<'EOF' || { tail -n 30 "$WORK/studio.log" >&2; fail "studio did not serve its page (log: $WORK/studio.log)"; }
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
            body = reply.read().decode("utf-8", "replace")
            kind = reply.headers.get("Content-Type", "")
            if reply.status != 200 or "html" not in kind or "<html" not in body.lower():
                sys.exit(f"GET / answered {reply.status} {kind!r}, not an HTML page")
            break
    except OSError as exc:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit("studio exited")
        if time.monotonic() > deadline:
            sys.exit(f"no answer on port {port} in 30 s: {exc}")
        time.sleep(0.1)  # polling a condition with a deadline, not a wait for time
EOF
    stop_studio
    say "✓ studio --listen 127.0.0.1:$port served its page (GET / → 200, HTML)"
fi

{
    printf 'SIGNAGE_STUDIO_PYTHON=%s\n' "$PY"
    printf 'SIGNAGE_WHEEL_DIST=%s\n' "$WORK/dist"
} >"$WORK/env"
say "✓ the wheel check took $((SECONDS - STARTED)) s; $WORK/env names the venv for the browser test"
