#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, -DEMPI_FUZZ=ON, in build-fuzz)
# and runs each for SECONDS (default 60), FUZZ_JOBS targets at a time
# (default 2), then prints per target: CPU time, executions, coverage
# (cov = edges, ft = features), crashes. Exits 1 if any target crashed
# (a sanitizer report, a FUZZ_CHECK, a timeout or out-of-memory); a
# timeout whose input runs alone within the limit was the machine being
# starved, not a hang, and is counted apart ("starved"); the
# crashing inputs are in build-fuzz/fuzz-out/TARGET/ (or $FUZZ_OUT/TARGET/)
# with the logs.
# Dictionaries: tests/fuzz/json.dict (mapping, model, FHIR, JWT), csv.dict
# (the rest).
#
#   scripts/fuzz.sh            # 60 s each (CI runs 30: scripts/test.sh)
#   scripts/fuzz.sh 1800       # 30 minutes each
#   FUZZ_TARGETS="fuzz_model" scripts/fuzz.sh 300
#   FUZZ_BUDGET=cpu scripts/fuzz.sh 1800   # until each has had 30 CPU-minutes
#
# With FUZZ_BUDGET=cpu, SECONDS is CPU time (user + system) per target, not
# wall time: on a loaded machine, or under nice, a target runs for as long
# as it takes to get that much CPU. Each target's CPU time so far is in
# TARGET/cpu_so_far after every run of at most 10 minutes, so an
# interrupted campaign still says how far each target got.
#
# A target that crashes is started again on its grown corpus until its time
# is used, so one bug does not end the run; each crash is counted.
# The corpus each target grows is build-fuzz/fuzz-out/TARGET/corpus, seeded
# from tests/fuzz/corpus/NAME (NAME = TARGET without "fuzz_"); keep it
# between runs with FUZZ_KEEP_CORPUS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${FUZZ_BUILD_DIR:-build-fuzz}
# Where each target's corpus, logs and crashing inputs go.
outs=${FUZZ_OUT:-$build/fuzz-out}

# Internal: one target for $3 seconds, restarted after each crash.
if [ "${1:-}" = --one ]; then
  target=$2 seconds=$3 out=$4
  bin=$build/tests/fuzz/$target
  name=${target#fuzz_}
  case $name in
    mapping | model | fhir_patient | jwt) dict=(-dict=tests/fuzz/json.dict) ;;
    *) dict=(-dict=tests/fuzz/csv.dict) ;;
  esac
  end=$((SECONDS + seconds))
  # Whether input $2 of target $1 runs cleanly within the 10 s limit in CPU
  # time (user + system, written to $3): a rerun measured in wall time would
  # be starved as the run was. A real hang is stopped after 10 minutes' wall.
  starved() {
    /usr/bin/time -f "%U %S" -o "$3" timeout 600 "$1" "$2" >/dev/null 2>&1 &&
      awk 'END { exit !($1 + $2 < 10) }' "$3"
  }
  # Sets $left: the seconds the next run may take. `times` must run in this
  # shell, not in $(...), to see this shell's children.
  update_left() {
    times >"$out/times"
    awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' \
      "$out/times" >"$out/cpu_so_far"
    if [ "${FUZZ_BUDGET:-wall}" = cpu ]; then
      left=$((seconds - $(cat "$out/cpu_so_far")))
      left=$((left < 600 ? left : 600))
    else
      left=$((end - SECONDS))
    fi
  }
  run=0
  update_left
  while ((left > 0)); do
    run=$((run + 1))
    # libFuzzer exits 0 when its time is up, non-zero on a crash.
    if "$bin" "$out/corpus" "tests/fuzz/corpus/$name" "${dict[@]}" \
        -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/" >"$out/run$run.log" 2>&1; then
      :
    elif timeout_unit=$(grep -o "Test unit written to $out/timeout-[0-9a-f]*" "$out/run$run.log") &&
        unit=${timeout_unit##* } && starved "$bin" "$unit" "$out/rerun-cpu"; then
      # libFuzzer's timeout is wall-clock: on a starved machine (other jobs,
      # nice) a fast input can exceed it. One whose rerun takes less than
      # the limit in CPU time is not a hang; it is kept as starved-* and not
      # counted.
      mv "$unit" "$out/starved-${unit##*/timeout-}"
      echo "run$run" >>"$out/starved"
    elif grep -qE 'Test unit written|^==[0-9]+== ?ERROR|FUZZ_CHECK failed|deadly signal' "$out/run$run.log"; then
      echo "run$run" >>"$out/crashes"
    else
      # Not a crash: the binary could not start (being rebuilt?).
      echo "run$run did not start" >&2
      sleep 5
    fi
    update_left
  done
  exit 0
fi

seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: scripts/fuzz.sh [seconds-per-target]" >&2
  exit 64
fi
jobs=${FUZZ_JOBS:-2}

bash scripts/install-deps.sh
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DEMPI_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo ${FUZZ_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"

targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.cc | sed 's/\.cc$//')}
for t in $targets; do
  out=$outs/$t
  if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] && [ -d "$out/corpus" ]; then
    mv "$out/corpus" "$outs/.corpus-$t"
  fi
  rm -rf "$out"
  mkdir -p "$out"
  if [ -d "$outs/.corpus-$t" ]; then mv "$outs/.corpus-$t" "$out/corpus"; else mkdir "$out/corpus"; fi
done

echo "fuzzing $(echo $targets | wc -w) targets for ${seconds} s (${FUZZ_BUDGET:-wall}) each, ${jobs} at a time" >&2
running=0
for t in $targets; do
  out=$outs/$t
  /usr/bin/time -f "%U %S" -o "$out/cpu" bash "$0" --one "$t" "$seconds" "$out" &
  running=$((running + 1))
  if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
done
wait

status=0
printf '%-28s %10s %14s %8s %8s %8s %8s\n' target cpu_s executions cov ft crashes starved
for t in $targets; do
  out=$outs/$t
  cpu=$(awk 'END {printf "%.0f", $1 + $2}' "$out/cpu")
  execs=$(cat "$out"/run*.log | awk '/^stat::number_of_executed_units/ {n += $2} END {print n + 0}')
  # The runs restarted after a crash reload the corpus, so the last run's
  # last status line has the coverage reached.
  last=$(ls "$out"/run*.log | sort -V | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$last" | tail -1 | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' "$last" | tail -1 | awk '{print $2}')
  crashes=0
  [ -f "$out/crashes" ] && crashes=$(wc -l <"$out/crashes")
  starved=0
  [ -f "$out/starved" ] && starved=$(wc -l <"$out/starved")
  printf '%-28s %10s %14s %8s %8s %8s %8s\n' "$t" "$cpu" "$execs" "${cov:-?}" "${ft:-?}" "$crashes" "$starved"
  if ((crashes > 0)); then
    status=1
    for log in "$out"/run*.log; do
      grep -E '^(==[0-9]+== ?ERROR|SUMMARY|.*FUZZ_CHECK failed|.*runtime error)|Test unit written' "$log" | head -5 >&2 || true
    done
  fi
done
exit $status
