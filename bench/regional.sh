#!/usr/bin/env bash
# Regional benchmark: generate N persons, link every feed into a fresh
# RocksDB, evaluate against truth, and append a row to docs/benchmarks.md.
#   bash bench/regional.sh 100000 [1000000 ...]     (persons per run)
set -euo pipefail
cd "$(dirname "$0")/.."
empi=${EMPI:-build/engine/cli/empi}
work=${WORK:-/tmp/empi-regional}
[ -x "$empi" ] || { echo "build first: cmake --build build --target empi" >&2; exit 66; }
for persons in "${@:-100000}"; do
  rm -rf "$work" && mkdir -p "$work"
  "$empi" generate --persons "$persons" --seed 1 --out "$work/feeds" --quiet
  records=$(($(wc -l < "$work/feeds/truth.csv") - 1))
  /usr/bin/time -f "%e %M" -o "$work/time" "$empi" link --db "$work/db" "$work"/feeds/[A-Z]*.csv > "$work/link.txt"
  read -r wall rss_kb < "$work/time"
  pairs=$(awk '/candidate pairs/ {print $3; exit}' "$work/link.txt")
  compare=$(grep -o 'block and compare [0-9.]*' "$work/link.txt" | awk '{print $4}')
  "$empi" export clusters --db "$work/db" -o "$work/clusters.csv"
  "$empi" evaluate --truth "$work/feeds/truth.csv" --clusters "$work/clusters.csv" \
    --hard-cases "$work/feeds/hard_cases.csv" --json "$work/eval.json" > "$work/eval.txt"
  row=$(python3 - "$work/eval.json" <<PY
import json, sys
e = json.load(open(sys.argv[1]))
wall, rss, records, pairs, compare = $wall, $rss_kb, $records, ${pairs:-0}, ${compare:-0}
print(f"| $(date +%F) | $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB | {$persons:,} | {records:,} | {wall:.1f} | {records/wall:,.0f} | "
      f"{pairs:,} | {pairs/max(compare,1e-9)/1e6:.1f} M | {rss/1048576:.2f} GiB | {e['precision']:.5f} | {e['recall']:.5f} | "
      f"{e['f1']:.5f} | {e['false_merges']} ({e['false_merges_per_10k_persons']:.2f}/10k) |")
PY
)
  echo "$row"
  echo "$row" >> docs/benchmarks.md
  cat "$work/link.txt" "$work/eval.txt" >&2
done
