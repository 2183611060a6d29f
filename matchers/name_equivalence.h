// Copyright EMPI developers.
//
// name_equivalence.h: given names that stand for the same name.
//
// Nicknames and transliteration variants (William/Bill/Will/Billy,
// Margaret/Peggy/Maggie/Meg, Mohammed/Muhammad/Mohamed, Aleksander/
// Alexander, ...) from datasets/names/given_name_equivalents.csv, which is
// embedded in the binary at build time. Each line of that file is one group
// of normalised names; a name may belong to several groups (Alex is in both
// Alexander's and Alexandra's).
//
//   const auto& eq = empi::NameEquivalence::Default();
//   eq.Equivalent("bill", "william");  // true
//   eq.MisspeltEquivalent("wiliam", "bill");  // true: a slip of "william"
//
// Thread-safety: immutable after construction; Default() is thread-safe.
#ifndef EMPI_MATCHERS_NAME_EQUIVALENCE_H_
#define EMPI_MATCHERS_NAME_EQUIVALENCE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace empi {

class NameEquivalence {
 public:
  // Parses the CSV text described above.
  static absl::StatusOr<NameEquivalence> Parse(std::string_view csv);
  // The shipped table.
  static const NameEquivalence& Default();

  // True when a and b (normalised tokens) share a group or are equal.
  bool Equivalent(std::string_view a, std::string_view b) const;
  // Group ids of a name, empty if none.
  const std::vector<uint32_t>& GroupsOf(std::string_view name) const;
  // The smallest group id of the name, or 0 when it has no group (ids start
  // at 1): a cheap canonical key for blocking.
  uint32_t CanonicalGroup(std::string_view name) const;
  // True when one of a and b is not in the table and is one keying slip
  // (a letter replaced, added, dropped, or two adjacent letters swapped)
  // from a name equivalent to the other ("haroold" and "harry", by
  // "harold"). A name the table knows is a name, never a misspelling
  // ("mark" is not "mary" mistyped, so not "molly"). The misspelt name and
  // the equivalent it is a slip of are at least kMinSlipLength letters:
  // short names are a slip apart from too many others. The other name may
  // be short ("robetr" and "bob", by "robert").
  bool MisspeltEquivalent(std::string_view a, std::string_view b) const;
  // True when a and b are one keying slip apart and at least one of them is
  // not in the table (so not two names), both at least kMinSlipLength
  // letters.
  bool Misspelt(std::string_view a, std::string_view b) const;

  // True when the table holds the name.
  bool Known(std::string_view name) const { return !GroupsOf(name).empty(); }

  static constexpr size_t kMinSlipLength = 4;

 private:
  // `misspelt` (not in the table) is a slip from a name in `name`'s groups.
  bool SlipOfEquivalent(std::string_view misspelt, std::string_view name) const;

  absl::flat_hash_map<std::string, std::vector<uint32_t>> groups_;
  // The names of each group, by group id (index 0 unused).
  std::vector<std::vector<std::string>> members_;
};

}  // namespace empi

#endif  // EMPI_MATCHERS_NAME_EQUIVALENCE_H_
