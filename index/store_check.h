// Copyright EMPI developers.
//
// store_check.h: a read-only consistency check of a whole store, the
// library behind `empi check` (through engine/linkage/store_check.h, which
// adds the block keys) and the tests' invariant checks (models:
// RocksDB's `ldb checkconsistency`, SQLite's `PRAGMA integrity_check`).
//
// What it checks, at one snapshot:
//   - every record in exactly one person: its person_records entry exists
//     and names the record's person_id, and there are as many membership
//     entries as records (with the first, a bijection);
//   - no person_records entry without a persons entry; no empty person;
//   - person_view equal to persons + person_records + records (person
//     value, members in key order, each member's restricted and date of
//     birth);
//   - block_keys and nhs_index equal to the keys the records imply (every
//     implied key present, and as many entries as implied), when the caller
//     says what they imply (StoreCheckOptions::implied_keys; the linkage
//     layer knows the blocking rules);
//   - review pairs stored under both orders with one value, between live
//     records; never-link marks between live records;
//   - persons' objection_in_review as engine/linkage/review_objections.h defines it,
//     unless the store says the flags are being recomputed;
//   - meta record_count equal to the records held;
//   - the change feed numbered 1..n without gaps, each entry decoding, and
//     meta next_change equal to n + 1;
//   - the histories agree with the present: each person's view_history
//     folds to its person_view, and each record's last record_history entry
//     names its person (0 for a record no longer stored), and each NHS
//     number's nhs_history folds to its nhs_index entries and supersession;
//   - pending objections are counted only: they name patients with no
//     stored record yet, and one that a stored record now matches is
//     applied by the next link or ingest (a kill can leave it pending).
//   - the audit chain (Store::VerifyAuditChain).
//
// It streams, in two passes. The fast pass reads every family involved
// once, sequentially: the person families merge-joined by person id
// (checking each person against its view), records in key order, the index
// families in key order; what must agree across orders (membership from
// records and from person_records, member facts from records and from
// person_view, index keys implied by records and stored) is compared as
// order-independent fingerprints (count and two 64-bit hash sums). Only
// when something disagrees does the exact pass run, with point reads per
// record, to name the violations. Memory holds one person and the review
// queue, never the records.
// Messages name records by source and record id and persons by id only.
//
//   EMPI_ASSIGN_OR_RETURN(index::StoreCheckReport r, index::CheckStore(*store, {}));
//   if (r.violations_total > 0) ... r.violations ...
//
// Thread-safety: reads only; safe alongside any other reader or writer (it
// sees one snapshot).
#ifndef EMPI_INDEX_STORE_CHECK_H_
#define EMPI_INDEX_STORE_CHECK_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "index/store.h"

namespace empi::index {

// The block_keys and nhs_index keys (whole stored keys) one record implies.
struct ImpliedKeys {
  std::vector<std::string> block_keys;
  std::optional<std::string> nhs_key;
};

struct StoreCheckOptions {
  // What a record's index entries are: fills *out with the keys the record
  // implies written the `variant`-th way (0 is the usual one; others, e.g.
  // other field conventions, are tried when 0's keys are not all present)
  // and returns true, or returns false when there is no such variant.
  // Unset: block_keys and nhs_index are not checked. Default: unset.
  std::function<bool(const Record& record, int variant, ImpliedKeys* out)> implied_keys;
  // Violations kept in the report (all are counted). Default: 20.
  size_t max_violations = 20;
  // Verify the audit chain too. Default: true.
  bool audit = true;
};

struct StoreCheckReport {
  uint64_t records = 0, persons = 0, memberships = 0, person_views = 0;
  uint64_t block_keys = 0, nhs_entries = 0, review_entries = 0, never_links = 0;
  uint64_t pending_objections = 0, audit_events = 0, changes = 0;
  uint64_t view_history = 0, record_history = 0, nhs_history = 0;  // entries
  // Filled by CheckLinkedStore (engine/linkage/store_check.h): numbers on 3
  // or more records whose marks were judged again, or that the store's
  // marks are not judged yet (meta nhs_marks_pending: upgraded from format
  // 9, not relinked since) and were not checked.
  uint64_t nhs_numbers_judged = 0;
  bool nhs_marks_pending = false;
  uint64_t violations_total = 0;
  std::vector<std::string> violations;  // the first max_violations, in the order found
  bool ok() const { return violations_total == 0; }
};

// Checks `store` as described above. Violations are returned in the report;
// the status is an error only when the store cannot be read (a value that
// does not decode is a violation, not an error).
absl::StatusOr<StoreCheckReport> CheckStore(const Store& store, const StoreCheckOptions& options);

}  // namespace empi::index

#endif  // EMPI_INDEX_STORE_CHECK_H_
