// Copyright EMPI developers.
#include "engine/server/fhir.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace empi::server {
namespace {

using nlohmann::json;

absl::Status Bad(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// *out = j[key] when it is a string; an error naming `path` when present
// and not a string.
absl::Status GetString(const json& j, const char* key, const std::string& path, std::string* out) {
  if (!j.is_object() || !j.contains(key)) return absl::OkStatus();
  if (!j[key].is_string()) return Bad(path, "must be a string");
  *out = j[key].get<std::string>();
  return absl::OkStatus();
}

absl::Status GetStringList(const json& j, const char* key, const std::string& path, std::string* joined,
                           const std::string& sep) {
  if (!j.contains(key)) return absl::OkStatus();
  if (!j[key].is_array()) return Bad(path, "must be an array of strings");
  std::vector<std::string> parts;
  for (size_t i = 0; i < j[key].size(); ++i) {
    if (!j[key][i].is_string()) return Bad(path + "[" + std::to_string(i) + "]", "must be a string");
    parts.push_back(j[key][i].get<std::string>());
  }
  *joined = absl::StrJoin(parts, sep);
  return absl::OkStatus();
}

json RecordIdentifier(const LinkedRecord& l) {
  return {{"system", std::string(kSourceSystemPrefix) + l.source}, {"value", l.record_id}};
}

// The records a response may name: all, or for a restricted patient all
// but their GP practice's.
std::vector<const LinkedRecord*> ShownRecords(const Resolution& r) {
  std::vector<const LinkedRecord*> out;
  for (const LinkedRecord& l : r.records) {
    if (r.restricted && l.contributor == "gp") continue;
    out.push_back(&l);
  }
  return out;
}

json Param(std::string_view name, const char* type, json value) {
  return {{"name", name}, {type, std::move(value)}};
}

}  // namespace

absl::StatusOr<Record> PatientToRecord(const json& p, bool need_source) {
  if (!p.is_object() || !p.contains("resourceType") || p["resourceType"] != "Patient") {
    return Bad("resourceType", "must be Patient");
  }
  Record r;
  if (p.contains("identifier")) {
    if (!p["identifier"].is_array()) return Bad("Patient.identifier", "must be an array");
    for (size_t i = 0; i < p["identifier"].size(); ++i) {
      const json& id = p["identifier"][i];
      const std::string path = absl::StrCat("Patient.identifier[", i, "]");
      if (!id.is_object()) return Bad(path, "must be an object");
      std::string system, value;
      if (absl::Status s = GetString(id, "system", path + ".system", &system); !s.ok()) return s;
      if (absl::Status s = GetString(id, "value", path + ".value", &value); !s.ok()) return s;
      if (system == kNhsNumberSystem) {
        r.nhs_number = value;
      } else if (system.starts_with(kSourceSystemPrefix) && r.source.empty()) {
        r.source = system.substr(kSourceSystemPrefix.size());
        r.record_id = value;
        if (r.source.empty() || r.record_id.empty()) return Bad(path, "source system and value must not be empty");
      }
    }
  }
  if (need_source && r.source.empty()) {
    return Bad("Patient.identifier", "no identifier with a source system (" + std::string(kSourceSystemPrefix) + "<code>)");
  }
  if (p.contains("name")) {
    if (!p["name"].is_array()) return Bad("Patient.name", "must be an array");
    if (!p["name"].empty()) {
      const json& n = p["name"][0];
      if (!n.is_object()) return Bad("Patient.name[0]", "must be an object");
      if (absl::Status s = GetString(n, "family", "Patient.name[0].family", &r.family_name); !s.ok()) return s;
      if (absl::Status s = GetStringList(n, "given", "Patient.name[0].given", &r.given_names, " "); !s.ok()) return s;
    }
  }
  if (absl::Status s = GetString(p, "birthDate", "Patient.birthDate", &r.date_of_birth); !s.ok()) return s;
  if (absl::Status s = GetString(p, "gender", "Patient.gender", &r.sex); !s.ok()) return s;
  if (p.contains("address")) {
    if (!p["address"].is_array()) return Bad("Patient.address", "must be an array");
    if (!p["address"].empty()) {
      const json& a = p["address"][0];
      if (!a.is_object()) return Bad("Patient.address[0]", "must be an object");
      if (absl::Status s = GetString(a, "postalCode", "Patient.address[0].postalCode", &r.postcode); !s.ok()) return s;
      if (absl::Status s = GetStringList(a, "line", "Patient.address[0].line", &r.address, ", "); !s.ok()) return s;
    }
  }
  if (p.contains("meta") && p["meta"].is_object() && p["meta"].contains("security")) {
    const json& sec = p["meta"]["security"];
    if (!sec.is_array()) return Bad("Patient.meta.security", "must be an array");
    for (const json& c : sec) {
      if (c.is_object() && c.contains("code") && c["code"] == "R") r.restricted = true;
    }
  }
  return r;
}

json PersonPatient(const Resolution& r) {
  json p = {{"resourceType", "Patient"}, {"id", std::to_string(r.person_id)}, {"active", true}};
  if (r.restricted) {
    p["meta"] = {{"security", json::array({{{"system", kConfidentialitySystem}, {"code", "R"}, {"display", "restricted"}}})}};
  }
  json identifiers = json::array(), links = json::array(), gps = json::array();
  for (const LinkedRecord* l : ShownRecords(r)) {
    identifiers.push_back(RecordIdentifier(*l));
    links.push_back({{"other", {{"type", "Patient"}, {"identifier", RecordIdentifier(*l)}}}, {"type", "seealso"}});
    if (l->contributor == "gp") {
      gps.push_back({{"type", "Organization"}, {"identifier", {{"system", kOdsSystem}, {"value", l->source}}}});
    }
  }
  p["identifier"] = std::move(identifiers);
  if (!links.empty()) p["link"] = std::move(links);
  if (!gps.empty()) p["generalPractitioner"] = std::move(gps);
  return p;
}

json ResolutionParameters(const Resolution& r, const ViewDecision& view) {
  json params = json::array();
  params.push_back(Param("person", "valueReference", {{"reference", absl::StrCat("Patient/", r.person_id)}}));
  for (const LinkedRecord* l : ShownRecords(r)) {
    params.push_back({{"name", "record"},
                      {"part", json::array({Param("source", "valueString", l->source),
                                            Param("recordId", "valueString", l->record_id),
                                            Param("contributor", "valueCode", l->contributor)})}});
  }
  params.push_back(Param("objection", "valueBoolean", r.objection));
  params.push_back(Param("objectionInReview", "valueBoolean", r.objection_in_review));
  params.push_back(Param("inScope", "valueBoolean", r.in_scope));
  const std::string scope = r.restricted ? (r.in_scope ? "in scope (reason withheld: restricted patient)"
                                                       : "out of scope (reason withheld: restricted patient)")
                                         : r.scope_reason;
  params.push_back(Param("scopeReason", "valueString", scope));
  params.push_back(Param("restricted", "valueBoolean", r.restricted));
  params.push_back(Param("viewAllowed", "valueBoolean", view.allowed));
  std::string view_reason = view.reason;
  if (r.restricted && view_reason.starts_with("out of scope")) view_reason = "out of scope (reason withheld: restricted patient)";
  params.push_back(Param("viewReason", "valueString", view_reason));
  return {{"resourceType", "Parameters"}, {"parameter", std::move(params)}};
}

json IngestParameters(const IngestResult& r) {
  std::string outcome(IngestOutcomeName(r.outcome));
  std::replace(outcome.begin(), outcome.end(), ' ', '-');  // a code: "new-person"
  json params = json::array({Param("outcome", "valueCode", outcome),
                             Param("person", "valueReference", {{"reference", absl::StrCat("Patient/", r.person_id)}}),
                             Param("matchProbability", "valueDecimal", r.match_probability)});
  if (!r.reason.empty()) params.push_back(Param("reason", "valueString", r.reason));
  params.push_back(Param("objectionApplied", "valueBoolean", r.objection_applied));
  return {{"resourceType", "Parameters"}, {"parameter", std::move(params)}};
}

json AuditEventResource(const AuditEvent& e) {
  const absl::Time t = absl::FromUnixMicros(e.time_us);
  const bool refused = e.outcome.starts_with("denied") || e.outcome.starts_with("refused");
  json entity = json::array();
  for (uint64_t p : e.persons) entity.push_back({{"what", {{"reference", absl::StrCat("Patient/", p)}}}});
  for (const RecordRef& r : e.records) {
    entity.push_back({{"what", {{"identifier", {{"system", std::string(kSourceSystemPrefix) + r.source},
                                                {"value", r.record_id}}}}}});
  }
  return {{"resourceType", "AuditEvent"},
          {"id", std::to_string(e.sequence)},
          {"type", {{"system", "http://terminology.hl7.org/CodeSystem/audit-event-type"}, {"code", "rest"}}},
          {"subtype", json::array({{{"system", "urn:empi:audit-action"}, {"code", e.action}}})},
          {"recorded", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone())},
          {"outcome", refused ? "4" : "0"},
          {"outcomeDesc", e.outcome},
          {"agent", json::array({{{"who", {{"identifier", {{"value", e.requester}}}}},
                                  {"requestor", true},
                                  {"role", json::array({{{"text", e.role}}})},
                                  {"purposeOfUse", json::array({{{"text", e.purpose}}})}},
                                 {{"who", {{"identifier", {{"system", kOdsSystem}, {"value", e.organisation}}}}},
                                  {"requestor", false}}})},
          {"source", {{"observer", {{"display", "EMPI"}}}}},
          {"entity", entity}};
}

json OperationOutcome(const std::string& code, const std::string& diagnostics) {
  return {{"resourceType", "OperationOutcome"},
          {"issue", json::array({{{"severity", "error"}, {"code", code}, {"diagnostics", diagnostics}}})}};
}

const json* FindParameter(const json& parameters, std::string_view name) {
  if (!parameters.is_object() || !parameters.contains("parameter") || !parameters["parameter"].is_array()) {
    return nullptr;
  }
  for (const json& p : parameters["parameter"]) {
    if (p.is_object() && p.contains("name") && p["name"] == name) return &p;
  }
  return nullptr;
}

}  // namespace empi::server
