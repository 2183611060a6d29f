// Copyright EMPI developers.
//
// empi relink: a thin front end over empi::Relink (empi/link.h). The
// summary goes to stdout; with --moves, every record whose person changes
// (or would change, with --dry-run) is written as CSV
// source,record_id,from_person_id,to_person_id (no demographics).
#include <iostream>
#include <memory>

#include "base/csv.h"
#include "empi/link.h"
#include "empi/status_macros.h"
#include "engine/cli/command.h"
#include "engine/cli/progress.h"
#include "fmt/format.h"

namespace empi::cli {
namespace {

struct RelinkFlags {
  CliIdentity who;
  std::string db, moves;
  RelinkOptions options;
};

absl::Status WriteMoves(const RelinkSummary& s, const std::string& path) {
  Output out;
  EMPI_RETURN_IF_ERROR(out.Open(path));
  std::string csv = "source,record_id,from_person_id,to_person_id\n";
  for (const RelinkMove& m : s.moves) {
    AppendCsvField(m.source, &csv);
    csv += ',';
    AppendCsvField(m.record_id, &csv);
    csv += fmt::format(",{},{}\n", m.from_person, m.to_person);
  }
  out.out() << csv;
  return out.Close(path);
}

void PrintSummary(const RelinkFlags& f, const RelinkSummary& s, std::ostream& o) {
  o << fmt::format("EMPI relink summary ({}){}\n", f.db, f.options.dry_run ? ", DRY RUN: nothing written" : "");
  o << fmt::format("  records scored again  {}\n", s.records);
  o << fmt::format("  candidate pairs       {}\n", s.candidate_pairs);
  if (s.model_trained) {
    o << fmt::format("  model estimated again ({}): EM {} iterations{}, {:.0f} estimated matches\n",
                     s.model_reestimated_reason, s.em_iterations, s.em_converged ? " (converged)" : " (not converged)",
                     s.estimated_matches);
  } else {
    o << "  model                 the stored model\n";
  }
  o << fmt::format("  links made            {}\n", s.links);
  o << fmt::format("  persons               {} before, {} after\n", s.persons_before, s.persons_after);
  o << fmt::format("  persons unchanged     {}\n", s.persons_unchanged);
  o << fmt::format("  persons kept by a steward's decision {}\n", s.persons_pinned);
  o << fmt::format("  records moved         {}\n", s.moves.size());
  o << fmt::format("  new persons (split off) {}\n", s.persons_new);
  o << fmt::format("  persons removed (joined another) {}\n", s.persons_removed);
  o << fmt::format("  objections inherited  {}\n", s.objections_inherited);
  o << fmt::format("  review pairs          {} before, {} after\n", s.review_pairs_before, s.review_pairs);
  o << fmt::format("  NHS numbers judged again {} records (a relative's number, or no longer)\n", s.nhs_marks_changed);
  o << fmt::format("  wall time             {:.2f} s\n", s.wall_seconds);
  o << "  stages:";
  for (const auto& [name, secs] : s.stage_seconds) o << fmt::format(" {} {:.2f}s;", name, secs);
  o << "\n";
}

absl::Status RunRelink(RelinkFlags f) {
  EMPI_RETURN_IF_ERROR(CheckDbPath(f.db));
  f.options.requester = f.who.AsRequester();
  Progress progress;
  EMPI_ASSIGN_OR_RETURN(RelinkSummary s,
                        Relink(f.options, f.db, [&](std::string_view stage, uint64_t done, uint64_t total) {
                          progress.Update(stage, done, total);
                        }));
  progress.Finish();
  if (!f.moves.empty()) EMPI_RETURN_IF_ERROR(WriteMoves(s, f.moves));
  PrintSummary(f, s, f.moves == "-" ? std::cerr : std::cout);
  return absl::OkStatus();
}

}  // namespace

void RegisterRelinkCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<RelinkFlags>();
  CLI::App* c = app.add_subcommand(
      "relink", "Score every stored record again and rebuild the persons, keeping their ids (docs/matching.md)");
  c->add_option("--db", flags->db, "RocksDB directory of an existing database")->required();
  c->add_flag("--retrain", flags->options.retrain, "Estimate the model again on every stored record");
  c->add_flag("--dry-run", flags->options.dry_run, "Report what would change; write nothing");
  c->add_option("--moves", flags->moves,
                "Write the records that move as CSV source,record_id,from_person_id,to_person_id (- for stdout)");
  c->add_option("--seed", flags->options.seed, "Seed for training")->capture_default_str();
  c->add_option("--link-threshold", flags->options.link_threshold, "match_probability to link (with --retrain)");
  c->add_option("--review-threshold", flags->options.review_threshold, "match_probability to review (with --retrain)");
  AddIdentityFlags(c, &flags->who);
  c->callback([flags, exit_code] {
    absl::Status s = RunRelink(*flags);
    *exit_code = s.ok() ? kExitOk : ReportError("relink", s);
  });
}

}  // namespace empi::cli
