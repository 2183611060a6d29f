// Copyright EMPI developers.
//
// fuzz_contributor_register.cc: the contributor register file, CSV or JSON
// (ContributorRegister::Parse), then the two questions asked of it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/realtime/contributor_register.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<empi::ContributorRegister> reg = empi::ContributorRegister::Parse(text, "fuzz.csv", {});
  if (!reg.ok()) {
    FUZZ_CHECK(reg.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  for (const char* source : {"M84001", "RKB", "", "X-SC"}) {
    const std::string kind = reg->Kind(source);
    if (reg->IsRegionGp(source)) FUZZ_CHECK(kind == "gp");
  }
  return 0;
}
