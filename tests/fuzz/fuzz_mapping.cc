// Copyright EMPI developers.
//
// fuzz_mapping.cc: the mapping JSON parser (ParseMapping). A mapping it
// accepts is then used to read a small fixed feed, so that settings the
// parser lets through (a delimiter, a name column) cannot break the reader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/feed/feed_reader.h"
#include "engine/feed/mapping.h"
#include "tests/fuzz/feed_invariants.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<empi::Mapping> mapping = empi::ParseMapping(json, "fuzz.json");
  if (!mapping.ok()) {
    FUZZ_CHECK(mapping.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  empi::FeedOptions options;
  options.mapping = &*mapping;
  const std::string d(1, mapping->delimiter);
  std::string feed = "rec_id" + d + "surname" + d + "given_name" + d + "name" + d + "date_of_birth" + d + "postcode" +
                     d + "id\n" + "a1" + d + "Smith" + d + "John" + d + "\"Smith, John\"" + d + "19800102" + d +
                     "CV1 2AB" + d + "7\n";
  empi::fuzz::CheckFeedResult(empi::ReadFeedText(std::move(feed), "fixed.csv", options));
  return 0;
}
