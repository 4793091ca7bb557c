#!/usr/bin/env bash
# Static checks of systemd/signage-agent.service, run by ./scripts/test:
#  - `systemd-analyze verify` finds nothing to complain about;
#  - `systemd-analyze security --offline=true` rates it OK or better (exposure ≤ 3.0).
# verify insists that ExecStart= exists, and /opt/signage-agent is not installed on a
# development machine: it checks a copy whose ExecStart= points at this checkout's
# .venv/bin/signage-agent instead, and which differs from the unit in nothing else.
# usage: systemd/check-unit.sh [MAX_EXPOSURE]
set -euo pipefail

CHECKOUT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UNIT="$CHECKOUT/systemd/signage-agent.service"
INSTALLED_BIN=/opt/signage-agent/venv/bin/signage-agent
AGENT_BIN="${AGENT_BIN:-$CHECKOUT/.venv/bin/signage-agent}"
MAX_EXPOSURE="${1:-3.0}"

if [ ! -x "$AGENT_BIN" ]; then
    echo "✗ $AGENT_BIN is missing: run ./scripts/test (it makes .venv) first" >&2
    exit 1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
sed "s#$INSTALLED_BIN#$AGENT_BIN#" "$UNIT" >"$scratch/signage-agent.service"
if [ "$(diff "$UNIT" "$scratch/signage-agent.service" | grep -c '^[<>]')" -ne 2 ]; then
    echo "✗ the copy for verify differs from the unit in more than ExecStart=" >&2
    exit 1
fi

if ! complaints="$(systemd-analyze verify "$scratch/signage-agent.service" 2>&1)" \
    || [ -n "$complaints" ]; then
    echo "✗ systemd-analyze verify:" >&2
    printf '%s\n' "$complaints" >&2
    exit 1
fi
echo "✓ systemd-analyze verify: no complaints"

threshold="$(awk -v m="$MAX_EXPOSURE" 'BEGIN { printf "%d", m * 10 }')"
report="$(systemd-analyze security --offline=true --no-pager --threshold="$threshold" "$UNIT" 2>&1)" \
    || { printf '%s\n' "$report" >&2; echo "✗ security exposure above $MAX_EXPOSURE" >&2; exit 1; }
overall="$(printf '%s\n' "$report" | grep 'Overall exposure level')"
echo "✓ systemd-analyze security:${overall#*:} (at most $MAX_EXPOSURE)"
