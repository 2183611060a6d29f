// Copyright EMPI developers.
//
// empi evaluate --truth FILE (--clusters FILE | --db DIR) [--hard-cases FILE]
//               [--json FILE] [--source-a NAME --source-b NAME] [--max-listed N]
//
// Prints the figures of engine/eval/evaluate.h as a table (docs/evaluation.md).
// Exits 0 whatever the scores (evaluation is informational), 65 for bad
// input, 66 for a missing file, 74 if the JSON cannot be written.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "base/private_file.h"
#include "empi/status_macros.h"
#include "engine/cli/command.h"
#include "engine/eval/evaluate.h"

namespace empi::cli {
namespace {

struct EvaluateFlags {
  CliIdentity who;
  std::string truth, clusters, db, hard_cases, json, source_a, source_b;
  size_t max_listed = 20;
};

absl::Status RunEvaluate(const EvaluateFlags& flags) {
  eval::TruthOptions options{flags.source_a, flags.source_b};
  EMPI_ASSIGN_OR_RETURN(eval::Truth truth, eval::LoadTruth(flags.truth, options));
  std::unique_ptr<eval::HardCases> hard;
  if (!flags.hard_cases.empty()) {
    EMPI_ASSIGN_OR_RETURN(eval::HardCases loaded, eval::LoadHardCases(flags.hard_cases, truth));
    hard = std::make_unique<eval::HardCases>(std::move(loaded));
  }
  eval::Evaluator evaluator(truth, hard.get(), flags.max_listed);
  if (!flags.clusters.empty()) {
    EMPI_RETURN_IF_ERROR(eval::ReadClustersFile(flags.clusters, &evaluator));
  } else {
    EMPI_RETURN_IF_ERROR(eval::ReadStore(flags.db, &evaluator));
    // Reading every linked record of a store is a read of patient data.
    index::StoreOptions options;
    options.create_if_missing = false;
    EMPI_ASSIGN_OR_RETURN(auto store, index::Store::Open(flags.db, options));
    EMPI_RETURN_IF_ERROR(AuditRead(store.get(), flags.who, "evaluate", "ok: every linked record read"));
  }
  eval::Evaluation result = evaluator.Finish();
  std::cout << FormatEvaluation(result) << std::flush;
  if (!flags.json.empty()) {
    // It names records (source and id) of the store: owner-only.
    EMPI_RETURN_IF_ERROR(CreatePrivateFile(flags.json));
    std::ofstream out(flags.json);
    out << eval::ToJson(result).dump(2) << "\n";
    out.close();
    if (!out) return absl::UnavailableError(flags.json + ": cannot write");
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterEvaluateCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<EvaluateFlags>();
  CLI::App* cmd =
      app.add_subcommand("evaluate", "Score a clustering against the true persons (precision, recall, false merges)");
  cmd->add_option("--truth", flags->truth,
                  "truth.csv (source,record_id,person) or FEBRL true links (rec_id_a,rec_id_b)")
      ->required();
  auto* clusters =
      cmd->add_option("--clusters", flags->clusters, "predicted clusters CSV: source,record_id,person_id,...");
  auto* db = cmd->add_option("--db", flags->db, "EMPI store directory to read predictions from");
  clusters->excludes(db);
  db->excludes(clusters);
  cmd->add_option("--hard-cases", flags->hard_cases, "person,hard_case CSV for a per-case breakdown");
  cmd->add_option("--json", flags->json, "also write the figures as JSON to this file");
  cmd->add_option("--source-a", flags->source_a, "pair truth: source of the first id column");
  cmd->add_option("--source-b", flags->source_b, "pair truth: source of the second id column");
  AddIdentityFlags(cmd, &flags->who);
  cmd->add_option("--max-listed", flags->max_listed, "how many missing or extra records to name (default 20)");
  cmd->callback([flags, exit_code] {
    if (flags->clusters.empty() == flags->db.empty()) {
      throw CLI::RequiredError("exactly one of --clusters and --db");
    }
    absl::Status status = RunEvaluate(*flags);
    *exit_code = status.ok() ? kExitOk : ReportError("evaluate", status);
  });
}

}  // namespace empi::cli
