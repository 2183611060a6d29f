// Copyright EMPI developers.
//
// fuzz_fhir_patient.cc: the request bodies `empi serve` parses: a Patient
// (POST /Patient, PUT /Patient/{id}), the Parameters of POST
// /Patient/$match, and the Parameters of $resolve (asOfChange, asOfTime),
// the objection operations and the steward's operations, parsed as the
// server parses them (nlohmann without exceptions, then fhir.h). A refusal
// is InvalidArgument; a record taken for ingest names its source and record
// id; an as-of time is never before 1970.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/server/fhir.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_check.h"

namespace {

// A register that gives one contributor a system of its own.
const empi::server::IdentifierSystems& Systems() {
  static const empi::server::IdentifierSystems kSystems({{"RKB", "https://fhir.example.nhs.uk/Id/mrn"}});
  return kSystems;
}

void Check(const nlohmann::json& resource, bool need_source) {
  absl::StatusOr<empi::Record> r = empi::server::PatientToRecord(resource, need_source, Systems());
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  if (need_source) FUZZ_CHECK(!r->source.empty() && !r->record_id.empty());
}

// A parameter parser's refusal is InvalidArgument.
template <typename T>
void CheckParsed(const absl::StatusOr<T>& v) {
  FUZZ_CHECK(v.ok() || v.status().code() == absl::StatusCode::kInvalidArgument);
}

void CheckParameters(const nlohmann::json& body) {
  absl::StatusOr<std::optional<empi::AsOf>> as_of = empi::server::AsOfParameters(body);
  CheckParsed(as_of);
  if (as_of.ok() && as_of->has_value()) FUZZ_CHECK((*as_of)->time_us >= 0);
  CheckParsed(empi::server::ObjectionRequestOf(body));
  CheckParsed(empi::server::PersonParameter(body, "fromGoldenResourceId"));
  CheckParsed(empi::server::RecordParameters(body, "resourceId", Systems()));
  CheckParsed(empi::server::UnsignedParameter(body, "count"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json body = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  Check(body, /*need_source=*/true);
  Check(body, /*need_source=*/false);
  CheckParameters(body);
  if (const nlohmann::json* p = empi::server::FindParameter(body, "resource");
      p != nullptr && p->is_object() && p->contains("resource")) {
    Check((*p)["resource"], /*need_source=*/false);
  }
  return 0;
}
