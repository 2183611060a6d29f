#!/usr/bin/env bash
# revisit_kill.sh STORE KILLS FEED.csv...: kill -9 of `empi serve` while its
# background revisit works through what POST /Patient placed, then a fresh
# server finishing it. STORE is a linked store (a trusted model); the feeds'
# rows are posted to a server that does not revisit (the base). Each kill
# starts a server revisiting every second on a copy of the base, kills it a
# random time into its first revisit (between 1 s and 1 s plus an
# uninterrupted revisit's time), starts another and waits for its revisit
# to end. The
# store must pass `empi check` and hold the persons of an uninterrupted
# revisit of the same base.
#
#   bench/serve/revisit_kill.sh /tmp/store-20k 8 /tmp/gen/RKB.csv /tmp/gen/RYA.csv
#
# Needs the build (build/engine/cli/empi or EMPI_BIN), openssl, curl and
# python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
store=$1 kills=$2
shift 2
empi=${EMPI_BIN:-build/engine/cli/empi}
port=${PORT:-18441}
source bench/serve/lib.sh
make_work "$1" revisit-kill
TOKEN=$(bench/serve/mkjwt.sh "$work/idp.key" bench RKB operations '["integration"]')

# revisit DB LOG: a server revisiting every second until its log shows a
# whole revisit; its seconds printed.
revisit() {
  start_server "$empi" "$1" http "$port" "$2" --revisit-interval 1
  for _ in $(seq 600); do
    grep -q '"event":"revisit"' "$2" && break
    sleep 0.2
  done
  stop_server
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    if "\"event\":\"revisit\"" in line: print(json.loads(line)["seconds"])' "$2"
}

# persons DB OUT: the store's persons as sets of records, one per line, sorted.
persons() {
  "$empi" export clusters --db "$1" -o "$2.csv" 2>/dev/null
  python3 - "$2.csv" > "$2" <<'PY'
import collections, csv, sys
g = collections.defaultdict(list)
for r in csv.DictReader(open(sys.argv[1])):
    g[r['person_id']].append(r['source'] + ':' + r['record_id'])
print('\n'.join(sorted(' '.join(sorted(v)) for v in g.values())))
PY
}

cp -r "$store" "$work/base"
start_server "$empi" "$work/base" http "$port" "$work/post.log" --revisit-interval 0
python3 bench/serve/post_feeds.py "http://127.0.0.1:$port" "$TOKEN" 8 "$@" | tail -1
kill -KILL "$server"
wait "$server" 2>/dev/null || true
trap - EXIT
cp -r "$work/base" "$work/clean"
seconds=$(revisit "$work/clean" "$work/clean.log")
persons "$work/clean" "$work/clean.persons"
echo "uninterrupted revisit: ${seconds} s, $(grep -o '"steps":[0-9]*' "$work/clean.log")"

for k in $(seq 1 "$kills"); do
  rm -rf "$work/k"
  cp -r "$work/base" "$work/k"
  t=$(python3 -c "import random; print(round(random.uniform(1.0, 1.0 + $seconds), 2))")
  start_server "$empi" "$work/k" http "$port" "$work/k$k-killed.log" --revisit-interval 1
  sleep "$t"
  kill -KILL "$server"
  wait "$server" 2>/dev/null || true
  trap - EXIT
  finished=$(grep -c '"event":"revisit"' "$work/k$k-killed.log" || true)
  revisit "$work/k" "$work/k$k.log" > /dev/null
  check=0
  "$empi" check --db "$work/k" > "$work/k$k.check" 2>&1 || check=$?
  persons "$work/k" "$work/k$k.persons"
  differ=$(comm -3 "$work/clean.persons" "$work/k$k.persons" | wc -l)
  echo "kill $k at ${t}s (revisit finished before the kill: $finished): empi check exit $check," \
    "persons differing from the uninterrupted revisit $differ"
done
