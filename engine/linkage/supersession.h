// Copyright EMPI developers.
//
// supersession.h: NHS numbers replaced by other numbers.
//
// An NHS number is occasionally superseded: when a duplicate registration is
// resolved nationally, one of the person's two numbers is retired in favour
// of the other, and contributors go on sending the old one for a while. A
// supersession feed (CSV, header `old_nhs_number,new_nhs_number`) tells the
// index; from then on the old number means the new one everywhere: in
// matching (a record with either number carries the current one,
// PreparedRecord::nhs), in resolution by NHS number, in the NHS number index
// (nhs_index holds every record under its current number) and in
// objections (an objection under the old number holds for the new).
//
//   NhsSupersessions s;
//   EMPI_ASSIGN_OR_RETURN(bool added, s.Add(old_nhs, new_nhs));
//   uint64_t current = s.Current(old_nhs);  // new_nhs
//
// Thread-safety: const methods may be called concurrently; Add must not run
// concurrently with anything else.
#ifndef EMPI_LINKAGE_SUPERSESSION_H_
#define EMPI_LINKAGE_SUPERSESSION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/linkage/prepared_record.h"

namespace empi {
namespace index {
class Store;
}

class NhsSupersessions {
 public:
  // Records that `old_nhs` was replaced by `new_nhs`. Returns true when
  // added, false when already known (the old number's current number is
  // already the new one's: a feed applied twice). InvalidArgument, naming
  // the field, for a number superseding itself, a supersession that would
  // close a cycle, and an old number already superseded by another number.
  absl::StatusOr<bool> Add(uint64_t old_nhs, uint64_t new_nhs);

  // The number `nhs` stands for today: itself if never superseded, else the
  // end of its chain of supersessions.
  uint64_t Current(uint64_t nhs) const;

  // Puts the current number in p->nhs when it holds a checked NHS number.
  void Apply(PreparedRecord* p) const {
    if (p->nhs_validated && !next_.empty()) p->nhs = Current(p->nhs);
  }

  bool empty() const { return next_.empty(); }
  size_t size() const { return next_.size(); }

 private:
  absl::flat_hash_map<uint64_t, uint64_t> next_;  // old -> the number that replaced it
};

// Every supersession the store holds.
absl::StatusOr<NhsSupersessions> LoadSupersessions(const index::Store& store);

// One row of a supersession feed, or why it was refused before reaching
// the index.
struct SupersessionRow {
  uint64_t line = 0;
  uint64_t old_nhs = 0, new_nhs = 0;
  std::string refused;  // empty when the row is good
};

// Reads a supersession feed: header `old_nhs_number,new_nhs_number` (more
// columns may follow and are ignored), then one row per supersession. A row
// is refused on its own, with its reason naming the field, when it has
// fewer than two fields, holds a NUL byte or a number that is not a valid
// NHS number, or supersedes a number with itself. InvalidArgument, naming
// `file` and line 1, when the header is wrong.
absl::StatusOr<std::vector<SupersessionRow>> ParseSupersessionFeed(std::string_view text, std::string_view file);

}  // namespace empi

#endif  // EMPI_LINKAGE_SUPERSESSION_H_
