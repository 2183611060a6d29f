// Copyright EMPI developers.
//
// fuzz_supersession.cc: the supersession feed of `empi supersede`
// (ParseSupersessionFeed), each good row then added to an NhsSupersessions
// as Engine::Supersede adds them. Rows come in order, a good row holds two
// different numbers, and after any sequence of additions every number's
// chain ends (no cycle), Current is idempotent, and an added pair has one
// current number.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/linkage/supersession.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<empi::SupersessionRow>> rows = empi::ParseSupersessionFeed(text, "fuzz.csv");
  if (!rows.ok()) {
    FUZZ_CHECK(rows.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  empi::NhsSupersessions s;
  uint64_t last = 1;
  for (const empi::SupersessionRow& row : *rows) {
    FUZZ_CHECK(row.line > last);
    last = row.line;
    if (!row.refused.empty()) continue;
    FUZZ_CHECK(row.old_nhs != row.new_nhs);
    absl::StatusOr<bool> added = s.Add(row.old_nhs, row.new_nhs);
    if (!added.ok()) {
      FUZZ_CHECK(added.status().code() == absl::StatusCode::kInvalidArgument);
      continue;
    }
    FUZZ_CHECK(s.Current(row.old_nhs) == s.Current(row.new_nhs));
  }
  for (const empi::SupersessionRow& row : *rows) {
    for (uint64_t n : {row.old_nhs, row.new_nhs}) {
      const uint64_t c = s.Current(n);
      FUZZ_CHECK(s.Current(c) == c);
    }
  }
  return 0;
}
