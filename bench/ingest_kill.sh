#!/usr/bin/env bash
# kill -9 of `empi ingest` while a feed is ingested, then the feed ingested
# again: the store passes `empi check` and ends with the clusters of an
# uninterrupted run (the engine's model estimate included).
#   bash bench/ingest_kill.sh GEN_DIR FIRST_FEED SECOND_FEED [KILLS] [FROM_S] [TO_S]
# e.g. on bench/independent/population.py 20000 1 GEN, where the model is
# estimated during the second feed: bash bench/ingest_kill.sh GEN AMB.csv CCT.csv 8 2.4 3.1
set -euo pipefail
cd "$(dirname "$0")/.."
empi=${EMPI:-build/engine/cli/empi}
gen=${1:?usage: ingest_kill.sh GEN_DIR FIRST_FEED SECOND_FEED [KILLS] [FROM_S] [TO_S]}
first=$gen/${2:?}; second=$gen/${3:?}; kills=${4:-8}; from=${5:-0.3}; to=${6:-4.5}
work=${WORK:-/tmp/empi-ingest-kill}
rm -rf "$work" && mkdir -p "$work"
"$empi" ingest --db "$work/base" "$first" > /dev/null 2>&1
cp -r "$work/base" "$work/clean"
"$empi" ingest --db "$work/clean" "$second" > /dev/null 2>&1
"$empi" export clusters --db "$work/clean" -o "$work/clean.csv" 2> /dev/null
for k in $(seq 1 "$kills"); do
  cp -r "$work/base" "$work/k$k"
  t=$(python3 -c "import random; print(round(random.uniform($from, $to), 2))")
  timeout -s KILL "$t" "$empi" ingest --db "$work/k$k" "$second" > /dev/null 2>&1 || true
  "$empi" ingest --db "$work/k$k" "$second" > /dev/null 2>&1
  check=0; "$empi" check --db "$work/k$k" > "$work/k$k.check" 2>&1 || check=$?
  "$empi" export clusters --db "$work/k$k" -o "$work/k$k.csv" 2> /dev/null
  differ=$(python3 - "$work/clean.csv" "$work/k$k.csv" <<'PY'
import collections, csv, sys
def persons(path):
    g = collections.defaultdict(set)
    for r in csv.DictReader(open(path)):
        g[r['person_id']].add((r['source'], r['record_id']))
    return set(frozenset(v) for v in g.values())
print(len(persons(sys.argv[1]) ^ persons(sys.argv[2])))
PY
)
  echo "kill $k at ${t}s: empi check exit $check, persons differing from the uninterrupted run $differ"
done
