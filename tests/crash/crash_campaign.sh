#!/usr/bin/env bash
# Copyright EMPI developers.
#
# crash_campaign.sh: random kill -9 of EMPI's write paths, in the style of
# RocksDB's db_crashtest.py. Each cycle starts a command in the background,
# kills it at a random moment (half anywhere in its clean duration x1.2,
# half in the last 40% of it), then runs
# `empi check` on the store. Link cycles also run the same command again and
# compare `empi export clusters` and `empi export review` with a clean run,
# byte for byte (same persons, ids, membership, objections, review queue).
#
# Kinds: link-first, link-first-bulk, link-update, link-update-bulk (the
# bulk path with EMPI_BULK_INGEST_RECORDS lowered), ingest (real-time, one
# record at a time), object, merge, split (steward actions), relink (a store
# linked feed by feed, relinked with --retrain; compared with a clean
# relink like the link kinds).
#
#   tests/crash/crash_campaign.sh --empi build/engine/cli/empi --cycles 1000
#   tests/crash/crash_campaign.sh --empi build/engine/cli/empi --seconds 90
#
# Prints the cycles per kind and the violations and differences found;
# exits 0 only when there are none.
set -u

EMPI=""
CYCLES=0
SECONDS_LIMIT=0
PERSONS=1000
SEED=1
WORK=""
while [ $# -gt 0 ]; do
  case "$1" in
    --empi) EMPI="$2"; shift 2 ;;
    --cycles) CYCLES="$2"; shift 2 ;;
    --seconds) SECONDS_LIMIT="$2"; shift 2 ;;
    --persons) PERSONS="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    *) echo "usage: $0 --empi PATH [--cycles N] [--seconds S] [--persons P] [--seed S] [--work DIR]" >&2; exit 64 ;;
  esac
done
if [ -z "$EMPI" ] || [ ! -x "$EMPI" ]; then echo "crash_campaign: --empi must name the empi binary" >&2; exit 64; fi
if [ "$CYCLES" -le 0 ] && [ "$SECONDS_LIMIT" -le 0 ]; then CYCLES=100; fi
EMPI="$(cd "$(dirname "$EMPI")" && pwd)/$(basename "$EMPI")"
if [ -z "$WORK" ]; then WORK="$(mktemp -d "${TMPDIR:-/tmp}/empi_crash_XXXXXX")"; CLEANUP=1; else mkdir -p "$WORK"; CLEANUP=0; fi
cleanup() { if [ "$CLEANUP" = 1 ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT
RANDOM=$SEED
cd "$WORK" || exit 74

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
die() { echo "crash_campaign: $*" >&2; exit 70; }

# The population, changed feeds (every third row another family name), a
# feed for real-time ingest (new record ids) and objections.
"$EMPI" generate --persons "$PERSONS" --seed "$SEED" --quiet --out gen >/dev/null 2>&1 || die "generate failed"
FEEDS=(gen/[A-Z]*.csv)
mkdir -p gen2
for f in "${FEEDS[@]}"; do
  awk 'BEGIN{FS=OFS=","} NR>1 && NR%3==1 && index($1 $2 $3 $4, "\"")==0 {$4=$4 "Zed"} {print}' "$f" > "gen2/$(basename "$f")"
done
CHANGED=(gen2/[A-Z]*.csv)
awk 'BEGIN{FS=OFS=","} NR==1 {print; next} NR<=301 {$1="ING"; print}' "${FEEDS[0]}" > ingest.csv
BULK_ENV=(env EMPI_BULK_INGEST_RECORDS=1 EMPI_BULK_ROUND_RECORDS=700)

snapshot() {  # DB OUT
  "$EMPI" export clusters --db "$1" > "$2" 2>/dev/null && echo "--review--" >> "$2" &&
    "$EMPI" export review --db "$1" >> "$2" 2>/dev/null
}

# Clean references and their durations.
declare -A DUR
run_timed() {  # KIND CMD...
  local kind=$1; shift
  local t0; t0=$(now_ms)
  "$@" >/dev/null 2>&1 || die "clean run of $kind failed: $*"
  DUR[$kind]=$(( $(now_ms) - t0 ))
}
run_timed link-first "$EMPI" link --db ref-first "${FEEDS[@]}"
run_timed link-first-bulk "${BULK_ENV[@]}" "$EMPI" link --db ref-first-bulk "${FEEDS[@]}"
cp -r ref-first base && cp -r ref-first-bulk base-bulk
cp -r base ref-update && run_timed link-update "$EMPI" link --db ref-update "${CHANGED[@]}"
cp -r base-bulk ref-update-bulk && run_timed link-update-bulk "${BULK_ENV[@]}" "$EMPI" link --db ref-update-bulk "${CHANGED[@]}"
# Feeds one at a time, smallest first: the store a relink revisits.
for f in $(ls -Sr "${FEEDS[@]}"); do "$EMPI" link --db staged "$f" >/dev/null 2>&1 || die "staged link of $f failed"; done
cp -r staged ref-relink && run_timed relink "$EMPI" relink --db ref-relink --retrain
for k in first first-bulk update update-bulk relink; do snapshot "ref-$k" "want-$k.txt" || die "export of ref-$k failed"; done
cp -r base t && run_timed ingest "$EMPI" ingest --db t ingest.csv && rm -rf t
# Steward actions and objections: persons and records of the base store.
"$EMPI" export clusters --db base > base-clusters.csv 2>/dev/null || die "export failed"
mapfile -t MULTI < <(awk -F, 'NR>1 {n[$3]++; r[$3]=$1 ":" $2} END {for (p in n) if (n[p] > 1) print p " " r[p]}' base-clusters.csv | sort -n)
mapfile -t OBJ < <(awk -F, 'NR>1 && $1 != "" {print $1}' gen/objections.csv)
[ ${#MULTI[@]} -gt 2 ] || die "too few persons with two records"
cp -r base t && run_timed merge "$EMPI" merge --db t "${MULTI[0]%% *}" "${MULTI[1]%% *}" && rm -rf t
cp -r base t && run_timed split "$EMPI" split --db t --person "${MULTI[2]%% *}" "${MULTI[2]#* }" && rm -rf t
if [ ${#OBJ[@]} -gt 0 ]; then
  cp -r base t && run_timed object "$EMPI" object --db t --nhs-number "${OBJ[0]}" && rm -rf t
fi
KINDS=(link-first link-first-bulk link-update link-update-bulk relink ingest merge split)
[ ${#OBJ[@]} -gt 0 ] && KINDS+=(object)

declare -A RUNS VIOL DIFF KILLED
for k in "${KINDS[@]}"; do RUNS[$k]=0; VIOL[$k]=0; DIFF[$k]=0; KILLED[$k]=0; done
violations=0; differences=0; cycles=0
start=$(now_ms)
LOG="$WORK/failures.log"
: > "$LOG"

check_store() {  # KIND DB FIRST
  local out rc
  out=$("$EMPI" check --db "$2" 2>&1); rc=$?
  if [ $rc -ne 0 ]; then
    # A kill while RocksDB was still creating a new store's column families
    # leaves a store holding nothing that a read-only open refuses; the
    # next read-write open finishes it.
    if [ "$3" = 1 ] && echo "$out" | grep -q "has an older format version;\|has no format version"; then return 0; fi
    VIOL[$1]=$(( VIOL[$1] + 1 )); violations=$(( violations + 1 ))
    { echo "== $1 cycle $cycles: empi check exit $rc"; echo "$out" | head -25; } >> "$LOG"
  fi
}

kill_at_random() {  # KIND CMD...
  local kind=$1; shift
  # Half the kills anywhere in the run (x1.2), half in its last 40%, where
  # the write stage is.
  local span=$(( DUR[$kind] * 6 / 5 + 1 )) late=$(( DUR[$kind] * 3 / 5 ))
  local ms=$(( (RANDOM * 32768 + RANDOM) % span ))
  if [ $(( RANDOM % 2 )) = 1 ]; then ms=$(( late + (RANDOM * 32768 + RANDOM) % ((DUR[$kind] - late) * 11 / 10 + 1) )); fi
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$(printf '%d.%03d' $(( ms / 1000 )) $(( ms % 1000 )))"
  if kill -9 "$pid" 2>/dev/null; then KILLED[$kind]=$(( KILLED[$kind] + 1 )); fi
  wait "$pid" 2>/dev/null
}

while :; do
  if [ "$CYCLES" -gt 0 ] && [ "$cycles" -ge "$CYCLES" ]; then break; fi
  if [ "$SECONDS_LIMIT" -gt 0 ] && [ $(( $(now_ms) - start )) -ge $(( SECONDS_LIMIT * 1000 )) ]; then break; fi
  kind=${KINDS[$(( RANDOM % ${#KINDS[@]} ))]}
  RUNS[$kind]=$(( RUNS[$kind] + 1 ))
  rm -rf db
  case "$kind" in
    link-*)
      env_prefix=(); files=("${FEEDS[@]}"); first=1; ref=${kind#link-}
      case "$kind" in *bulk) env_prefix=("${BULK_ENV[@]}") ;; esac
      case "$kind" in
        link-update) cp -r base db; files=("${CHANGED[@]}"); first=0 ;;
        link-update-bulk) cp -r base-bulk db; files=("${CHANGED[@]}"); first=0 ;;
      esac
      kill_at_random "$kind" "${env_prefix[@]}" "$EMPI" link --db db "${files[@]}"
      [ -e db/CURRENT ] && check_store "$kind" db "$first"
      if ! "${env_prefix[@]}" "$EMPI" link --db db "${files[@]}" >/dev/null 2>rerun.err; then
        VIOL[$kind]=$(( VIOL[$kind] + 1 )); violations=$(( violations + 1 ))
        { echo "== $kind cycle $cycles: the re-run failed"; head -5 rerun.err; } >> "$LOG"
      else
        snapshot db got.txt
        if ! cmp -s got.txt "want-$ref.txt"; then
          DIFF[$kind]=$(( DIFF[$kind] + 1 )); differences=$(( differences + 1 ))
          { echo "== $kind cycle $cycles: differs from a clean run"; diff got.txt "want-$ref.txt" | head -10; } >> "$LOG"
        fi
        check_store "$kind" db 0
      fi
      ;;
    relink)
      cp -r staged db
      kill_at_random relink "$EMPI" relink --db db --retrain
      check_store relink db 0
      if ! "$EMPI" relink --db db --retrain >/dev/null 2>rerun.err; then
        VIOL[$kind]=$(( VIOL[$kind] + 1 )); violations=$(( violations + 1 ))
        { echo "== relink cycle $cycles: the re-run failed"; head -5 rerun.err; } >> "$LOG"
      else
        snapshot db got.txt
        if ! cmp -s got.txt want-relink.txt; then
          DIFF[$kind]=$(( DIFF[$kind] + 1 )); differences=$(( differences + 1 ))
          { echo "== relink cycle $cycles: differs from a clean relink"; diff got.txt want-relink.txt | head -10; } >> "$LOG"
        fi
      fi
      ;;
    ingest)
      cp -r base db
      kill_at_random ingest "$EMPI" ingest --db db ingest.csv
      check_store ingest db 0
      ;;
    merge)
      cp -r base db
      a=${MULTI[$(( RANDOM % ${#MULTI[@]} ))]%% *}; b=${MULTI[$(( RANDOM % ${#MULTI[@]} ))]%% *}
      [ "$a" = "$b" ] && b=${MULTI[0]%% *}
      [ "$a" = "$b" ] && b=${MULTI[1]%% *}
      kill_at_random merge "$EMPI" merge --db db "$a" "$b"
      check_store merge db 0
      ;;
    split)
      cp -r base db
      m=${MULTI[$(( RANDOM % ${#MULTI[@]} ))]}
      kill_at_random split "$EMPI" split --db db --person "${m%% *}" "${m#* }"
      check_store split db 0
      ;;
    object)
      cp -r base db
      kill_at_random object "$EMPI" object --db db --nhs-number "${OBJ[$(( RANDOM % ${#OBJ[@]} ))]}"
      check_store object db 0
      ;;
  esac
  cycles=$(( cycles + 1 ))
done

elapsed=$(( ($(now_ms) - start) / 1000 ))
echo "EMPI crash campaign: $cycles cycles in ${elapsed} s (seed $SEED, $PERSONS persons)"
printf '  %-18s %7s %7s %11s %12s %10s\n' kind cycles killed "clean ms" violations differences
for k in "${KINDS[@]}"; do
  printf '  %-18s %7d %7d %11d %12d %10d\n' "$k" "${RUNS[$k]}" "${KILLED[$k]}" "${DUR[$k]}" "${VIOL[$k]}" "${DIFF[$k]}"
done
echo "  total violations $violations, differences from a clean run $differences"
if [ $(( violations + differences )) -ne 0 ]; then
  cat "$LOG"
  exit 1
fi
exit 0
