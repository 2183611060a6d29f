// Copyright EMPI developers.
//
// engine/server/fhir.h: the $resolve answer written straight to text
// (ResolutionParametersText) is, byte for byte, the nlohmann tree of
// ResolutionParameters dumped, for random resolutions whose strings hold
// quotes, backslashes, control characters and UTF-8; contributors'
// record identifiers read and written with the register's systems.
#include "engine/server/fhir.h"

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace empi::server {
namespace {

std::string RandomText(std::mt19937_64& rng) {
  static const std::string kPieces[] = {"a",    "Z", "0", " ", "-", "\"", "\\", "\n", "\t",  "\x01",  "\x1f",
                                        "\x7f", "é", "ß", "€", "😀", "/",  "<",  "&",  "RKB", "M84001"};
  std::string s;
  const size_t n = rng() % 12;
  for (size_t i = 0; i < n; ++i) s += kPieces[rng() % std::size(kPieces)];
  return s;
}

Resolution RandomResolution(std::mt19937_64& rng) {
  Resolution r;
  r.person_id = rng();
  for (size_t i = rng() % 5; i > 0; --i) {
    r.records.push_back({RandomText(rng), RandomText(rng), rng() % 3 == 0 ? "gp" : RandomText(rng)});
  }
  r.objection = rng() % 2;
  r.objection_in_review = rng() % 2;
  r.objection_time_us = rng() % 3 == 0 ? 0 : static_cast<int64_t>(rng() % 4'000'000'000'000'000);
  r.in_scope = rng() % 2;
  r.scope_reason = RandomText(rng);
  r.restricted = rng() % 3 == 0;
  r.at_change = rng();
  r.model_version = RandomText(rng);
  return r;
}

TEST(ResolutionParametersText, IsTheTreeDumpedForRandomResolutions) {
  std::mt19937_64 rng(20261205);
  for (int i = 0; i < 5000; ++i) {
    const Resolution r = RandomResolution(rng);
    ViewDecision view;
    view.allowed = rng() % 2;
    view.reason = rng() % 2 ? "out of scope: " + RandomText(rng) : RandomText(rng);
    const std::string text = ResolutionParametersText(r, view);
    ASSERT_EQ(text, ResolutionParameters(r, view).dump()) << "case " << i;
    ASSERT_TRUE(nlohmann::json::accept(text)) << text;
  }
}

TEST(ResolutionParametersText, WithholdsARestrictedPatientsReasonsAndGpRecords) {
  Resolution r;
  r.person_id = 7;
  r.restricted = true;
  r.in_scope = false;
  r.scope_reason = "out of scope: not registered with a practice of the region";
  r.records = {{"M84001", "G1", "gp"}, {"RKB", "K1", "acute"}};
  ViewDecision view{false, "out of scope: not registered with a practice of the region", 7, 1, "v"};
  const nlohmann::json j = nlohmann::json::parse(ResolutionParametersText(r, view));
  const std::string text = j.dump();
  EXPECT_EQ(text.find("M84001"), std::string::npos) << text;
  EXPECT_NE(text.find("RKB"), std::string::npos) << text;
  EXPECT_EQ(text.find("practice of the region"), std::string::npos) << text;
  EXPECT_NE(text.find("reason withheld: restricted patient"), std::string::npos) << text;
}

// Every record a contributor's own system names is read as that
// contributor's, and written back with it; urn:empi:source:<code> is read
// for any contributor and written for those without a system.
TEST(IdentifierSystems, ReadAndWriteAContributorsOwnSystem) {
  const std::string mrn = "https://fhir.uhcw.example.nhs.uk/Id/mrn";
  const IdentifierSystems systems({{"RKB", mrn}});
  EXPECT_EQ(systems.SourceOf(mrn), "RKB");
  EXPECT_EQ(systems.SourceOf("urn:empi:source:RKB"), "RKB");
  EXPECT_EQ(systems.SourceOf("urn:empi:source:RYA"), "RYA");
  EXPECT_EQ(systems.SourceOf("urn:empi:source:"), std::nullopt);
  EXPECT_EQ(systems.SourceOf("https://fhir.elsewhere.example/Id/mrn"), std::nullopt);
  EXPECT_EQ(systems.Identifier({"RKB", "K1"}), (nlohmann::json{{"system", mrn}, {"value", "K1"}}));
  EXPECT_EQ(systems.Identifier({"RYA", "B1"}), (nlohmann::json{{"system", "urn:empi:source:RYA"}, {"value", "B1"}}));

  EXPECT_EQ(RecordOfToken(mrn + "|K1", systems), (RecordRef{"RKB", "K1"}));
  EXPECT_EQ(RecordOfToken("urn:empi:source:RYA|B1", systems), (RecordRef{"RYA", "B1"}));
  EXPECT_EQ(RecordOfToken(mrn + "|", systems), std::nullopt);
  EXPECT_EQ(RecordOfToken("https://fhir.elsewhere.example/Id/mrn|K1", systems), std::nullopt);
  EXPECT_EQ(RecordOfToken("urn:empi:source:RYA|B1", IdentifierSystems()), (RecordRef{"RYA", "B1"}));

  const nlohmann::json patient = {{"resourceType", "Patient"},
                                  {"identifier",
                                   {{{"system", "https://fhir.nhs.uk/Id/nhs-number"}, {"value", "9434765919"}},
                                    {{"system", mrn}, {"value", "K1"}}}}};
  absl::StatusOr<Record> r = PatientToRecord(patient, /*need_source=*/true, systems);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, "RKB");
  EXPECT_EQ(r->record_id, "K1");
  EXPECT_EQ(r->nhs_number, "9434765919");
  // Without the register, the same Patient names no contributor's record.
  EXPECT_EQ(PatientToRecord(patient, true, IdentifierSystems()).status().code(), absl::StatusCode::kInvalidArgument);

  Resolution res;
  res.person_id = 7;
  res.records = {{"RKB", "K1", "acute"}, {"RYA", "B1", "ambulance"}};
  const nlohmann::json p = PersonPatient(res, systems);
  EXPECT_EQ(p["identifier"][0], systems.Identifier({"RKB", "K1"}));
  EXPECT_EQ(p["link"][0]["other"]["identifier"], systems.Identifier({"RKB", "K1"}));
  EXPECT_EQ(p["identifier"][1]["system"], "urn:empi:source:RYA");
}

// A Patient is one contributor's record of one patient: a second record
// identifier of another contributor or value, or a second, different NHS
// number, is refused naming the identifier, not chosen between; the same
// one given twice (under urn:empi:source: and the registered system) is
// one.
TEST(PatientToRecord, RefusesTwoRecordsOrTwoNhsNumbersInOnePatient) {
  const std::string mrn = "https://fhir.uhcw.example.nhs.uk/Id/mrn", nhs = "https://fhir.nhs.uk/Id/nhs-number";
  const IdentifierSystems systems({{"RKB", mrn}});
  auto patient = [](std::vector<std::pair<std::string, std::string>> ids) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [system, value] : ids) list.push_back({{"system", system}, {"value", value}});
    return nlohmann::json{{"resourceType", "Patient"}, {"identifier", list}};
  };
  struct Case {
    std::vector<std::pair<std::string, std::string>> ids;
    std::string refused_at;  // empty: taken
  };
  for (const Case& c : {
           Case{{{mrn, "K1"}, {"urn:empi:source:M84001", "G1"}}, "Patient.identifier[1]"},
           Case{{{mrn, "K1"}, {mrn, "K2"}}, "Patient.identifier[1]"},
           Case{{{nhs, "9434765919"}, {mrn, "K1"}, {nhs, "4010232137"}}, "Patient.identifier[2]"},
           Case{{{mrn, "K1"}, {"urn:empi:source:RKB", "K1"}, {nhs, "9434765919"}, {nhs, "9434765919"}}, ""},
           Case{{{"https://fhir.elsewhere.example/Id/x", "X9"}, {mrn, "K1"}}, ""},
       }) {
    absl::StatusOr<Record> r = PatientToRecord(patient(c.ids), /*need_source=*/true, systems);
    if (c.refused_at.empty()) {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->source, "RKB");
      EXPECT_EQ(r->record_id, "K1");
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind(c.refused_at + ": ", 0), 0u) << r.status();
      EXPECT_EQ(std::string(r.status().message()).find("K2"), std::string::npos) << "names a value";
    }
  }
}

// No empty arrays (FHIR JSON has none), each endpoint once where it
// belongs: Patient interactions, Patient and system operations, AuditEvent
// search.
TEST(CapabilityStatement, ListsEachEndpointWhereItBelongsWithItsRoles) {
  const nlohmann::json c = CapabilityStatement({{"POST", "/Patient/$match", {"clinician"}},
                                                {"GET", "/Patient/{person}", {"clinician"}},
                                                {"PUT", "/Patient/{id}", {"integration"}},
                                                {"GET", "/$mdm-query-links", {"steward"}},
                                                {"GET", "/Patient/{person}/$empi-history", {"steward", "auditor"}},
                                                {"GET", "/changes", {"clinician", "integration"}}},
                                               "2026-12-06");
  EXPECT_EQ(c["resourceType"], "CapabilityStatement");
  EXPECT_EQ(c["fhirVersion"], "4.0.1");
  EXPECT_EQ(c["date"], "2026-12-06");
  EXPECT_EQ(c.dump().find("[]"), std::string::npos) << c.dump();
  const nlohmann::json& rest = c["rest"][0];
  ASSERT_EQ(rest["resource"].size(), 1u);  // no AuditEvent endpoint given
  const nlohmann::json& patient = rest["resource"][0];
  EXPECT_EQ(patient["type"], "Patient");
  std::vector<std::string> interactions, ops;
  for (const auto& i : patient["interaction"]) interactions.push_back(i["code"]);
  for (const auto& o : patient["operation"]) ops.push_back(o["name"]);
  EXPECT_EQ(interactions, (std::vector<std::string>{"read", "update"}));
  EXPECT_EQ(ops, (std::vector<std::string>{"match", "empi-history"}));
  EXPECT_EQ(patient["operation"][0]["definition"], "http://hl7.org/fhir/OperationDefinition/Patient-match");
  EXPECT_EQ(patient["operation"][1]["documentation"], "GET /Patient/{person}/$empi-history; roles: steward, auditor");
  ASSERT_EQ(rest["operation"].size(), 1u);
  EXPECT_EQ(rest["operation"][0]["name"], "mdm-query-links");
  EXPECT_EQ(rest["operation"][0]["definition"], "urn:empi:OperationDefinition/mdm-query-links");
}

}  // namespace
}  // namespace empi::server
