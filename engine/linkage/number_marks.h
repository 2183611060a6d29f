// Copyright EMPI developers.
//
// number_marks.h: whose NHS number a record carries. A parent's number on a
// child's record is a known pattern (docs/matching.md §1, "A relative's
// number"): judged among the records that carry the number
// (NumberIsARelatives, safety.h), such a number is compared as missing in
// matching (PreparedRecord::nhs_relatives), and it is marked in the NHS
// index (index::ChangeSet::PutNhs), so that an answer by NHS number follows
// the number's owner and not the relative who carries it too.
//
// The mark is kept true to the number's holders: every write that adds a
// holder to a number, or takes one away, judges the number's holders again
// and writes each mark that changed, with an "nhs-judged" change naming the
// persons holding the number (Engine::Changes), in the same commit.
//
//   MarkRelativesNumbers(&prepared);          // a link's records, in memory
//   Remarked remarked;
//   EMPI_RETURN_IF_ERROR(RemarkFromPrepared(store, &numbers, find, &cs, &remarked));
//   AddJudgedChange(remarked, &cs);
#ifndef EMPI_LINKAGE_NUMBER_MARKS_H_
#define EMPI_LINKAGE_NUMBER_MARKS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "empi/record.h"
#include "engine/linkage/prepared_record.h"
#include "index/store.h"

namespace empi {

// Marks each record whose NHS number is a relative's (nhs_relatives), judged
// among the records of `prepared` carrying it (NumberIsARelatives). A number
// on fewer than kMinNumberHolders or more than kMaxNumberHolders records is
// judged for none of them. Call before comparing any pair: the number is
// then compared as missing.
inline constexpr size_t kMinNumberHolders = 3, kMaxNumberHolders = 64;
inline bool NumberJudged(size_t holders) { return holders >= kMinNumberHolders && holders <= kMaxNumberHolders; }
void MarkRelativesNumbers(std::vector<PreparedRecord>* prepared);

// Marks `p`, the record stored under `key`, as the store's NHS index marks
// it: the judgement of the last write to its number's holders, which is
// what MarkRelativesNumbers decides among them (the real-time ingest's
// candidates, explanations).
absl::Status MarkAsStored(const index::Store& store, const std::string& key, PreparedRecord* p,
                          const rocksdb::Snapshot* snap = nullptr);

using PrepareFn = std::function<PreparedRecord(const Record&)>;

// Stored holders whose mark a write changed, and the persons holding the
// numbers judged (for the change feed).
struct Remarked {
  std::vector<std::string> records;
  absl::flat_hash_set<uint64_t> persons;
};

// Judges number `nhs` again on every record the store holds it on, once the
// records `leaving` (keys) have let it go and the records `arriving` hold
// it: sets each arriving record's nhs_relatives (the caller files it), and
// puts into `cs` the mark of each stored holder whose judgement differs
// from its stored one.
struct Arriving {
  std::string_view key;
  PreparedRecord* record;
};
absl::Status JudgeStoredNumber(const index::Store& store, uint64_t nhs, const absl::flat_hash_set<std::string>& leaving,
                               const std::vector<Arriving>& arriving, const PrepareFn& prepare, index::ChangeSet* cs,
                               Remarked* out);

// A link's records after MarkRelativesNumbers: `find` gives the prepared
// record stored (or being stored) under a key and its person after the
// link, or a null record for a key not among them. For each of `numbers`
// (null: every number in the store, read in one scan) whose stored holders
// are all among them, puts into `cs` the mark of each stored holder that
// keeps the number and whose judgement differs from its stored mark. A
// number with a holder not among them is left as it is (judged on part of
// its holders, it could be misjudged).
struct Found {
  const PreparedRecord* record = nullptr;
  uint64_t person = 0;
  bool written = false;  // the link writes this record's entry itself
};
absl::Status RemarkFromPrepared(const index::Store& store, const std::vector<uint64_t>* numbers,
                                const std::function<Found(std::string_view key)>& find, index::ChangeSet* cs,
                                Remarked* out);

// The numbers that kMinNumberHolders or more of `records` carry (validated), among those
// of the first `brought` records: the only numbers on which a write can
// change a mark, every write keeping them true (fewer holders are never
// judged). In number order.
std::vector<uint64_t> JudgedNumbers(const std::vector<PreparedRecord>& records, size_t brought);

// Calls `fn` for every stored holder whose mark differs from the judgement
// of its number's holders as they stand, each prepared by `prepare`, in
// number order: for none, when every write has kept the marks true (what
// `empi check` verifies). *judged: the numbers on kMinNumberHolders or more
// records.
absl::Status ForEachMisjudgedMark(const index::Store& store, const PrepareFn& prepare,
                                  const std::function<void(std::string_view record_key)>& fn, uint64_t* judged);

// The "nhs-judged" change of `remarked`, when any mark changed.
void AddJudgedChange(const Remarked& remarked, index::ChangeSet* cs);

}  // namespace empi

#endif  // EMPI_LINKAGE_NUMBER_MARKS_H_
