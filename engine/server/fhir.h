// Copyright EMPI developers.
//
// fhir.h: FHIR R4 resources to and from the engine's public types, for
// `empi serve`.
//
// Identifiers: the NHS number has system kNhsNumberSystem; a contributor's
// record id has system kSourceSystemPrefix followed by the contributor's
// code ("urn:empi:source:RKB"), or the system the contributor register
// gives that contributor (IdentifierSystems), and that code is the Record's
// source. Answers write a record's identifier with its registered system
// when it has one. A person is the Patient whose id is the person id; each
// of its records is an identifier and a `link` (type seealso) naming the
// record.
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

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "empi/engine.h"
#include "empi/record.h"
#include "nlohmann/json.hpp"

namespace empi::server {

inline constexpr std::string_view kNhsNumberSystem = "https://fhir.nhs.uk/Id/nhs-number";
inline constexpr std::string_view kSourceSystemPrefix = "urn:empi:source:";
inline constexpr std::string_view kOdsSystem = "https://fhir.nhs.uk/Id/ods-organization-code";
// AuditEvent entity types for the request's X-Request-ID (IHE Basic Audit
// Log Patterns) and X-Correlation-ID (EMPI's own).
inline constexpr std::string_view kBalpEntityType = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
inline constexpr std::string_view kEmpiEntityType = "urn:empi:audit-entity-type";
inline constexpr std::string_view kConfidentialitySystem = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
inline constexpr std::string_view kMatchGradeUrl = "http://hl7.org/fhir/StructureDefinition/match-grade";

// The identifier systems of contributors' record ids: kSourceSystemPrefix
// followed by the code for every contributor, and the system the
// contributor register gives one (Engine::ContributorSystems).
class IdentifierSystems {
 public:
  IdentifierSystems() = default;
  explicit IdentifierSystems(const std::vector<ContributorSystem>& registered);
  // The contributor whose record ids `system` identifies; nullopt when it
  // is not a contributor's system.
  std::optional<std::string> SourceOf(std::string_view system) const;
  // The system answers write for `source`'s records: its registered one,
  // else kSourceSystemPrefix followed by the code.
  std::string SystemOf(const std::string& source) const;
  // A record as an identifier {system: SystemOf(source), value: record id}.
  nlohmann::json Identifier(const RecordRef& r) const;
  // The systems accepted for a record, for an error message.
  static constexpr const char* kExpected =
      "urn:empi:source:<code>, or a contributor's system in the contributor register";

 private:
  absl::flat_hash_map<std::string, std::string> source_of_system_, system_of_source_;
};

// A Patient as ingest takes it. InvalidArgument naming the field when it is
// not a Patient, a field has the wrong type, or (need_source) no identifier
// has a contributor's system.
absl::StatusOr<Record> PatientToRecord(const nlohmann::json& patient, bool need_source,
                                       const IdentifierSystems& systems);

// A Patient for the person, redacted when restricted (see above).
nlohmann::json PersonPatient(const Resolution& r, const IdentifierSystems& systems);

// The linked-record resolution as a Parameters resource: person, record
// (parts source, recordId, contributor) for each record, objection,
// objectionInReview, inScope, scopeReason, restricted, viewAllowed,
// viewReason.
nlohmann::json ResolutionParameters(const Resolution& r, const ViewDecision& view);
// The same, as ResolutionParameters(r, view).dump() writes it, without the
// tree: $resolve is the service's hottest answer (docs/benchmarks.md).
std::string ResolutionParametersText(const Resolution& r, const ViewDecision& view);

nlohmann::json IngestParameters(const IngestResult& r);

// One audit event as a FHIR R4 AuditEvent: id the event's sequence,
// `recorded` its time, `subtype` its action and `outcomeDesc` its outcome
// (`outcome` "0" for a success, "4" for a refusal); agent[0] the requester
// (its role, and its purpose of use as text), agent[1] the organisation by
// ODS code; `entity` the persons (Patient/{person}) and records (by source
// identifier) the event names. It holds no demographics, as the trail
// holds none.
nlohmann::json AuditEventResource(const AuditEvent& e, const IdentifierSystems& systems);

// An OperationOutcome with one issue (severity error).
nlohmann::json OperationOutcome(const std::string& code, const std::string& diagnostics);

// The named parameter of a Parameters resource, or nullptr.
const nlohmann::json* FindParameter(const nlohmann::json& parameters, std::string_view name);
// Every parameter of that name, in order.
std::vector<const nlohmann::json*> FindParameters(const nlohmann::json& parameters, std::string_view name);

// Reading the operations' Parameters. Each error is InvalidArgument naming
// the parameter ("Parameters.parameter[toGoldenResourceId]: ..."); one for
// a required parameter that is missing ends in ": required".
//
// *out = the parameter's value of the first of `types` it has ("valueString",
// "valueCode", ...); `out` unchanged when the parameter is absent.
absl::Status StringParameter(const nlohmann::json& parameters, std::string_view name,
                             std::initializer_list<std::string_view> types, std::string* out);
// A whole number (valueUnsignedInt, valuePositiveInt or valueInteger, >= 1);
// required.
absl::StatusOr<uint64_t> UnsignedParameter(const nlohmann::json& parameters, std::string_view name);
// A person: valueString "Patient/{person}" (or the bare id), or
// valueReference {"reference": "Patient/{person}"}; required.
absl::StatusOr<uint64_t> PersonParameter(const nlohmann::json& parameters, std::string_view name);
// The optional as-of parameters of $resolve: `asOfChange` (valueString or
// valueUnsignedInt, a change sequence) and `asOfTime` (valueInstant);
// nullopt when neither is given.
absl::StatusOr<std::optional<AsOf>> AsOfParameters(const nlohmann::json& parameters);
// Records: every parameter `name`, each a valueIdentifier with a
// contributor's system and the record id as value; at least one.
absl::StatusOr<std::vector<RecordRef>> RecordParameters(const nlohmann::json& parameters, std::string_view name,
                                                        const IdentifierSystems& systems);
// An objection form: nhsNumber (valueIdentifier with kNhsNumberSystem, or
// valueString), or family, given (each given name one parameter, or one
// space-separated valueString), birthDate (valueDate) and postalCode; method
// (valueCode form, phone, letter, online or steward; default form) and
// reference (valueString).
absl::StatusOr<ObjectionRequest> ObjectionRequestOf(const nlohmann::json& parameters);

// Operation results as Parameters resources (docs/service.md shows each).
nlohmann::json ObjectionParameters(const ObjectionResult& r);
// HAPI FHIR MDM's $mdm-query-links answer: a `link` per review pair, and
// `next` (the next page's relative URL) when not empty.
nlohmann::json ReviewQueueParameters(std::span<const ReviewQueueEntry> pairs, const std::string& next,
                                     const IdentifierSystems& systems);
// $mdm-query-links: `links` (each from ReviewLink, MatchLink or
// NoMatchLinkJson) and `next` when not empty.
nlohmann::json LinksParameters(nlohmann::json links, const std::string& next);
// A review pair as HAPI's POSSIBLE_MATCH link.
nlohmann::json ReviewLink(const ReviewQueueEntry& e, const IdentifierSystems& systems);
// A record's MATCH link to its person, linkSource MANUAL when a steward put
// it there, AUTO when the engine did.
nlohmann::json MatchLink(const PersonLink& l, const IdentifierSystems& systems);
// A never-link mark as HAPI's NO_MATCH link: the record is not the person
// holding `other` (goldenResourceId); linkSource MANUAL.
nlohmann::json NoMatchLinkJson(const NoMatchLink& l, const IdentifierSystems& systems);
// The administrator's $empi-overview answer: `model` (version, origin,
// trusted, and what it was estimated on), `records`, `lastChange`,
// `writable` (with `writeFailure` when not), and `nextModelEstimateAt` when
// ingest will estimate again.
nlohmann::json OverviewParameters(const EngineOverview& o);
// "Patient/{person}" or the bare id; 0 when it is neither.
uint64_t PersonIdOf(std::string text);
// A record as a FHIR token, `<a contributor's system>|<record id>`; nullopt
// when it is not one.
std::optional<RecordRef> RecordOfToken(std::string_view token, const IdentifierSystems& systems);
// `text` percent-encoded for a URL's query (RFC 3986 unreserved, ':' and
// '/' kept).
std::string QueryEscape(std::string_view text);
// An `event` per history entry: sequence, action, time, by, organisation,
// role, reason, from and into persons, records.
nlohmann::json HistoryParameters(const std::vector<HistoryEntry>& history, const IdentifierSystems& systems);
// Parameters of references to persons: Patient/{person} for each (name, person).
nlohmann::json PersonsParameters(const std::vector<std::pair<std::string_view, uint64_t>>& persons);
// $mdm-merge-golden-resources' answer: goldenResource (the survivor),
// mergedResource, and mergeEvent (the history sequence $empi-unmerge takes).
nlohmann::json MergeParameters(uint64_t into, uint64_t from, uint64_t merge_event);

// An endpoint of the service, as the CapabilityStatement describes it.
struct Endpoint {
  std::string method;              // "GET", "POST", "PUT"
  std::string route;               // "/Patient/$match", "/Patient/{person}", "/$mdm-query-links"
  std::vector<std::string> roles;  // any one of them may call it
};
// GET /metadata's CapabilityStatement (FHIR R4, kind instance) for
// `endpoints`: Patient read, create and update, AuditEvent search by
// patient, and each `$operation` on Patient or the system, its roles in
// its documentation. Operations defined by FHIR point at their
// OperationDefinition; EMPI's own and the MDM-style ones at
// urn:empi:OperationDefinition/<name>.
nlohmann::json CapabilityStatement(const std::vector<Endpoint>& endpoints, const std::string& date);

// One change of the change feed, as GET /changes and `empi changes` give
// it: {"sequence", "time", "kind", "persons", "records": [{"source",
// "record_id"}]}.
nlohmann::json ChangeEventJson(const ChangeEvent& e);

}  // namespace empi::server

#endif  // EMPI_ENGINE_SERVER_FHIR_H_
