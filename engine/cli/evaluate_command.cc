// Copyright EMPI developers.
#include "engine/cli/command.h"

namespace empi::cli {

// Placeholder until the command is written.
void RegisterEvaluateCommand(CLI::App& app, int* exit_code) {}

}  // namespace empi::cli
