// Copyright EMPI developers.
//
// fhir.h: FHIR R4 resources to and from the engine's public types, for
// `empi serve`.
//
// Identifiers: the NHS number has system kNhsNumberSystem; a contributor's
// record id has system kSourceSystemPrefix followed by the contributor's
// code ("urn:empi:source:RKB"), and that code is the Record's source. A
// person is the Patient whose id is the person id; each of its records is
// an identifier and a `link` (type seealso) naming the record.
//
// Restricted patients (Record::restricted) come back with meta.security R
// and without address, telecom, general practitioner, or anything naming
// their GP practice: their GP-practice records are left out of identifier,
// link and the resolution's records, and the scope reason (which names the
// practice) is replaced by a fixed text. The engine's results carry no
// address or telecom at all.
//
// Errors name the field (a FHIRPath such as Patient.birthDate), never a value.
//
// Thread-safety: plain functions.
#ifndef EMPI_ENGINE_SERVER_FHIR_H_
#define EMPI_ENGINE_SERVER_FHIR_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "empi/engine.h"
#include "empi/record.h"
#include "nlohmann/json.hpp"

namespace empi::server {

inline constexpr std::string_view kNhsNumberSystem = "https://fhir.nhs.uk/Id/nhs-number";
inline constexpr std::string_view kSourceSystemPrefix = "urn:empi:source:";
inline constexpr std::string_view kOdsSystem = "https://fhir.nhs.uk/Id/ods-organization-code";
inline constexpr std::string_view kConfidentialitySystem = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
inline constexpr std::string_view kMatchGradeUrl = "http://hl7.org/fhir/StructureDefinition/match-grade";

// A Patient as ingest takes it. InvalidArgument naming the field when it is
// not a Patient, a field has the wrong type, or (need_source) no identifier
// has a source system.
absl::StatusOr<Record> PatientToRecord(const nlohmann::json& patient, bool need_source);

// A Patient for the person, redacted when restricted (see above).
nlohmann::json PersonPatient(const Resolution& r);

// The linked-record resolution as a Parameters resource: person, record
// (parts source, recordId, contributor) for each record, objection,
// objectionInReview, inScope, scopeReason, restricted, viewAllowed,
// viewReason.
nlohmann::json ResolutionParameters(const Resolution& r, const ViewDecision& view);

nlohmann::json IngestParameters(const IngestResult& r);

// One audit event as a FHIR R4 AuditEvent: id the event's sequence,
// `recorded` its time, `subtype` its action and `outcomeDesc` its outcome
// (`outcome` "0" for a success, "4" for a refusal); agent[0] the requester
// (its role, and its purpose of use as text), agent[1] the organisation by
// ODS code; `entity` the persons (Patient/{person}) and records (by source
// identifier) the event names. It holds no demographics, as the trail
// holds none.
nlohmann::json AuditEventResource(const AuditEvent& e);

// An OperationOutcome with one issue (severity error).
nlohmann::json OperationOutcome(const std::string& code, const std::string& diagnostics);

// The named parameter of a Parameters resource, or nullptr.
const nlohmann::json* FindParameter(const nlohmann::json& parameters, std::string_view name);

}  // namespace empi::server

#endif  // EMPI_ENGINE_SERVER_FHIR_H_
