// Copyright EMPI developers.
#include "engine/cli/progress.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace empi::cli {

Progress::Progress() : tty_(isatty(STDERR_FILENO) == 1) {}

void Progress::Update(std::string_view stage, uint64_t done, uint64_t total) {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = Clock::now();
  bool new_stage = stage != stage_;
  if (new_stage) {
    if (drawn_ && tty_) std::fputc('\n', stderr);
    stage_ = stage;
    stage_start_ = now;
    drawn_ = false;
  }
  bool last = total != 0 && done >= total;
  if (!tty_) {
    if (last || new_stage) {
      std::fprintf(stderr, "%s: %llu%s%s\n", stage_.c_str(), static_cast<unsigned long long>(done), total ? " of " : "",
                   total ? std::to_string(total).c_str() : "");
    }
    return;
  }
  if (!last && !new_stage && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double secs = std::chrono::duration<double>(now - stage_start_).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  char eta[32] = "";
  if (total > done && rate > 0) {
    std::snprintf(eta, sizeof(eta), ", %.0f s left", static_cast<double>(total - done) / rate);
  }
  int width = 30;
  int filled = total ? static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total)) : 0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(static_cast<size_t>(width), '.');
  std::fprintf(stderr, "\r%-26s [%s] %llu/%llu  %.0f/s%s   ", stage_.c_str(), bar.c_str(),
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), rate, eta);
  drawn_ = true;
}

void Progress::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (drawn_ && tty_) std::fputc('\n', stderr);
  drawn_ = false;
  stage_.clear();
}

uint64_t PeakMemoryBytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

}  // namespace empi::cli
