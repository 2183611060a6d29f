// Copyright EMPI developers.
//
// A service's view of EMPI: open the index, take in records as contributors
// send them, and answer "who is this patient?" and "may a shared care view
// be assembled for them?", as a clinical portal asks before showing one.
//
//   service_example /tmp/empi-example-db
//
// Prints one line per step and exits 0 when every answer is the expected
// one, 1 otherwise (it runs as a test in CI), 74 when the store cannot be
// opened.
#include <cstdio>
#include <memory>
#include <string>

#include "empi/engine.h"
#include "empi/status_macros.h"

namespace {

empi::Record Record(const char* source, const char* id) {
  empi::Record r;
  r.source = source;
  r.record_id = id;
  r.nhs_number = "9434765919";
  r.family_name = "Nowak";
  r.given_names = "Anna Maria";
  r.date_of_birth = "1984-03-07";
  r.sex = "F";
  r.postcode = "CV1 2AB";
  return r;
}

// The service's one request: resolve a record and decide the view.
absl::StatusOr<empi::ViewDecision> Decide(empi::Engine& engine, const char* source, const char* id,
                                          const empi::Requester& who) {
  EMPI_ASSIGN_OR_RETURN(empi::Resolution r, engine.Resolve(source, id, who));
  std::printf("resolve %s/%s: person %llu, %zu records, objection %d\n", source, id,
              static_cast<unsigned long long>(r.person_id), r.records.size(), r.objection ? 1 : 0);
  return engine.MayAssembleView(r.person_id, who);
}

absl::Status Run(const std::string& path, bool* as_expected) {
  empi::EngineOptions options;
  options.today = "2026-01-01";
  EMPI_ASSIGN_OR_RETURN(std::unique_ptr<empi::Engine> engine, empi::Engine::Open(options, path));
  const empi::Requester feed{"gp-feed", "M84001", "system", "direct-care"};
  const empi::Requester clinician{"dr.jones", "RKB", "clinician", "direct-care"};

  EMPI_ASSIGN_OR_RETURN(empi::IngestResult gp, engine->Ingest(Record("M84001", "G1"), feed));
  EMPI_ASSIGN_OR_RETURN(empi::IngestResult acute, engine->Ingest(Record("RKB", "K1"), feed));
  std::printf("ingest: %s, %s\n", std::string(empi::IngestOutcomeName(gp.outcome)).c_str(),
              std::string(empi::IngestOutcomeName(acute.outcome)).c_str());
  *as_expected = acute.outcome == empi::IngestOutcome::kLinked && acute.person_id == gp.person_id;

  EMPI_ASSIGN_OR_RETURN(empi::ViewDecision before, Decide(*engine, "RKB", "K1", clinician));
  std::printf("view: %s (%s)\n", before.allowed ? "allowed" : "denied", before.reason.c_str());
  *as_expected &= before.reason != "objection" && before.person_id == gp.person_id;

  empi::ObjectionRequest objection;
  objection.nhs_number = "9434765919";
  objection.method = empi::ObjectionMethod::kLetter;
  EMPI_ASSIGN_OR_RETURN(empi::ObjectionResult o, engine->RegisterObjection(objection, clinician));
  std::printf("objection: %s\n", std::string(empi::ObjectionOutcomeName(o.outcome)).c_str());

  EMPI_ASSIGN_OR_RETURN(empi::ViewDecision after, Decide(*engine, "M84001", "G1", clinician));
  std::printf("view: %s (%s)\n", after.allowed ? "allowed" : "denied", after.reason.c_str());
  *as_expected &= !after.allowed && after.reason == "objection";
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: service_example DB_DIR\n");
    return 64;
  }
  bool as_expected = false;
  absl::Status s = Run(argv[1], &as_expected);
  if (!s.ok()) {
    std::fprintf(stderr, "service_example: %s\n", s.ToString().c_str());
    return 74;
  }
  std::printf("%s\n", as_expected ? "ok" : "UNEXPECTED");
  return as_expected ? 0 : 1;
}
