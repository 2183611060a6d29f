#!/usr/bin/env python3
"""review_composition.py REVIEW.csv TRUTH.csv: what a review queue holds.

REVIEW.csv is `empi export review` (source_l,record_id_l,source_r,
record_id_r,match_weight,match_probability,reason); TRUTH.csv is a
population's truth (source,record_id,person). Prints, by reason and by
match weight (below 4 bits, 4 or more), how many pairs there are and what
share of them is one person. Persons per 100 come from the truth file.

  empi export review --db DB -o review.csv
  python3 bench/review_composition.py review.csv GEN/truth.csv
"""
import collections
import csv
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    truth = {}
    with open(sys.argv[2], newline="") as f:
        for r in csv.DictReader(f):
            truth[(r["source"], r["record_id"])] = r["person"]
    by_reason = collections.defaultdict(lambda: [0, 0])
    by_weight = collections.defaultdict(lambda: [0, 0])
    with open(sys.argv[1], newline="") as f:
        for r in csv.DictReader(f):
            a = truth.get((r["source_l"], r["record_id_l"]))
            b = truth.get((r["source_r"], r["record_id_r"]))
            if a is None or b is None:
                sys.exit(f"{sys.argv[1]}: a record of pair {r['source_l']}:{r['record_id_l']} / "
                         f"{r['source_r']}:{r['record_id_r']} is not in {sys.argv[2]}")
            same = a == b
            for table, key in ((by_reason, r["reason"]),
                               (by_weight, "below 4 bits" if float(r["match_weight"]) < 4 else "4 bits or more")):
                table[key][0] += 1
                table[key][1] += same
    persons = len(set(truth.values()))
    total = sum(n for n, _ in by_reason.values())
    same = sum(s for _, s in by_reason.values())
    print(f"{total} pairs, {100 * total / persons:.2f} per 100 persons ({persons} persons), "
          f"{same / total if total else 0:.2f} one person")
    for title, table in (("reason", by_reason), ("weight", by_weight)):
        print(f"\n{title:55s} {'pairs':>7s} {'one person':>10s}")
        for key, (n, s) in sorted(table.items(), key=lambda kv: -kv[1][0]):
            print(f"{key:55s} {n:7d} {s / n:10.2f}")


if __name__ == "__main__":
    main()
