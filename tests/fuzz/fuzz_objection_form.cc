// Copyright EMPI developers.
//
// fuzz_objection_form.cc: the objection form file of `empi object --file`
// (ParseObjectionForm). Every row is either refused with a reason or holds
// the five fields.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/realtime/objection_form.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<empi::ObjectionFormRow>> rows =
      empi::ParseObjectionForm(text, "fuzz.csv", empi::ObjectionMethod::kForm, "");
  if (!rows.ok()) {
    FUZZ_CHECK(rows.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  uint64_t last = 1;
  for (const empi::ObjectionFormRow& row : *rows) {
    FUZZ_CHECK(row.line > last);
    last = row.line;
    if (row.refused.empty()) {
      FUZZ_CHECK(row.request.reference == "fuzz.csv:" + std::to_string(row.line));
      FUZZ_CHECK(row.request.nhs_number.find('\0') == std::string::npos);
    }
  }
  return 0;
}
