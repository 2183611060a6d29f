#!/usr/bin/env bash
# restricted_leak_test.sh EMPI: generates 3,000 persons (about 20 restricted
# records) and runs bench/restricted_leak.sh on them in a temporary folder.
set -euo pipefail
empi=${1:?usage: restricted_leak_test.sh EMPI}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$empi" generate --persons 3000 --seed 7 --out "$work/gen" > /dev/null 2>&1
EMPI=$empi WORK=$work/leak bash "$(dirname "$0")/../../bench/restricted_leak.sh" "$work/gen" 40
