// Copyright EMPI developers.
//
// fuzz_model.cc: model JSON import, as `empi model import` and LoadModel
// read it (nlohmann parse without exceptions, then Model::FromJson). A model
// that imports must export and import again to the same JSON.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/linkage/model.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  absl::StatusOr<empi::Model> model = empi::Model::FromJson(j);
  if (!model.ok()) {
    FUZZ_CHECK(model.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const std::string once = model->ToJson().dump();
  absl::StatusOr<empi::Model> again = empi::Model::FromJson(nlohmann::json::parse(once));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->ToJson().dump() == once);
  return 0;
}
