#!/usr/bin/env bash
# ratio.sh STORE FEED.csv [SECONDS]: the cost of the network layer, measured
# in one run (issue 18). On a copy of the linked store STORE:
#   1. `empi serve` (plain HTTP, one RS256 token) and wrk, 16 keep-alive
#      connections, POST /Patient/$resolve over 2,000 records of FEED.csv
#      (each request resolves and decides the view: two audited calls);
#   2. the server stopped, a fresh copy of STORE, and realtime_bench in
#      process: two threads resolving and deciding views in turn over 2,000
#      stored records, no writer;
# each with 5 s of warm-up and SECONDS (20) measured; then prints both
# rates, their ratio, and the server's CPU time per HTTP request. Results
# and logs stay in the printed work folder.
#
#   bench/serve/ratio.sh /data/store-1m g300/RKB.csv
#
# Needs the build (build/engine/cli/empi, build/bench/realtime_bench), wrk,
# openssl, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
store=$1 feed=$2 seconds=${3:-20}
empi=${EMPI_BIN:-build/engine/cli/empi} bench=${EMPI_BENCH_BIN:-build/bench/realtime_bench}
port=${PORT:-18291}
source bench/serve/lib.sh
make_work "$feed" ratio
TOKEN=$(bench/serve/mkjwt.sh "$work/idp.key" bench RKB direct-care '["clinician"]')
export TOKEN

cp -r "$store" "$work/db"
start_server "$empi" "$work/db" http "$port" "$work/serve.log"
wrk -t2 -c16 -d5s -s "$work/resolve.lua" "http://127.0.0.1:$port" >"$work/wrk-warmup.txt"
# The server's CPU time (user + system, in clock ticks) around the measured
# run: CPU per request is steadier than the rate on a shared machine.
server_cpu() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
cpu0=$(server_cpu)
wrk -t2 -c16 -d"${seconds}s" --latency -s "$work/resolve.lua" "http://127.0.0.1:$port" >"$work/wrk.txt"
cpu1=$(server_cpu)
stop_server

rm -rf "$work/db"
cp -r "$store" "$work/db"
"$bench" --store "$work/db" --seconds "$seconds" --warmup 5 --no-writer --no-search --readers 2 \
  --sample 2000 >"$work/inprocess.txt" 2>"$work/inprocess.err"
rm -rf "$work/db"

http=$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ { print $NF }' "$work/wrk.txt")
# "throughput (measured calls per second): resolve R, view decision V, ...":
# a $resolve is one of each, so the in-process rate of pairs is (R + V) / 2.
inproc=$(sed -n 's/^throughput (measured calls per second): resolve \([0-9.]*\), view decision \([0-9.]*\),.*/\1 \2/p' \
  "$work/inprocess.txt" | awk '{ printf "%.0f", ($1 + $2) / 2 }')
requests=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
echo "HTTP \$resolve (resolve + view decision): $http requests/s (non-2xx: ${non2xx:-0})"
awk -v c=$((cpu1 - cpu0)) -v r="$requests" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { printf "server CPU per request:                  %.1f us\n", c / hz * 1e6 / r }'
echo "in process, Resolve + MayAssembleView:   $inproc pairs/s"
awk -v h="$http" -v i="$inproc" 'BEGIN { printf "HTTP / in process: %.3f\n", h / i }'
