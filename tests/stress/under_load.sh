#!/usr/bin/env bash
# The test suite with two CPU-bound processes beside it (issue 19): a busy
# laptop, reproduced. Usage: tests/stress/under_load.sh [PYTEST ARGS...]
# (default: the whole default suite). Both helpers and pytest are bounded
# by $LOAD_LIMIT seconds (default 3600) and the helpers are stopped on any
# exit; the exit status and the last line are pytest's.
set -euo pipefail
cd "$(dirname "$0")/../.."
limit="${LOAD_LIMIT:-3600}"
hogs=()
stop_hogs() {
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait "${hogs[@]}" 2>/dev/null || true
}
trap stop_hogs EXIT
for _ in 1 2; do
    timeout "$limit" python -c "while True: pass" &
    hogs+=("$!")
done
echo "under load: 2 CPU-bound helpers (pids ${hogs[*]}) beside pytest, at most ${limit} s"
timeout "$limit" pytest "$@"
