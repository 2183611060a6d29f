// Copyright EMPI developers.
//
// fuzz_feed_mapped.cc: the feed reader through a Mapping. The first byte
// picks one of a few mappings covering every mapping feature (renamed
// columns, a whole-name column in each order, an address built from
// columns, another delimiter, no trimming, each date format, raw
// identifiers); the rest is the file. The mapping JSON itself is tried by
// fuzz_mapping.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/feed/feed_reader.h"
#include "engine/feed/mapping.h"
#include "tests/fuzz/feed_invariants.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const std::vector<empi::Mapping>& Mappings() {
  static const std::vector<empi::Mapping> kMappings = [] {
    const char* kJson[] = {
        R"({"source": "febrl", "delimiter": ",", "trim": true, "date_format": "yyyymmdd",
            "validate_nhs_number": false, "postcode_format": "raw",
            "columns": {"record_id": "rec_id", "nhs_number": "soc_sec_id",
                        "family_name": "surname", "given_names": "given_name",
                        "date_of_birth": "date_of_birth", "postcode": "postcode"},
            "address": ["street_number", "address_1", "address_2", "suburb", "state"],
            "ignore": ["age"]})",
        R"({"source": "GP1", "delimiter": ";", "trim": false, "date_format": "dd/mm/yyyy",
            "columns": {"record_id": "id", "nhs_number": "nhs", "date_of_birth": "dob",
                        "postcode": "pc"},
            "name": {"column": "patient", "order": "family_comma_given"}})",
        R"({"delimiter": "|", "date_format": "iso",
            "columns": {"record_id": "id", "source": "org"},
            "name": {"column": "name", "order": "given_first"},
            "address": ["line1", "line2"]})",
        R"({"source": "X", "delimiter": "\t",
            "columns": {"record_id": "ref"},
            "name": {"column": "full_name", "order": "family_first"}})",
    };
    std::vector<empi::Mapping> out;
    for (const char* json : kJson) {
      absl::StatusOr<empi::Mapping> m = empi::ParseMapping(json, "fuzz-mapping.json");
      if (!m.ok()) {
        std::fprintf(stderr, "built-in mapping does not parse: %s\n", std::string(m.status().message()).c_str());
        std::abort();
      }
      out.push_back(*std::move(m));
    }
    return out;
  }();
  return kMappings;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& mappings = Mappings();
  empi::FeedOptions options;
  options.mapping = &mappings[data[0] % mappings.size()];
  if ((data[0] >> 4) & 1) options.source = "RKB";
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  empi::fuzz::CheckFeedResult(empi::ReadFeedText(std::move(text), "fuzz.csv", options));
  return 0;
}
