// Copyright EMPI developers.
//
// mapping.h: how to read a feed that is not in the canonical layout.
//
// A Mapping is loaded from a small JSON file (described field by field in
// docs/feeds.md) and handed to ReadFeed through FeedOptions::mapping. It
// renames columns, builds the name and address from several columns, states
// the date format and the conventions of the contributor's identifiers:
//
//   {
//     "source": "febrl",
//     "delimiter": ",", "trim": true, "date_format": "yyyymmdd",
//     "validate_nhs_number": false, "postcode_format": "raw",
//     "columns": {"record_id": "rec_id", "nhs_number": "soc_sec_id",
//                 "family_name": "surname", "given_names": "given_name"},
//     "address": ["street_number", "address_1", "address_2", "suburb", "state"],
//     "ignore": []
//   }
//
//   absl::StatusOr<empi::Mapping> m = empi::LoadMapping("febrl.json");
//
// Thread-safety: Mapping is a plain value type; the functions are pure.
#ifndef EMPI_FEED_MAPPING_H_
#define EMPI_FEED_MAPPING_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "matchers/date_of_birth.h"

namespace empi {

// How a feed's postcodes are to be read and compared.
enum class PostcodeFormat {
  kUk,   // validated and decomposed by ParsePostcode
  kRaw,  // not validated; compared as plain strings (non-UK postcodes)
};

// Per-feed conventions the linker needs to compare this feed's fields.
struct FieldConventions {
  // False when the nhs_number field holds some other identifier (FEBRL's
  // soc_sec_id): it is kept and compared exactly, never validated.
  // Default: true.
  bool validate_nhs_number = true;
  // Default: PostcodeFormat::kUk.
  PostcodeFormat postcode_format = PostcodeFormat::kUk;

  friend bool operator==(const FieldConventions&, const FieldConventions&) = default;
};

// How a single column holding the whole name is split.
enum class NameOrder {
  kGivenFirst,        // "John Paul Smith": last word is the family name
  kFamilyFirst,       // "Smith John Paul": first word is the family name
  kFamilyCommaGiven,  // "Smith, John Paul": family name before the comma
};

struct NameColumn {
  std::string column;
  NameOrder order = NameOrder::kGivenFirst;
};

struct Mapping {
  // Canonical field ("record_id", "nhs_number", ...) -> column name in the
  // file. Canonical fields not listed are looked up under their own name and
  // are empty when the file has no such column.
  std::vector<std::pair<std::string, std::string>> columns;
  // Constant source for every row, overridden by --source and by a non-empty
  // source column. Default: none.
  std::optional<std::string> source;
  // Default: detect per file.
  DateFormat date_format = DateFormat::kAuto;
  // Fills family_name and given_names from one column. Default: none.
  std::optional<NameColumn> name;
  // Columns joined by ", " (empty values skipped) into Record::address.
  // Default: none (the address column, if any, is used as is).
  std::vector<std::string> address;
  // Columns skipped without a warning.
  std::vector<std::string> ignore;
  // Strip spaces and tabs around every field. Default: true.
  bool trim = true;
  // Field separator. Default: ','.
  char delimiter = ',';
  FieldConventions conventions;
};

// The canonical feed's column names, in canonical order (source first).
// "restricted" is an optional extra known column and is not listed here.
const std::vector<std::string_view>& CanonicalColumns();

// Parses the JSON text of a mapping; `origin` names it in errors (a file
// name). Returns InvalidArgument naming the JSON path of the bad key
// ("$.columns.surnam: unknown canonical field") for malformed JSON, unknown
// keys, values of the wrong type or contradictory settings.
absl::StatusOr<Mapping> ParseMapping(std::string_view json, std::string_view origin);

// Reads `path` and parses it with ParseMapping. NotFound if it cannot be
// opened.
absl::StatusOr<Mapping> LoadMapping(const std::string& path);

}  // namespace empi

#endif  // EMPI_FEED_MAPPING_H_
