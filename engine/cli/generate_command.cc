// Copyright EMPI developers.
//
// `empi generate --persons N --seed S --out DIR`: writes a synthetic
// population with known truth (datasets/generator/generator.h).
#include <cstdio>
#include <memory>
#include <string>

#include "datasets/generator/generator.h"
#include "engine/cli/command.h"

namespace empi::cli {

void RegisterGenerateCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    GeneratorOptions options;
    std::string out;
    bool quiet = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd =
      app.add_subcommand("generate", "Write a synthetic regional population: one feed per contributor plus truth");
  cmd->add_option("--persons", flags->options.persons, "Number of persons (1 to 50,000,000)")->required();
  cmd->add_option("--seed", flags->options.seed, "Seed of every random choice")->required();
  cmd->add_option("--out", flags->out, "Output directory (created if missing)")->required();
  cmd->add_option("--threads", flags->options.threads, "Worker threads, 0 for one per core")->capture_default_str();
  cmd->add_option("--scale-errors", flags->options.error_scale,
                  "Multiply every documented error rate (0 for clean records)")
      ->capture_default_str();
  cmd->add_flag("--quiet", flags->quiet, "No progress line or summary on stderr");
  cmd->callback([flags, exit_code] {
    flags->options.progress = !flags->quiet;
    GeneratorSummary summary;
    absl::Status status = Generate(flags->options, flags->out, &summary);
    if (status.code() == absl::StatusCode::kInvalidArgument) {
      // Only the options are checked before writing: a usage error.
      ReportError("generate", status);
      *exit_code = kExitUsage;
      return;
    }
    if (!status.ok()) {
      *exit_code = ReportError("generate", status);
      return;
    }
    if (!flags->quiet) {
      std::fprintf(stderr,
                   "empi generate: %llu persons, %llu records in %zu feeds, %llu objections, "
                   "%.1f s -> %s\n",
                   static_cast<unsigned long long>(summary.persons), static_cast<unsigned long long>(summary.records),
                   summary.records_per_source.size(), static_cast<unsigned long long>(summary.objections),
                   summary.seconds, flags->out.c_str());
    }
    *exit_code = kExitOk;
  });
}

}  // namespace empi::cli
