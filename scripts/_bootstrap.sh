# Sourced by scripts/demo and scripts/test: make sure .venv exists and holds this
# checkout installed with the given extras. Works on a fresh Debian 12 machine.
# usage: bootstrap_venv [EXTRAS]
set -euo pipefail

apt_install() {
    # Install Debian packages when we are allowed to (root, or passwordless sudo).
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
            echo "error: need Debian packages: $*  (run: sudo apt-get install -y $*)" >&2
            return 1
        fi
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

bootstrap_venv() {
    local extras="${1:-}"
    local python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then apt_install python3 python3-venv; fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "error: Python 3.11 or newer is required ($("$python" --version 2>&1))" >&2
        return 1
    fi
    if [ ! -x .venv/bin/python ]; then
        # Debian splits ensurepip into python3-venv; install it when venv creation fails.
        if ! "$python" -m venv .venv 2>/dev/null; then
            rm -rf .venv
            apt_install python3-venv
            "$python" -m venv .venv
        fi
    fi
    # Reinstall only when the project metadata changed since the last install, or when
    # extras are asked for that the last install did not include.
    local stamp=".venv/.signage-installed"
    local hash have_hash have_extras
    hash="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    [ -f "$stamp" ] && read -r have_hash have_extras < "$stamp"
    if [ "${have_hash:-}" = "$hash" ] && { [ -z "$extras" ] || [ "${have_extras:-}" = "$extras" ]; }; then
        return 0
    fi
    local target="."
    [ -n "$extras" ] && target=".[${extras}]"
    echo "installing signage-agent${extras:+ with [$extras]} into .venv (log: .venv/install.log)" >&2
    if ! { .venv/bin/python -m pip install --upgrade pip \
           && .venv/bin/python -m pip install -e "$target"; } > .venv/install.log 2>&1; then
        tail -n 30 .venv/install.log >&2
        echo "error: installing into .venv failed (full log: .venv/install.log)" >&2
        return 1
    fi
    echo "$hash $extras" > "$stamp"
}
