// Copyright EMPI developers.
#include "engine/cli/command.h"

namespace empi::cli {

// Placeholder until the command is written.
void RegisterLinkCommands(CLI::App& app, int* exit_code) {}

}  // namespace empi::cli
