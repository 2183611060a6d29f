// Copyright EMPI developers.
//
// fuzz_fhir_patient.cc: the request bodies `empi serve` turns into records:
// a Patient (POST /Patient, PUT /Patient/{id}) and the Parameters of
// POST /Patient/$match, parsed as the server parses them (nlohmann without
// exceptions, then PatientToRecord). A refusal is InvalidArgument; a record
// taken for ingest names its source and record id.
#include <cstddef>
#include <cstdint>

#include "engine/server/fhir.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_check.h"

namespace {

void Check(const nlohmann::json& resource, bool need_source) {
  absl::StatusOr<empi::Record> r = empi::server::PatientToRecord(resource, need_source);
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  if (need_source) FUZZ_CHECK(!r->source.empty() && !r->record_id.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json body = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  Check(body, /*need_source=*/true);
  Check(body, /*need_source=*/false);
  if (const nlohmann::json* p = empi::server::FindParameter(body, "resource");
      p != nullptr && p->is_object() && p->contains("resource")) {
    Check((*p)["resource"], /*need_source=*/false);
  }
  return 0;
}
