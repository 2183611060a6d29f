#!/usr/bin/env bash
# A store built by the real-time path alone: every feed of a generated
# population through `empi ingest` (one durable record at a time) into an
# empty store, evaluated against its truth; then `empi relink` and again.
#   bash bench/realtime_ingest.sh GEN_DIR [DB]
# GEN_DIR holds the feeds ([A-Z]*.csv) and truth.csv (`empi generate`, or
# bench/independent/population.py). docs/benchmarks.md, "The real-time path
# estimates its model and revisits".
set -euo pipefail
cd "$(dirname "$0")/.."
empi=${EMPI:-build/engine/cli/empi}
gen=${1:?usage: realtime_ingest.sh GEN_DIR [DB]}
db=${2:-/tmp/empi-realtime-ingest}
[ -x "$empi" ] || { echo "build first: cmake --build build --target empi" >&2; exit 66; }
rm -rf "$db" "$db".*
evaluate() {
  "$empi" export clusters --db "$db" -o "$db.clusters.csv" 2> /dev/null
  "$empi" export review --db "$db" -o "$db.review.csv" 2> /dev/null
  echo "review pairs $(($(wc -l < "$db.review.csv") - 1))"
  "$empi" evaluate --truth "$gen/truth.csv" --clusters "$db.clusters.csv" | grep -E "pairwise (precision|recall|F1)|false merges"
}
start=$(date +%s.%N)
for f in "$gen"/[A-Z]*.csv; do "$empi" ingest --db "$db" "$f" > /dev/null 2>> "$db.log"; done
echo "ingest of every feed: $(echo "$(date +%s.%N) - $start" | bc) s (stderr in $db.log)"
grep "model estimated" "$db.log" || true
evaluate
"$empi" relink --db "$db" 2> /dev/null | grep -E "wall time"
echo "after empi relink:"
evaluate
