// Copyright EMPI developers.
//
// fuzz_feed_canonical.cc: the feed reader on the canonical layout. The
// first byte picks the options (a --source or none, the date format); the
// rest is the file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/feed/feed_reader.h"
#include "tests/fuzz/feed_invariants.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  empi::FeedOptions options;
  const uint8_t pick = data[0];
  if (pick & 1) options.source = (pick & 2) ? "RKB" : "";
  options.date_format = static_cast<empi::DateFormat>((pick >> 2) % 4);
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  empi::fuzz::CheckFeedResult(empi::ReadFeedText(std::move(text), "fuzz.csv", options));
  return 0;
}
