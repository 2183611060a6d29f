#!/usr/bin/env bash
# table.sh STORE FEED.csv [SECONDS]: issue 18's load table in one command.
# For plain HTTP and then TLS (a self-signed EC P-256 certificate), each on
# a fresh copy of the linked store STORE: `empi serve`, 5 s of wrk warm-up,
# then SECONDS (20) measured at 16 keep-alive connections for
# POST /Patient/$resolve, POST /Patient/$match (count 5) and POST /Patient
# (durable ingest, new records), in that order; prints requests/s, p50 and
# p99 of each, and the non-2xx count. Logs stay in the printed work folder.
#
#   bench/serve/table.sh /data/store-1m g300/RKB.csv
#
# Needs the build (build/engine/cli/empi or EMPI_BIN), wrk, openssl, curl
# and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
store=$1 feed=$2 seconds=${3:-20}
empi=${EMPI_BIN:-build/engine/cli/empi}
port=${PORT:-18391}
source bench/serve/lib.sh
make_work "$feed" table
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/server.key" -out "$work/server.pem" 2>/dev/null
TOKEN=$(bench/serve/mkjwt.sh "$work/idp.key" bench RKB direct-care '["clinician","integration"]')
export TOKEN

# wrk's latency line "     50%    1.20ms" in milliseconds.
percentile() { awk -v p="$1" '$1 == p { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
  print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v) }' "$2"; }

for scheme in http https; do
  tls=()
  [ "$scheme" = https ] && tls=(--tls-cert "$work/server.pem" --tls-key "$work/server.key")
  rm -rf "$work/db"
  cp -r "$store" "$work/db"
  start_server "$empi" "$work/db" "$scheme" "$port" "$work/serve-$scheme.log" "${tls[@]}"
  for op in resolve match ingest; do
    out="$work/wrk-$scheme-$op.txt"
    wrk -t2 -c16 -d5s -s "$work/$op.lua" "$scheme://127.0.0.1:$port" >/dev/null
    wrk -t2 -c16 -d"${seconds}s" --latency -s "$work/$op.lua" "$scheme://127.0.0.1:$port" >"$out"
    printf "%-5s %-8s %10s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s\n" "$scheme" "$op" \
      "$(awk '/^Requests\/sec:/ { print $2 }' "$out")" "$(percentile 50% "$out")" "$(percentile 99% "$out")" \
      "$(awk '/Non-2xx/ { print $NF }' "$out" | grep . || echo 0)"
  done
  stop_server
  port=$((port + 1))
done
rm -rf "$work/db"
