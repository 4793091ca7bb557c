# Sourced by scripts/check-wheel.sh and scripts/freeze-constraints.sh.
set -euo pipefail

# stage_source REPO DEST: a clean copy of the checkout to build from, so that the build
# sees what a fresh clone holds: no build/ or *.egg-info left by an earlier build (from
# which setuptools would bring back a module deleted since), no .venv, no caches. In a
# git checkout that is the tracked files plus new ones not ignored (so uncommitted work
# is checked too); elsewhere (an unpacked sdist) the tree less what .gitignore names.
stage_source() {
    local repo="$1" dest="$2"
    mkdir -p "$dest"
    if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # A tracked file deleted in the work tree is listed but absent: skip it.
        (cd "$repo" && git ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' path; do
                if [ -f "$path" ]; then printf '%s\0' "$path"; fi
            done | tar --null -T - -cf -) | tar -C "$dest" -xf -
    else
        tar -C "$repo" --exclude=.venv --exclude=.wheel-check --exclude=build --exclude=dist \
            --exclude='*.egg-info' --exclude=__pycache__ --exclude='*.pyc' -cf - . \
            | tar -C "$dest" -xf -
    fi
}

# The boards' platform: Raspberry Pi OS Bookworm 64-bit (glibc 2.36, CPython 3.11,
# aarch64). pip does not widen a manylinux tag given with --platform to older ones, so
# each tag the dependencies ship wheels under is named.
BOARD_PIP_PLATFORM=(--only-binary=:all: --implementation cp --python-version 3.11
    --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64
    --platform manylinux_2_34_aarch64)

# check_board_wheels PYTHON CONSTRAINTS LOG: every pinned version has a wheel a board can
# install (resolved from the index's metadata, nothing installed); else say which not.
check_board_wheels() {
    local python="$1" constraints="$2" log="$3"
    if ! "$python" -m pip install --disable-pip-version-check --dry-run --ignore-installed \
        --quiet --target "$(dirname "$log")/board-target" "${BOARD_PIP_PLATFORM[@]}" -r "$constraints" \
        >"$log" 2>&1; then
        grep -v 'is ignored' "$log" | tail -n 5 >&2
        echo "✗ a version in $constraints has no wheel for a board (aarch64, CPython 3.11): see $log" >&2
        return 1
    fi
}
