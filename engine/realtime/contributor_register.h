// Copyright EMPI developers.
//
// contributor_register.h: which contributors are GP practices and of which
// area, for the care-record scope rule (aged 18 or over and registered with
// a GP practice of the region).
//
// A register file is CSV with header `source,kind,area` (or
// `source,kind,area,system`) or a JSON array of {"source": "M84001", "kind":
// "gp", "area": "CW", "system": "..."}. `system`, optional, is the FHIR
// identifier system of the contributor's own record ids
// ("https://fhir.uhcw.nhs.uk/Id/mrn"): `empi serve` takes a Patient
// identifier with that system as a record of that contributor, and writes
// the contributor's record ids with it. Without a file, a source code of one
// letter and five digits (M84001) is a GP practice whose area is its first
// three characters, and known trust codes get their kind.
//
//   EMPI_ASSIGN_OR_RETURN(ContributorRegister reg, ContributorRegister::Load("", {}));
//   bool in_region = reg.IsRegionGp("M84001");  // true: M84 is Coventry
//
// Thread-safety: immutable once loaded.
#ifndef EMPI_REALTIME_CONTRIBUTOR_REGISTER_H_
#define EMPI_REALTIME_CONTRIBUTOR_REGISTER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "empi/results.h"

namespace empi {

// Coventry & Warwickshire GP practice code prefixes: the default region.
inline const std::vector<std::string>& DefaultRegionPrefixes() {
  static const std::vector<std::string> kPrefixes = {"M84", "M86"};
  return kPrefixes;
}

class ContributorRegister {
 public:
  // Loads `path` (empty: the built-in default). `region` lists the areas
  // (register file) or code prefixes (default) of the region; empty means
  // {"CW"} for a file and DefaultRegionPrefixes() otherwise. Returns
  // NotFound for a missing file, InvalidArgument naming file and line (or
  // entry) for a malformed one: a system that is not an absolute URI, is
  // one EMPI reserves (urn:empi:source:..., the NHS number's or the ODS
  // code's), or is given to two contributors.
  static absl::StatusOr<ContributorRegister> Load(const std::string& path, const std::vector<std::string>& region);

  // Parses the text of a register file, as Load does after reading it;
  // `path` names it in errors.
  static absl::StatusOr<ContributorRegister> Parse(const std::string& text, const std::string& path,
                                                   const std::vector<std::string>& region);

  // "gp", "acute", "mental-health", "ambulance", "social-care" or "other".
  std::string Kind(const std::string& source) const;
  // A GP practice of the region.
  bool IsRegionGp(const std::string& source) const;
  // The contributors the file gives a system, by source code.
  std::vector<ContributorSystem> Systems() const;

 private:
  struct Entry {
    std::string kind, area, system;
  };
  // Adds an entry, checking its system; `where` names it in errors
  // ("reg.csv: line 3").
  absl::Status Add(const std::string& source, Entry entry, const std::string& where);
  bool from_file_ = false;
  absl::flat_hash_map<std::string, Entry> entries_;
  std::vector<std::string> region_;
};

}  // namespace empi

#endif  // EMPI_REALTIME_CONTRIBUTOR_REGISTER_H_
