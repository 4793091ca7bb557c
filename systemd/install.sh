#!/usr/bin/env bash
# Install, upgrade or uninstall signage-agent on a Raspberry Pi
# (Raspberry Pi OS Lite / Debian 12 Bookworm). Safe to run again: it changes only
# what differs, keeps /etc/signage-agent and /var/lib/signage-agent, and ends by
# running `signage-agent doctor`.
#
#   sudo ./systemd/install.sh                         install or upgrade from this checkout
#   sudo ./systemd/install.sh --config my-board.toml  first install with a prepared config
#   sudo ./systemd/install.sh --uninstall [--purge]   remove (--purge: config and state too)
#
# Exit status: 0 done; 1 failed; 3 installed, but doctor found problems (see its ✗ lines).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHECKOUT="$(dirname "$SCRIPT_DIR")"
CONSTRAINTS="$CHECKOUT/constraints/board.txt"

SERVICE=signage-agent
SERVICE_USER=signage-agent
APP=/opt/signage-agent
VENV=$APP/venv
STAMP=$APP/installed-source.sha256
CONF_DIR=/etc/signage-agent
CONFIG=$CONF_DIR/agent.toml
STATE_DIR=/var/lib/signage-agent
CACHE_DIR=/var/cache/signage-agent
UNIT=/etc/systemd/system/$SERVICE.service
SYSUSERS=/etc/sysusers.d/$SERVICE.conf
UDEV_RULES=/etc/udev/rules.d/60-$SERVICE.rules
COMMAND_LINK=/usr/local/bin/signage-agent

ROOT=""
SOURCE="$CHECKOUT"
EXAMPLE=hdmi-lcd
CONFIG_FROM=""
WHEELS=""
PYTHON=python3
ACTION=install
PURGE=no
RUN_DOCTOR=yes
START=yes
CHANGES=0
SERVICE_UID=""
SERVICE_GID=""

example_names() {
    local file
    for file in "$CHECKOUT"/examples/*.toml; do printf '%s ' "$(basename "$file" .toml)"; done
}

usage() {
    cat <<EOF
usage: install.sh [options]            install, or upgrade what differs
       install.sh --uninstall [--purge]

  --config FILE    the board's agent.toml, used only when $CONFIG is absent
  --example NAME   else start from examples/NAME.toml (default: $EXAMPLE;
                   $(example_names))
  --source PATH    the package to install: a checkout or a wheel (default: this checkout)
  --wheels DIR     install offline from a folder of wheels (pip --no-index --find-links):
                   the versions of constraints/board.txt (docs/technician.md says how)
  --python PYTHON  the Python 3.11+ for the venv (default: python3)
  --no-doctor      do not run signage-agent doctor at the end
  --no-start       do not start or restart the service
  --uninstall      stop and remove the service, its program and its unit; keep the
                   config, the state and the user
  --purge          with --uninstall: also remove $CONF_DIR and $STATE_DIR
  --root DIR       lay everything down under DIR instead of / (for tests): no service
                   is started, and the venv's scripts point inside DIR
EOF
}

say() { printf '%s\n' "$*"; }
done_step() { say "  ✓ $*"; }
changed() { CHANGES=$((CHANGES + 1)); done_step "$*"; }
die() {
    say "✗ $*" >&2
    exit 1
}
live() { [ -z "$ROOT" ]; }
at() { printf '%s%s' "$ROOT" "$1"; }

parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --root) ROOT="$(realpath -m -- "${2:?--root needs a folder}")"; shift ;;
            --source) SOURCE="$(realpath -- "${2:?--source needs a path}")"; shift ;;
            --example) EXAMPLE="${2:?--example needs a name}"; shift ;;
            --config) CONFIG_FROM="$(realpath -- "${2:?--config needs a file}")"; shift ;;
            --wheels) WHEELS="$(realpath -- "${2:?--wheels needs a folder}")"; shift ;;
            --python) PYTHON="${2:?--python needs a command}"; shift ;;
            --no-doctor) RUN_DOCTOR=no ;;
            --no-start) START=no ;;
            --uninstall) ACTION=uninstall ;;
            --purge) PURGE=yes ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown option: $1" ;;
        esac
        shift
    done
    if [ "$PURGE" = yes ] && [ "$ACTION" != uninstall ]; then die "--purge goes with --uninstall"; fi
    if [ ! -f "$CHECKOUT/examples/$EXAMPLE.toml" ]; then
        die "no example called $EXAMPLE; there are: $(example_names)"
    fi
}

preflight() {
    if live && [ "$(id -u)" -ne 0 ]; then die "run it as root: sudo $0 $*"; fi
    if [ -n "$ROOT" ]; then mkdir -p "$ROOT"; fi
    for tool in systemctl systemd-sysusers; do
        command -v "$tool" >/dev/null || die "$tool is missing: this needs a systemd system"
    done
}

# --- small helpers ---------------------------------------------------------------

# The service user's numeric ids, read from the (scratch) root's own user database.
read_service_ids() {
    SERVICE_UID="$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $3 }' "$(at /etc/passwd)")"
    SERVICE_GID="$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $4 }' "$(at /etc/passwd)")"
    [ -n "$SERVICE_UID" ] || die "user $SERVICE_USER was not created"
}

# chown only as root: an unprivileged test run in a scratch root cannot.
own() {
    if [ "$(id -u)" -eq 0 ]; then chown "$1" "$2"; fi
}

# Install a file when its content or mode differs; returns 1 when it was already right.
put_file() {
    local src="$1" dest="$2" mode="$3" owner="${4:-0:0}"
    if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ] \
        && { [ "$(id -u)" -ne 0 ] || [ "$(stat -c %u:%g "$dest")" = "$owner" ]; }; then
        return 1
    fi
    mkdir -p "$(dirname "$dest")" || die "cannot make the folder of $dest"
    install -m "$mode" "$src" "$dest" || die "cannot install $dest"
    own "$owner" "$dest" || die "cannot give $dest to $owner"
}

# Make a folder with this mode and owner; returns 1 when it was already so.
put_dir() {
    local dir="$1" mode="$2" owner="$3"
    local want_owner="$owner"
    if [ "$(id -u)" -ne 0 ]; then want_owner="$(stat -c %u:%g "$dir" 2>/dev/null || true)"; fi
    if [ -d "$dir" ] && [ "$(stat -c %a "$dir")" = "${mode#0}" ] \
        && [ "$(stat -c %u:%g "$dir")" = "$want_owner" ]; then
        return 1
    fi
    if ! { mkdir -p "$dir" && chmod "$mode" "$dir" && own "$owner" "$dir"; }; then
        die "cannot make $dir"
    fi
}

# Copy a folder's files; returns 1 when the copy was already identical.
put_tree() {
    local src="$1" dest="$2"
    if [ -d "$dest" ] && diff -rq "$src" "$dest" >/dev/null 2>&1; then return 1; fi
    if ! { rm -rf "$dest" && mkdir -p "$(dirname "$dest")" && cp -r "$src" "$dest" \
        && chmod -R u=rwX,go=rX "$dest"; }; then
        die "cannot copy $src to $dest"
    fi
}

service_active() { live && systemctl is-active --quiet "$SERVICE.service"; }

# --- install steps -----------------------------------------------------------------

check_python() {
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
        || die "$PYTHON is not Python 3.11 or newer (Raspberry Pi OS Bookworm has 3.11)"
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        live || die "$PYTHON cannot make a venv: install python3-venv"
        say "  … installing python3-venv"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
            || die "could not install python3-venv: check the network, then run again"
    fi
}

step_user() {
    local conf
    conf="$(at "$SYSUSERS")"
    if put_file "$SCRIPT_DIR/$SERVICE.sysusers" "$conf" 0644; then changed "user declaration $SYSUSERS"; fi
    local before after
    before="$({ cat "$(at /etc/passwd)" "$(at /etc/group)" 2>/dev/null || true; } | sha256sum)"
    local sysusers=(systemd-sysusers)
    live || sysusers+=(--root="$ROOT")
    local said
    said="$("${sysusers[@]}" "$conf" 2>&1)" || die "systemd-sysusers could not create the user: $said"
    after="$(cat "$(at /etc/passwd)" "$(at /etc/group)" | sha256sum)"
    read_service_ids
    local what="user $SERVICE_USER (uid $SERVICE_UID, groups dialout video render audio)"
    if [ "$before" != "$after" ]; then changed "$what: created"; else done_step "$what"; fi
}

venv_python_ok() { [ -x "$(at "$VENV")/bin/python" ] && "$(at "$VENV")/bin/python" -c '' 2>/dev/null; }

step_venv() {
    if venv_python_ok; then
        done_step "venv $VENV"
        return
    fi
    rm -rf "$(at "$VENV")" "$(at "$STAMP")"
    mkdir -p "$(at "$APP")"
    "$PYTHON" -m venv "$(at "$VENV")" || die "could not create the venv $VENV"
    changed "venv $VENV: created with $("$(at "$VENV")/bin/python" --version)"
}

# What pip installs from a checkout: the package's own files, and nothing else.
PACKAGE_FILES=(pyproject.toml README.md LICENSE agent display_layouts firmware_bridge fleet signage_base)

package_files() {
    (
        cd "$SOURCE"
        find "${PACKAGE_FILES[@]}" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0
    )
}

# A fingerprint of what pip would install: the wheel file, or the package's sources.
source_fingerprint() {
    if [ -f "$SOURCE" ]; then
        sha256sum <"$SOURCE" | cut -d' ' -f1
        return
    fi
    package_files | sort -z | (cd "$SOURCE" && xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

# A clean copy of a checkout to build from: setuptools reuses an old build/ folder,
# and a module deleted since would come back from it into the new install.
stage_source() {
    if [ -f "$SOURCE" ]; then
        printf '%s' "$SOURCE"
        return
    fi
    local stage
    stage="$(mktemp -d)"
    package_files | tar -C "$SOURCE" --null -T - -cf - | tar -C "$stage" -xf - \
        || die "cannot copy the package from $SOURCE"
    printf '%s' "$stage"
}

installed_version() {
    # -I: isolated, so that a checkout in the current folder is not taken for the install.
    "$(at "$VENV")/bin/python" -I -c \
        'import importlib.metadata as m; print(m.version("signage-agent"))' 2>/dev/null || true
}

step_package() {
    [ -e "$SOURCE" ] || die "no package at $SOURCE"
    if [ -d "$SOURCE" ] && ! grep -q '^name = "signage-agent"' "$SOURCE/pyproject.toml" 2>/dev/null; then
        die "$SOURCE is not a signage-agent checkout"
    fi
    local fingerprint old new
    fingerprint="$(source_fingerprint)"
    old="$(installed_version)"
    if [ -n "$old" ] && [ "$(cat "$(at "$STAMP")" 2>/dev/null)" = "$fingerprint" ]; then
        done_step "signage-agent $old"
        return
    fi
    say "  … installing signage-agent from $SOURCE (log: $APP/pip.log)"
    # -c: the versions the tests ran (constraints/board.txt), so every board of a fleet
    # runs the same dependencies whenever it was installed, and an upgrade moves it to them.
    [ -f "$CONSTRAINTS" ] || die "no $CONSTRAINTS: this copy of signage-agent is incomplete"
    local pip=("$(at "$VENV")/bin/python" -m pip install --upgrade --upgrade-strategy only-if-needed
        -c "$CONSTRAINTS")
    if [ -n "$WHEELS" ]; then pip+=(--no-index --find-links "$WHEELS"); fi
    local staged status=0
    staged="$(stage_source)"
    # [video]: PyAV, so that a board plays the clips a playlist names (the agent loads it
    # only when one does: a board showing text pays disk space, not memory).
    "${pip[@]}" "$staged[video]" >"$(at "$APP")/pip.log" 2>&1 || status=$?
    if [ "$staged" != "$SOURCE" ]; then rm -rf "$staged"; fi
    if [ "$status" -ne 0 ]; then
        tail -n 20 "$(at "$APP")/pip.log" >&2
        die "pip could not install signage-agent (whole log: $APP/pip.log). With a bad connection, bring a folder of wheels and use --wheels DIR"
    fi
    printf '%s\n' "$fingerprint" >"$(at "$STAMP")"
    new="$(installed_version)"
    if [ -z "$old" ]; then changed "signage-agent $new: installed"
    elif [ "$old" = "$new" ]; then changed "signage-agent $new: reinstalled (changed sources)"
    else changed "signage-agent: upgraded $old → $new"; fi
}

step_files() {
    if put_tree "$CHECKOUT/examples" "$(at "$APP")/examples"; then
        changed "examples in $APP/examples: updated"
    fi
    if put_file "$CHECKOUT/docs/technician.md" "$(at "$APP")/doc/technician.md" 0644; then
        changed "field guide in $APP/doc/technician.md: updated"
    fi
    local link
    link="$(at "$COMMAND_LINK")"
    if [ "$(readlink "$link" 2>/dev/null)" != "$VENV/bin/signage-agent" ]; then
        mkdir -p "$(dirname "$link")"
        ln -sfn "$VENV/bin/signage-agent" "$link"
        changed "command $COMMAND_LINK → $VENV/bin/signage-agent"
    fi
}

step_dirs() {
    if put_dir "$(at "$CONF_DIR")" 0750 "0:$SERVICE_GID"; then changed "config folder $CONF_DIR"; fi
    if put_dir "$(at "$STATE_DIR")" 0750 "$SERVICE_UID:$SERVICE_GID"; then
        changed "state folder $STATE_DIR"
    fi
}

config_source() {
    if [ -n "$CONFIG_FROM" ]; then
        printf '%s' "$CONFIG_FROM"
    else
        printf '%s' "$CHECKOUT/examples/$EXAMPLE.toml"
    fi
}

step_config() {
    local dest src
    dest="$(at "$CONFIG")"
    src="$(config_source)"
    if [ -e "$dest" ]; then
        if [ -n "$CONFIG_FROM" ] && ! cmp -s "$CONFIG_FROM" "$dest"; then
            done_step "config $CONFIG kept as it is; --config $CONFIG_FROM NOT used (remove $CONFIG first to replace it)"
        else
            done_step "config $CONFIG kept as it is"
        fi
        return
    fi
    [ -f "$src" ] || die "no such config: $src"
    put_file "$src" "$dest" 0640 "0:$SERVICE_GID" || true
    changed "config $CONFIG written from ${src#"$CHECKOUT"/}"
    if [ -z "$CONFIG_FROM" ]; then
        say "    → edit it: the board id, district, commune, name and broker (sudo nano $CONFIG)"
    fi
}

step_unit() {
    local unit_changed=no
    if put_file "$SCRIPT_DIR/$SERVICE.service" "$(at "$UNIT")" 0644; then
        unit_changed=yes
        changed "unit $UNIT: updated"
    fi
    if put_file "$SCRIPT_DIR/60-$SERVICE.rules" "$(at "$UDEV_RULES")" 0644; then
        changed "udev rules $UDEV_RULES: updated"
        if live && command -v udevadm >/dev/null; then
            udevadm control --reload || true
            udevadm trigger --action=add --subsystem-match=usb-serial --subsystem-match=backlight || true
        fi
    fi
    if live && [ "$unit_changed" = yes ]; then systemctl daemon-reload; fi
    local systemctl=(systemctl)
    live || systemctl+=(--root="$ROOT")
    if [ "$("${systemctl[@]}" is-enabled "$SERVICE.service" 2>/dev/null)" != enabled ]; then
        "${systemctl[@]}" --quiet enable "$SERVICE.service" 2>/dev/null
        changed "service enabled: it starts at every boot"
    fi
}

run_doctor() {
    say ""
    say "signage-agent doctor:"
    local status=0
    if live; then
        runuser -u "$SERVICE_USER" -- "$VENV/bin/signage-agent" doctor --config "$CONFIG" || status=$?
    else
        "$(at "$VENV")/bin/signage-agent" doctor --config "$(at "$CONFIG")" || status=$?
    fi
    say ""
    return "$status"
}

config_valid() {
    runuser -u "$SERVICE_USER" -- "$VENV/bin/signage-agent" validate "$CONFIG" >/dev/null 2>&1
}

start_service() {
    if [ "$START" = no ] || ! live; then return 0; fi
    if service_active && [ "$CHANGES" -eq 0 ]; then
        done_step "service running"
        return 0
    fi
    if ! config_valid; then
        # It would only stop again with exit status 78.
        say "  – service not started: the config needs the fixes doctor lists above; then run"
        say "    sudo systemctl restart $SERVICE"
        return 0
    fi
    say "  … (re)starting $SERVICE (it reports ready after its first frame)"
    if ! systemctl restart "$SERVICE.service"; then
        journalctl -u "$SERVICE.service" -n 20 --no-pager >&2 || true
        die "$SERVICE did not start: its log is above (whole log: journalctl -u $SERVICE)"
    fi
    done_step "service running: systemctl status $SERVICE"
}

install_all() {
    say "Installing signage-agent${ROOT:+ under $ROOT}"
    check_python
    step_user
    step_venv
    step_package
    step_files
    step_dirs
    step_config
    step_unit
    local doctor=0
    if [ "$RUN_DOCTOR" = yes ]; then run_doctor || doctor=$?; fi
    start_service
    if [ "$CHANGES" -eq 0 ]; then say "Nothing to change: signage-agent is installed as it should be."
    else say "Done: $CHANGES change(s)."; fi
    if [ "$doctor" -ne 0 ]; then
        say "Installed, but doctor found problems: fix each ✗ line above, then run: sudo -u $SERVICE_USER signage-agent doctor"
        return 3
    fi
}

# --- uninstall ---------------------------------------------------------------------

remove() {
    local path="$1" what="$2"
    if [ -e "$(at "$path")" ] || [ -L "$(at "$path")" ]; then
        rm -rf "$(at "$path")"
        changed "removed $what $path"
    fi
}

uninstall_all() {
    say "Uninstalling signage-agent${ROOT:+ under $ROOT}"
    if [ -e "$(at "$UNIT")" ]; then
        if live; then
            systemctl disable --now "$SERVICE.service" 2>/dev/null || true
        else
            systemctl --root="$ROOT" --quiet disable "$SERVICE.service" 2>/dev/null || true
        fi
        changed "service stopped and disabled"
    fi
    remove "$UNIT" "unit"
    remove "$UDEV_RULES" "udev rules"
    remove "$COMMAND_LINK" "command"
    remove "$APP" "program folder"
    if live; then
        systemctl daemon-reload
        if command -v udevadm >/dev/null; then udevadm control --reload || true; fi
    fi
    if [ "$PURGE" = yes ]; then
        remove "$CONF_DIR" "config folder"
        remove "$STATE_DIR" "state folder"
        remove "$CACHE_DIR" "cache folder"
        remove "$SYSUSERS" "user declaration"
        say "  The user $SERVICE_USER stays in /etc/passwd, so that no file is ever owned by a reused uid."
    else
        say "  Kept: $CONF_DIR (config), $STATE_DIR (content, outbox) and the user $SERVICE_USER."
        say "  To remove those too: $0 --uninstall --purge"
    fi
    if [ "$CHANGES" -eq 0 ]; then say "Nothing to remove."; else say "Done: $CHANGES change(s)."; fi
}

main() {
    parse_args "$@"
    preflight "$@"
    if [ "$ACTION" = uninstall ]; then uninstall_all; else install_all; fi
}

main "$@"
