#!/usr/bin/env bash
# A store built by the real-time path alone: every feed of a generated
# population through `empi ingest` (one durable record at a time) into an
# empty store, evaluated against its truth; then `empi relink` and again.
#   bash bench/realtime_ingest.sh GEN_DIR [DB]
# With VIA=serve, the feeds go through `empi serve` instead: POST /Patient
# over CONNECTIONS (8) keep-alive connections (bench/serve/post_feeds.py),
# the server revisiting every REVISIT (5) seconds, stopped with SIGTERM.
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
serve_feeds() {
  local port=${PORT:-18292}
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$db.idp.key" 2> /dev/null
  openssl pkey -in "$db.idp.key" -pubout -out "$db.jwt-keys.pem"
  local token
  token=$(bench/serve/mkjwt.sh "$db.idp.key" bench RKB operations '["integration"]')
  "$empi" serve --db "$db" --listen "127.0.0.1:$port" --jwt-keys "$db.jwt-keys.pem" \
    --jwt-issuer https://idp.example.nhs.uk --jwt-audience empi --revisit-interval "${REVISIT:-5}" 2> "$db.log" &
  local server=$!
  for _ in $(seq 100); do
    grep -q '"event":"listening"' "$db.log" 2> /dev/null && break
    sleep 0.2
  done
  python3 bench/serve/post_feeds.py "http://127.0.0.1:$port" "$token" "${CONNECTIONS:-8}" "$gen"/[A-Z]*.csv
  kill -TERM "$server"
  wait "$server"
  echo "revisits: $(grep -c '"event":"revisit"' "$db.log")"
}
start=$(date +%s.%N)
if [ "${VIA:-ingest}" = serve ]; then
  serve_feeds
else
  for f in "$gen"/[A-Z]*.csv; do "$empi" ingest --db "$db" "$f" > /dev/null 2>> "$db.log"; done
fi
echo "${VIA:-ingest} of every feed: $(echo "$(date +%s.%N) - $start" | bc) s (stderr in $db.log)"
grep "model estimated" "$db.log" || true
evaluate
"$empi" relink --db "$db" 2> /dev/null | grep -E "wall time"
echo "after empi relink:"
evaluate
