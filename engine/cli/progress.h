// Copyright EMPI developers.
//
// progress.h: progress on a terminal for long commands.
//
// On a terminal, Update() redraws one stderr line: stage, units done of
// total, rate and time left; off a terminal it prints one line per stage.
// Finish() ends the line. Logs go to stderr, never stdout, so results piped
// from stdout stay clean.
//
// Thread-safety: Update() may be called from any thread; redraws are
// throttled to ten a second.
#ifndef EMPI_CLI_PROGRESS_H_
#define EMPI_CLI_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace empi::cli {

class Progress {
 public:
  Progress();
  void Update(std::string_view stage, uint64_t done, uint64_t total);
  void Finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::mutex mu_;
  bool tty_;
  std::string stage_;
  Clock::time_point stage_start_, last_draw_;
  bool drawn_ = false;
};

// Peak resident memory of this process, in bytes.
uint64_t PeakMemoryBytes();

}  // namespace empi::cli

#endif  // EMPI_CLI_PROGRESS_H_
