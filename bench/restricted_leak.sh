#!/usr/bin/env bash
# A restricted patient is never located: every CLI answer about the
# restricted records of a generated population (resolve, search with and
# without the postcode, audit, history, view, explain) and every store-wide
# output (stats, check, exports, changes, check-objections, audit verify)
# is grepped for those records' postcodes and streets, as are the store's
# audit log and RocksDB LOG. Exit 0 when nothing is found, 1 otherwise.
#   bash bench/restricted_leak.sh GEN_DIR [RECORDS]
# e.g. empi generate --persons 20000 --seed 7 --out GEN; bash bench/restricted_leak.sh GEN 60
set -euo pipefail
cd "$(dirname "$0")/.."
empi=${EMPI:-build/engine/cli/empi}
gen=${1:?usage: restricted_leak.sh GEN_DIR [RECORDS]}
limit=${2:-60}
work=${WORK:-/tmp/empi-restricted-leak}
db=$work/db out=$work/out
rm -rf "$work" && mkdir -p "$out"
"$empi" link --db "$db" "$gen"/[A-Z]*.csv > "$out/link.out" 2> "$out/link.err"

# The restricted rows (tab-separated: source, id, family, given, ISO date,
# postcode, NHS number) and the patterns that would locate them.
python3 - "$gen" "$work" << 'PY'
import csv, glob, re, sys
gen, work = sys.argv[1], sys.argv[2]
patterns, rows = set(), []
def iso(d):
    if m := re.fullmatch(r"(\d\d)/(\d\d)/(\d{4})", d): return f"{m[3]}-{m[2]}-{m[1]}"
    if re.fullmatch(r"\d{8}", d): return f"{d[:4]}-{d[4:6]}-{d[6:]}"
    return d
for f in sorted(glob.glob(f"{gen}/[A-Z]*.csv")):
    for r in csv.DictReader(open(f, encoding="utf-8")):
        if r.get("restricted", "").strip().lower() not in ("1", "true", "y", "yes"): continue
        pc = r["postcode"].strip()
        rows.append([r["source"], r["record_id"], r["family_name"], r["given_names"], iso(r["date_of_birth"].strip()), pc, r["nhs_number"]])
        if pc: patterns |= {pc.upper(), pc.upper().replace(" ", "")}
        if m := re.match(r"(?:Flat \d+, )?\d+\w?\s+([^,]+)", r["address"]): patterns.add(m[1].strip())
if not rows: sys.exit(f"{gen}: no restricted records, nothing to check")
open(f"{work}/patterns.txt", "w").write("".join(p + "\n" for p in sorted(patterns)))
open(f"{work}/restricted.tsv", "w").write("".join("\t".join(x) + "\n" for x in rows))
print(f"{len(rows)} restricted records, {len(patterns)} patterns", file=sys.stderr)
PY

i=0
while IFS=$'\t' read -r src id family given dob postcode nhs; do
  i=$((i + 1))
  [ "$i" -gt "$limit" ] && break
  "$empi" resolve --db "$db" --source "$src" --record-id "$id" > "$out/resolve.$i" 2>&1 || true
  [ -n "$nhs" ] && { "$empi" resolve --db "$db" --nhs-number "$nhs" > "$out/resolve-nhs.$i" 2>&1 || true; }
  "$empi" search --db "$db" --family-name "$family" --given-names "$given" --date-of-birth "$dob" \
    --postcode "$postcode" > "$out/search.$i" 2>&1 || true
  "$empi" search --db "$db" --family-name "$family" --given-names "$given" --date-of-birth "$dob" \
    > "$out/search-no-postcode.$i" 2>&1 || true
  "$empi" view --db "$db" --source "$src" --record-id "$id" > "$out/view.$i" 2>&1 || true
  read -r person other < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1])); rest = [r for r in j.get("records", []) if r["record_id"] != sys.argv[2]]
print(j.get("person_id", ""), rest[0]["source"] + ":" + rest[0]["record_id"] if rest else "")' "$out/resolve.$i" "$id" 2> /dev/null) || true
  # read leaves both empty when the answer was no person.
  if [ -n "$person" ]; then
    "$empi" audit person --db "$db" --person "$person" > "$out/audit.$i" 2>&1 || true
    "$empi" history --db "$db" --person "$person" > "$out/history.$i" 2>&1 || true
  fi
  [ -n "$other" ] && { "$empi" explain --db "$db" "$src:$id" "$other" > "$out/explain.$i" 2>&1 || true; }
done < "$work/restricted.tsv"
"$empi" stats --db "$db" > "$out/stats" 2>&1 || true
"$empi" check --db "$db" > "$out/check" 2>&1 || true
"$empi" export clusters --db "$db" -o "$out/clusters.csv" 2> "$out/export.err" || true
"$empi" export review --db "$db" -o "$out/review.csv" 2>> "$out/export.err" || true
"$empi" changes --db "$db" > "$out/changes" 2>&1 || true
"$empi" check-objections --db "$db" > "$out/check-objections" 2>&1 || true
"$empi" audit verify --db "$db" > "$out/audit-verify" 2>&1 || true

files=$(find "$out" -type f | wc -l)
# Answers that found the person: a run whose commands all failed would find
# nothing to leak, and prove nothing.
resolved=$(grep -l '"person_id"' "$out"/resolve.* 2> /dev/null | wc -l)
hits=$(grep -l -a -i -F -f "$work/patterns.txt" "$out"/* "$db/audit.log" "$db/LOG" || true)
echo "$files outputs, $resolved restricted records resolved to their person; outputs and store logs naming a restricted postcode or street: ${hits:-none}"
[ "$resolved" -gt 0 ] && [ -z "$hits" ]
