// Copyright EMPI developers.
#include "engine/server/fhir.h"

#include <algorithm>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "matchers/date_of_birth.h"

namespace empi::server {
namespace {

using nlohmann::json;

absl::Status Bad(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A FHIR `date`. A partial one (a year, a month) is kept as given; matching
// compares full dates only (an estimated date of birth stays unknown).
bool IsFhirDate(std::string_view d) {
  if (d.size() == 10) return ParseDate(d, DateFormat::kIso).has_value();
  if (d.size() == 4) return AllDigits(d);
  if (d.size() != 7 || d[4] != '-' || !AllDigits(d.substr(0, 4)) || !AllDigits(d.substr(5))) return false;
  const int month = (d[5] - '0') * 10 + (d[6] - '0');
  return month >= 1 && month <= 12;
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

json PersonRef(uint64_t person) { return {{"reference", absl::StrCat("Patient/", person)}}; }

json RecordIdentifier(const LinkedRecord& l, const IdentifierSystems& systems) {
  return systems.Identifier(RecordRef{l.source, l.record_id});
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

// Unix microseconds as a FHIR instant, UTC.
std::string Instant(int64_t us) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(us), absl::UTCTimeZone());
}

// Built member by member: an initializer list copies every value.
json Param(std::string_view name, const char* type, json value) {
  json p = json::object();
  p.emplace("name", name);
  p.emplace(type, std::move(value));
  return p;
}

std::string ParamPath(std::string_view name) { return absl::StrCat("Parameters.parameter[", std::string(name), "]"); }

absl::StatusOr<ObjectionMethod> MethodOf(const std::string& code) {
  static constexpr std::pair<std::string_view, ObjectionMethod> kMethods[] = {{"form", ObjectionMethod::kForm},
                                                                              {"phone", ObjectionMethod::kPhone},
                                                                              {"letter", ObjectionMethod::kLetter},
                                                                              {"online", ObjectionMethod::kOnline},
                                                                              {"steward", ObjectionMethod::kSteward}};
  for (const auto& [name, method] : kMethods) {
    if (code == name) return method;
  }
  return Bad(ParamPath("method"), "must be a valueCode: form, phone, letter, online or steward");
}

// The parts of one history event (its stored JSON); only the fields
// named here are shown.
json HistoryEventParts(const HistoryEntry& e, const IdentifierSystems& systems) {
  json parts = json::array({Param("sequence", "valueUnsignedInt", e.sequence)});
  const json h = json::parse(e.json, nullptr, false);
  if (!h.is_object()) return parts;
  if (h.contains("event") && h["event"].is_string()) parts.push_back(Param("action", "valueCode", h["event"]));
  if (h.contains("time_us") && h["time_us"].is_number_integer()) {
    parts.push_back(Param("time", "valueInstant", Instant(h["time_us"].get<int64_t>())));
  }
  for (const char* key : {"by", "organisation", "role", "reason"}) {
    if (h.contains(key) && h[key].is_string()) parts.push_back(Param(key, "valueString", h[key]));
  }
  for (const char* key : {"from", "into"}) {
    if (h.contains(key) && h[key].is_number_unsigned()) {
      parts.push_back(Param(key, "valueReference", PersonRef(h[key].get<uint64_t>())));
    }
  }
  if (h.contains("records") && h["records"].is_array()) {
    for (const json& r : h["records"]) {
      if (!r.is_object() || !r.contains("source") || !r.contains("record_id")) continue;
      parts.push_back(
          Param("record", "valueIdentifier",
                systems.Identifier(RecordRef{r["source"].get<std::string>(), r["record_id"].get<std::string>()})));
    }
  }
  return parts;
}

}  // namespace

IdentifierSystems::IdentifierSystems(const std::vector<ContributorSystem>& registered) {
  for (const ContributorSystem& c : registered) {
    source_of_system_[c.system] = c.source;
    system_of_source_[c.source] = c.system;
  }
}

std::optional<std::string> IdentifierSystems::SourceOf(std::string_view system) const {
  if (system.starts_with(kSourceSystemPrefix)) {
    if (system.size() == kSourceSystemPrefix.size()) return std::nullopt;
    return std::string(system.substr(kSourceSystemPrefix.size()));
  }
  if (auto it = source_of_system_.find(std::string(system)); it != source_of_system_.end()) return it->second;
  return std::nullopt;
}

std::string IdentifierSystems::SystemOf(const std::string& source) const {
  auto it = system_of_source_.find(source);
  return it != system_of_source_.end() ? it->second : std::string(kSourceSystemPrefix) + source;
}

json IdentifierSystems::Identifier(const RecordRef& r) const {
  return {{"system", SystemOf(r.source)}, {"value", r.record_id}};
}

absl::StatusOr<Record> PatientToRecord(const json& p, bool need_source, const IdentifierSystems& systems) {
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
      // A Patient is one contributor's record of one patient: a second,
      // different NHS number or record identifier is refused, not chosen
      // between (the record's contributor decides its scope).
      if (system == kNhsNumberSystem) {
        if (!r.nhs_number.empty() && value != r.nhs_number) return Bad(path, "a second, different NHS number");
        r.nhs_number = value;
      } else if (std::optional<std::string> source = systems.SourceOf(system)) {
        if (value.empty()) return Bad(path, "source system and value must not be empty");
        if (!r.source.empty() && (*source != r.source || value != r.record_id)) {
          return Bad(path, "a second contributor's record identifier: a Patient is one contributor's record");
        }
        r.source = std::move(*source);
        r.record_id = value;
      } else if (system.starts_with(kSourceSystemPrefix)) {
        return Bad(path, "source system and value must not be empty");
      }
    }
  }
  if (need_source && r.source.empty()) {
    return Bad("Patient.identifier",
               absl::StrCat("no identifier with a contributor's system (", IdentifierSystems::kExpected, ")"));
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
  if (!r.date_of_birth.empty() && !IsFhirDate(r.date_of_birth)) {
    return Bad("Patient.birthDate", "must be a FHIR date: YYYY, YYYY-MM or YYYY-MM-DD, a day that exists");
  }
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

json PersonPatient(const Resolution& r, const IdentifierSystems& systems) {
  json p = {{"resourceType", "Patient"}, {"id", std::to_string(r.person_id)}, {"active", true}};
  if (r.restricted) {
    p["meta"] = {
        {"security", json::array({{{"system", kConfidentialitySystem}, {"code", "R"}, {"display", "restricted"}}})}};
  }
  json identifiers = json::array(), links = json::array(), gps = json::array();
  for (const LinkedRecord* l : ShownRecords(r)) {
    identifiers.push_back(RecordIdentifier(*l, systems));
    links.push_back(
        {{"other", {{"type", "Patient"}, {"identifier", RecordIdentifier(*l, systems)}}}, {"type", "seealso"}});
    if (l->contributor == "gp") {
      gps.push_back({{"type", "Organization"}, {"identifier", {{"system", kOdsSystem}, {"value", l->source}}}});
    }
  }
  p["identifier"] = std::move(identifiers);
  if (!links.empty()) p["link"] = std::move(links);
  if (!gps.empty()) p["generalPractitioner"] = std::move(gps);
  return p;
}

namespace {

// What a restricted patient's answer says of scope and view instead of
// the reason (which could tell where they are registered).
std::string ScopeReason(const Resolution& r) {
  if (!r.restricted) return r.scope_reason;
  return r.in_scope ? "in scope (reason withheld: restricted patient)"
                    : "out of scope (reason withheld: restricted patient)";
}
std::string ViewReason(const Resolution& r, const ViewDecision& view) {
  if (r.restricted && view.reason.starts_with("out of scope")) {
    return "out of scope (reason withheld: restricted patient)";
  }
  return view.reason;
}

// A JSON string as nlohmann's dump() writes it: printable ASCII copied,
// anything else (escapes, UTF-8, which it validates) left to nlohmann.
void AppendQuoted(std::string_view v, std::string* out) {
  const bool plain =
      std::all_of(v.begin(), v.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) {
    *out += json(std::string(v)).dump();
    return;
  }
  *out += '"';
  *out += v;
  *out += '"';
}

std::string Quoted(std::string_view v) {
  std::string out;
  AppendQuoted(v, &out);
  return out;
}

// Appends {"name":NAME,"TYPE":VALUE} (VALUE already JSON) to a JSON array
// being written, after a comma unless it is the first element.
void AppendParam(std::string_view name, std::string_view type, std::string_view value, std::string* array) {
  if (array->back() != '[') *array += ',';
  *array += "{\"name\":";
  AppendQuoted(name, array);
  *array += ",\"";
  *array += type;
  *array += "\":";
  *array += value;
  *array += '}';
}

}  // namespace

json ResolutionParameters(const Resolution& r, const ViewDecision& view) {
  json params = json::array();
  params.push_back(Param("person", "valueReference", PersonRef(r.person_id)));
  for (const LinkedRecord* l : ShownRecords(r)) {
    params.push_back({{"name", "record"},
                      {"part", json::array({Param("source", "valueString", l->source),
                                            Param("recordId", "valueString", l->record_id),
                                            Param("contributor", "valueCode", l->contributor)})}});
  }
  params.push_back(Param("objection", "valueBoolean", r.objection));
  if (r.objection && r.objection_time_us > 0) {
    params.push_back(Param("objectionReceived", "valueInstant", Instant(r.objection_time_us)));
  }
  params.push_back(Param("objectionInReview", "valueBoolean", r.objection_in_review));
  params.push_back(Param("inScope", "valueBoolean", r.in_scope));
  params.push_back(Param("scopeReason", "valueString", ScopeReason(r)));
  params.push_back(Param("restricted", "valueBoolean", r.restricted));
  params.push_back(Param("viewAllowed", "valueBoolean", view.allowed));
  params.push_back(Param("viewReason", "valueString", ViewReason(r, view)));
  // 64-bit, so a string (R4's integer types are 32-bit).
  params.push_back(Param("atChange", "valueString", std::to_string(r.at_change)));
  params.push_back(Param("modelVersion", "valueString", r.model_version));
  return {{"resourceType", "Parameters"}, {"parameter", std::move(params)}};
}

std::string ResolutionParametersText(const Resolution& r, const ViewDecision& view) {
  auto boolean = [](bool b) { return std::string_view(b ? "true" : "false"); };
  std::string out = "{\"parameter\":[";
  AppendParam("person", "valueReference", absl::StrCat("{\"reference\":\"Patient/", r.person_id, "\"}"), &out);
  for (const LinkedRecord* l : ShownRecords(r)) {
    std::string parts = "[";
    AppendParam("source", "valueString", Quoted(l->source), &parts);
    AppendParam("recordId", "valueString", Quoted(l->record_id), &parts);
    AppendParam("contributor", "valueCode", Quoted(l->contributor), &parts);
    parts += ']';
    out += ",{\"name\":\"record\",\"part\":";
    out += parts;
    out += '}';
  }
  AppendParam("objection", "valueBoolean", boolean(r.objection), &out);
  if (r.objection && r.objection_time_us > 0) {
    AppendParam("objectionReceived", "valueInstant", Quoted(Instant(r.objection_time_us)), &out);
  }
  AppendParam("objectionInReview", "valueBoolean", boolean(r.objection_in_review), &out);
  AppendParam("inScope", "valueBoolean", boolean(r.in_scope), &out);
  AppendParam("scopeReason", "valueString", Quoted(ScopeReason(r)), &out);
  AppendParam("restricted", "valueBoolean", boolean(r.restricted), &out);
  AppendParam("viewAllowed", "valueBoolean", boolean(view.allowed), &out);
  AppendParam("viewReason", "valueString", Quoted(ViewReason(r, view)), &out);
  AppendParam("atChange", "valueString", Quoted(std::to_string(r.at_change)), &out);
  AppendParam("modelVersion", "valueString", Quoted(r.model_version), &out);
  out += "],\"resourceType\":\"Parameters\"}";
  return out;
}

json IngestParameters(const IngestResult& r) {
  std::string outcome(IngestOutcomeName(r.outcome));
  std::replace(outcome.begin(), outcome.end(), ' ', '-');  // a code: "new-person"
  json params =
      json::array({Param("outcome", "valueCode", outcome), Param("person", "valueReference", PersonRef(r.person_id)),
                   Param("matchProbability", "valueDecimal", r.match_probability)});
  if (!r.reason.empty()) params.push_back(Param("reason", "valueString", r.reason));
  params.push_back(Param("objectionApplied", "valueBoolean", r.objection_applied));
  return {{"resourceType", "Parameters"}, {"parameter", std::move(params)}};
}

json AuditEventResource(const AuditEvent& e, const IdentifierSystems& systems) {
  const bool refused = e.outcome.starts_with("denied") || e.outcome.starts_with("refused");
  json entity = json::array();
  for (uint64_t p : e.persons) entity.push_back({{"what", PersonRef(p)}});
  for (const RecordRef& r : e.records) entity.push_back({{"what", {{"identifier", systems.Identifier(r)}}}});
  if (e.at_change != 0 || !e.model_version.empty()) {
    // What an auditor needs to ask the same question again (asOfChange).
    entity.push_back({{"what", {{"display", "answer"}}},
                      {"detail", json::array({{{"type", "atChange"}, {"valueString", std::to_string(e.at_change)}},
                                              {{"type", "modelVersion"}, {"valueString", e.model_version}},
                                              {{"type", "asOf"}, {"valueString", e.as_of ? "true" : "false"}}})}});
  }
  // The request's ids as IHE Basic Audit Log Patterns carries X-Request-ID:
  // an entity whose identifier is the id.
  for (const auto& [system, code, id] : {std::tuple{kBalpEntityType, "XrequestId", &e.request_id},
                                         {kEmpiEntityType, "XcorrelationId", &e.correlation_id}}) {
    if (id->empty()) continue;
    entity.push_back({{"what", {{"identifier", {{"value", *id}}}}}, {"type", {{"system", system}, {"code", code}}}});
  }
  return {{"resourceType", "AuditEvent"},
          {"id", std::to_string(e.sequence)},
          {"type", {{"system", "http://terminology.hl7.org/CodeSystem/audit-event-type"}, {"code", "rest"}}},
          {"subtype", json::array({{{"system", "urn:empi:audit-action"}, {"code", e.action}}})},
          {"recorded", Instant(e.time_us)},
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
  std::vector<const json*> all = FindParameters(parameters, name);
  return all.empty() ? nullptr : all.front();
}

std::vector<const json*> FindParameters(const json& parameters, std::string_view name) {
  std::vector<const json*> out;
  if (!parameters.is_object() || !parameters.contains("parameter") || !parameters["parameter"].is_array()) {
    return out;
  }
  for (const json& p : parameters["parameter"]) {
    if (p.is_object() && p.contains("name") && p["name"] == name) out.push_back(&p);
  }
  return out;
}

absl::Status StringParameter(const json& parameters, std::string_view name,
                             std::initializer_list<std::string_view> types, std::string* out) {
  const json* p = FindParameter(parameters, name);
  if (p == nullptr) return absl::OkStatus();
  for (std::string_view type : types) {
    const std::string key(type);
    if (p->contains(key) && (*p)[key].is_string()) {
      *out = (*p)[key].get<std::string>();
      return absl::OkStatus();
    }
  }
  std::vector<std::string> names(types.begin(), types.end());
  return Bad(ParamPath(name), absl::StrCat("must be a ", absl::StrJoin(names, " or ")));
}

absl::StatusOr<uint64_t> UnsignedParameter(const json& parameters, std::string_view name) {
  const json* p = FindParameter(parameters, name);
  if (p == nullptr) return Bad(ParamPath(name), "required");
  for (const char* type : {"valueUnsignedInt", "valuePositiveInt", "valueInteger"}) {
    if (p->contains(type) && (*p)[type].is_number_unsigned() && (*p)[type].get<uint64_t>() >= 1) {
      return (*p)[type].get<uint64_t>();
    }
  }
  return Bad(ParamPath(name), "must be a valueUnsignedInt of at least 1");
}

absl::StatusOr<uint64_t> PersonParameter(const json& parameters, std::string_view name) {
  const json* p = FindParameter(parameters, name);
  if (p == nullptr) return Bad(ParamPath(name), "required");
  std::string text;
  if (p->contains("valueString") && (*p)["valueString"].is_string()) {
    text = (*p)["valueString"].get<std::string>();
  } else if (p->contains("valueReference") && (*p)["valueReference"].is_object()) {
    text = (*p)["valueReference"].value("reference", "");
  }
  const uint64_t person = PersonIdOf(text);
  if (person == 0) return Bad(ParamPath(name), "must be a valueString or valueReference Patient/{person}");
  return person;
}

// Parameter `name`'s valueInstant (or valueDateTime), RFC 3339, as Unix
// microseconds.
absl::Status InstantParameter(const json& p, std::string_view name, int64_t* out_us) {
  const json& text = p.contains("valueInstant") ? p["valueInstant"] : p.value("valueDateTime", json());
  absl::Time t;
  std::string error;
  if (!text.is_string() || !absl::ParseTime(absl::RFC3339_full, text.get<std::string>(), &t, &error) ||
      t < absl::UnixEpoch()) {
    return Bad(ParamPath(name), "must be a valueInstant (2026-12-04T10:15:00Z)");
  }
  *out_us = absl::ToUnixMicros(t);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AsOf>> AsOfParameters(const json& parameters) {
  const json* change = FindParameter(parameters, "asOfChange");
  const json* time = FindParameter(parameters, "asOfTime");
  if (change == nullptr && time == nullptr) return std::nullopt;
  AsOf at;
  if (change != nullptr) {
    const json& text = change->value("valueString", json());
    const json& number =
        change->contains("valueUnsignedInt") ? (*change)["valueUnsignedInt"] : change->value("valueInteger", json());
    const bool ok = text.is_string() ? absl::SimpleAtoi(text.get<std::string>(), &at.change)
                                     : number.is_number_unsigned() && (at.change = number.get<uint64_t>(), true);
    if (!ok) return Bad(ParamPath("asOfChange"), "must be a change sequence (valueString or valueUnsignedInt)");
  }
  if (time != nullptr) {
    if (absl::Status s = InstantParameter(*time, "asOfTime", &at.time_us); !s.ok()) return s;
  }
  return at;
}

absl::StatusOr<std::vector<RecordRef>> RecordParameters(const json& parameters, std::string_view name,
                                                        const IdentifierSystems& systems) {
  std::vector<RecordRef> out;
  for (const json* p : FindParameters(parameters, name)) {
    const std::string path = absl::StrCat(ParamPath(name), ".valueIdentifier");
    RecordRef r;
    std::string system;
    const json id = p->value("valueIdentifier", json());
    if (!id.is_object())
      return Bad(path, absl::StrCat("must be an identifier with system ", IdentifierSystems::kExpected));
    if (absl::Status s = GetString(id, "system", path + ".system", &system); !s.ok()) return s;
    if (absl::Status s = GetString(id, "value", path + ".value", &r.record_id); !s.ok()) return s;
    std::optional<std::string> source = systems.SourceOf(system);
    if (!source || r.record_id.empty()) {
      return Bad(path, absl::StrCat("system must be ", IdentifierSystems::kExpected, ", and value a record id"));
    }
    r.source = std::move(*source);
    out.push_back(std::move(r));
  }
  if (out.empty()) return Bad(ParamPath(name), "required");
  return out;
}

absl::StatusOr<ObjectionRequest> ObjectionRequestOf(const json& parameters) {
  ObjectionRequest r;
  if (const json* nhs = FindParameter(parameters, "nhsNumber"); nhs != nullptr && nhs->contains("valueIdentifier")) {
    const json& id = (*nhs)["valueIdentifier"];
    const std::string path = absl::StrCat(ParamPath("nhsNumber"), ".valueIdentifier");
    if (!id.is_object() || id.value("system", "") != kNhsNumberSystem) {
      return Bad(path + ".system", absl::StrCat("must be ", std::string(kNhsNumberSystem)));
    }
    if (absl::Status s = GetString(id, "value", path + ".value", &r.nhs_number); !s.ok()) return s;
  } else if (absl::Status s = StringParameter(parameters, "nhsNumber", {"valueString"}, &r.nhs_number); !s.ok()) {
    return s;
  }
  std::vector<std::string> given;
  for (const json* g : FindParameters(parameters, "given")) {
    if (!g->contains("valueString") || !(*g)["valueString"].is_string())
      return Bad(ParamPath("given"), "must be a valueString");
    given.push_back((*g)["valueString"].get<std::string>());
  }
  r.given_names = absl::StrJoin(given, " ");
  for (auto [name, out] : {std::pair{"family", &r.family_name}, std::pair{"postalCode", &r.postcode},
                           std::pair{"reference", &r.reference}}) {
    if (absl::Status s = StringParameter(parameters, name, {"valueString"}, out); !s.ok()) return s;
  }
  if (absl::Status s = StringParameter(parameters, "birthDate", {"valueDate", "valueString"}, &r.date_of_birth);
      !s.ok()) {
    return s;
  }
  std::string method = "form";
  if (absl::Status s = StringParameter(parameters, "method", {"valueCode"}, &method); !s.ok()) return s;
  absl::StatusOr<ObjectionMethod> m = MethodOf(method);
  if (!m.ok()) return m.status();
  r.method = *m;
  // When the patient's objection reached the organisation (a letter's
  // date), if not now: the time kept with the objection.
  if (const json* received = FindParameter(parameters, "received"); received != nullptr) {
    if (absl::Status s = InstantParameter(*received, "received", &r.time_us); !s.ok()) return s;
    if (absl::FromUnixMicros(r.time_us) > absl::Now() + absl::Minutes(5)) {
      return Bad(ParamPath("received"), "is in the future");
    }
  }
  if (r.nhs_number.empty() &&
      (r.family_name.empty() || r.given_names.empty() || r.date_of_birth.empty() || r.postcode.empty())) {
    return Bad(ParamPath("nhsNumber"), "required, or all of family, given, birthDate and postalCode");
  }
  return r;
}

json ObjectionParameters(const ObjectionResult& r) {
  json params = json::array(
      {Param("outcome", "valueCode", ObjectionOutcomeName(r.outcome)), Param("reason", "valueString", r.reason)});
  for (uint64_t person : r.persons) params.push_back(Param("person", "valueReference", PersonRef(person)));
  return {{"resourceType", "Parameters"}, {"parameter", std::move(params)}};
}

json ReviewQueueParameters(std::span<const ReviewQueueEntry> pairs, const std::string& next,
                           const IdentifierSystems& systems) {
  json params = json::array();
  for (const ReviewQueueEntry& e : pairs) params.push_back(ReviewLink(e, systems));
  return LinksParameters(std::move(params), next);
}

json ReviewLink(const ReviewQueueEntry& e, const IdentifierSystems& systems) {
  return {{"name", "link"},
          {"part",
           json::array({Param("goldenResourceId", "valueString", absl::StrCat("Patient/", e.person_a)),
                        Param("sourceResourceId", "valueIdentifier", systems.Identifier(e.b)),
                        Param("matchResult", "valueString", "POSSIBLE_MATCH"),
                        Param("linkSource", "valueString", "AUTO"), Param("score", "valueDecimal", e.match_probability),
                        Param("matchWeight", "valueDecimal", e.match_weight), Param("reason", "valueString", e.reason),
                        Param("matchedResourceId", "valueIdentifier", systems.Identifier(e.a)),
                        Param("currentGoldenResourceId", "valueString", absl::StrCat("Patient/", e.person_b))})}};
}

json LinksParameters(json links, const std::string& next) {
  if (!next.empty()) links.push_back(Param("next", "valueUri", next));
  return {{"resourceType", "Parameters"}, {"parameter", std::move(links)}};
}

json MatchLink(const PersonLink& l, const IdentifierSystems& systems) {
  return {{"name", "link"},
          {"part", json::array({Param("goldenResourceId", "valueString", absl::StrCat("Patient/", l.person)),
                                Param("sourceResourceId", "valueIdentifier", systems.Identifier(l.record)),
                                Param("matchResult", "valueString", "MATCH"),
                                Param("linkSource", "valueString", l.manual ? "MANUAL" : "AUTO")})}};
}

json NoMatchLinkJson(const NoMatchLink& l, const IdentifierSystems& systems) {
  return {{"name", "link"},
          {"part",
           json::array({Param("goldenResourceId", "valueString", absl::StrCat("Patient/", l.other_person)),
                        Param("sourceResourceId", "valueIdentifier", systems.Identifier(l.record)),
                        Param("matchResult", "valueString", "NO_MATCH"), Param("linkSource", "valueString", "MANUAL"),
                        Param("matchedResourceId", "valueIdentifier", systems.Identifier(l.other)),
                        Param("currentGoldenResourceId", "valueString", absl::StrCat("Patient/", l.person))})}};
}

uint64_t PersonIdOf(std::string text) {
  if (text.starts_with("Patient/")) text.erase(0, std::string_view("Patient/").size());
  uint64_t id = 0;
  return absl::SimpleAtoi(text, &id) ? id : 0;
}

std::optional<RecordRef> RecordOfToken(std::string_view token, const IdentifierSystems& systems) {
  const size_t bar = token.find('|');
  if (bar == std::string_view::npos || bar + 1 == token.size()) return std::nullopt;
  std::optional<std::string> source = systems.SourceOf(token.substr(0, bar));
  if (!source) return std::nullopt;
  return RecordRef{std::move(*source), std::string(token.substr(bar + 1))};
}

std::string QueryEscape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' ||
        c == ':' || c == '/') {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  return out;
}

json OverviewParameters(const EngineOverview& o) {
  const ModelInfo& m = o.model;
  json model = json::array({Param("version", "valueString", m.version), Param("origin", "valueCode", m.origin),
                            Param("trusted", "valueBoolean", m.trusted())});
  if (!m.trusted()) model.push_back(Param("untrustedReason", "valueString", m.untrusted_reason));
  if (m.origin == "trained") {
    model.push_back(Param("records", "valueUnsignedInt", m.records));
    model.push_back(Param("candidatePairs", "valueUnsignedInt", m.candidate_pairs));
    model.push_back(Param("emIterations", "valueUnsignedInt", m.em_iterations));
    model.push_back(Param("emConverged", "valueBoolean", m.em_converged));
    model.push_back(Param("estimatedMatches", "valueDecimal", m.estimated_matches));
    model.push_back(Param("trainedAt", "valueString", m.trained_at));
  }
  json params = json::array({{{"name", "model"}, {"part", std::move(model)}},
                             Param("records", "valueUnsignedInt", o.records),
                             Param("lastChange", "valueString", std::to_string(o.last_change)),
                             Param("writable", "valueBoolean", o.write_failure.empty())});
  if (!o.write_failure.empty()) params.push_back(Param("writeFailure", "valueString", o.write_failure));
  if (o.next_model_estimate_at != 0) {
    params.push_back(Param("nextModelEstimateAt", "valueUnsignedInt", o.next_model_estimate_at));
  }
  return {{"resourceType", "Parameters"}, {"parameter", std::move(params)}};
}

json HistoryParameters(const std::vector<HistoryEntry>& history, const IdentifierSystems& systems) {
  json params = json::array();
  for (const HistoryEntry& e : history) params.push_back({{"name", "event"}, {"part", HistoryEventParts(e, systems)}});
  return {{"resourceType", "Parameters"}, {"parameter", std::move(params)}};
}

json MergeParameters(uint64_t into, uint64_t from, uint64_t merge_event) {
  json params = PersonsParameters({{"goldenResource", into}, {"mergedResource", from}});
  params["parameter"].push_back(Param("mergeEvent", "valueUnsignedInt", merge_event));
  return params;
}

json PersonsParameters(const std::vector<std::pair<std::string_view, uint64_t>>& persons) {
  json params = json::array();
  for (const auto& [name, person] : persons) params.push_back(Param(name, "valueReference", PersonRef(person)));
  return {{"resourceType", "Parameters"}, {"parameter", std::move(params)}};
}

nlohmann::json ChangeEventJson(const ChangeEvent& e) {
  json records = json::array();
  for (const RecordRef& r : e.records) records.push_back({{"source", r.source}, {"record_id", r.record_id}});
  return {{"sequence", e.sequence},
          {"time", Instant(e.time_us)},
          {"kind", e.kind},
          {"persons", e.persons},
          {"records", records}};
}

json CapabilityStatement(const std::vector<Endpoint>& endpoints, const std::string& date) {
  static const std::vector<std::pair<std::string, std::string>> kInteractions = {
      {"GET /Patient/{person}", "read"}, {"POST /Patient", "create"}, {"PUT /Patient/{id}", "update"}};
  json patient_interactions = json::array(), patient_ops = json::array(), system_ops = json::array(),
       audit_interactions = json::array();
  for (const Endpoint& e : endpoints) {
    const std::string roles = absl::StrCat("roles: ", absl::StrJoin(e.roles, ", "));
    const std::string key = absl::StrCat(e.method, " ", e.route);
    for (const auto& [route, code] : kInteractions) {
      if (key == route) patient_interactions.push_back({{"code", code}, {"documentation", roles}});
    }
    if (key == "GET /AuditEvent") audit_interactions.push_back({{"code", "search-type"}, {"documentation", roles}});
    const size_t dollar = e.route.find('$');
    if (dollar == std::string::npos) continue;
    const std::string name = e.route.substr(dollar + 1);
    const std::string definition = name == "match" ? "http://hl7.org/fhir/OperationDefinition/Patient-match"
                                                   : absl::StrCat("urn:empi:OperationDefinition/", name);
    (e.route.starts_with("/Patient/") ? patient_ops : system_ops)
        .push_back({{"name", name}, {"definition", definition}, {"documentation", absl::StrCat(key, "; ", roles)}});
  }
  // FHIR's JSON has no empty arrays: a list with nothing in it is left out.
  auto put = [](json* object, const char* key, json list) {
    if (!list.empty()) (*object)[key] = std::move(list);
  };
  json resources = json::array();
  json patient = {{"type", "Patient"}};
  put(&patient, "interaction", std::move(patient_interactions));
  put(&patient, "operation", std::move(patient_ops));
  resources.push_back(std::move(patient));
  if (!audit_interactions.empty()) {
    resources.push_back({{"type", "AuditEvent"},
                         {"interaction", audit_interactions},
                         {"searchParam", json::array({{{"name", "patient"}, {"type", "reference"}}})}});
  }
  json rest = {{"mode", "server"},
               {"security",
                {{"description",
                  "Bearer tokens: signed JWTs (RS256 or ES256) with sub, org, purpose and roles, or a client "
                  "certificate; each interaction's roles are in its documentation"}}},
               {"resource", std::move(resources)}};
  put(&rest, "operation", std::move(system_ops));
  return {{"resourceType", "CapabilityStatement"},
          {"status", "active"},
          {"date", date},
          {"kind", "instance"},
          {"software", {{"name", "EMPI"}}},
          {"implementation", {{"description", "EMPI: the enterprise master patient index (empi serve)"}}},
          {"fhirVersion", "4.0.1"},
          {"format", json::array({"application/fhir+json", "json"})},
          {"rest", json::array({std::move(rest)})}};
}

}  // namespace empi::server
