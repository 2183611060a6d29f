// Copyright EMPI developers.
#include "engine/server/revisitor.h"

#include <iostream>
#include <thread>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace empi::server {

Revisitor::Revisitor(Engine* engine, std::chrono::seconds interval)
    : engine_(engine), interval_(interval), thread_([this] { Run(); }) {}

Revisitor::~Revisitor() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void Revisitor::Run() {
  for (;;) {
    RevisitOnce();
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::FromChrono(interval_))) return;
  }
}

bool Revisitor::Stopping() {
  absl::MutexLock lock(&mu_);
  return stop_;
}

void Revisitor::RevisitOnce() {
  static const Requester kWho{"empi serve", "local", "system", "operations"};
  const auto start = std::chrono::steady_clock::now();
  RevisitResult total;
  int steps = 0;
  nlohmann::json line{{"event", "revisit"}};
  for (total.more = true; total.more && !Stopping(); ++steps) {
    // Ingests wait for each step, not for the whole revisit.
    if (steps > 0) std::this_thread::sleep_for(kPause);
    absl::StatusOr<RevisitResult> r = engine_->RevisitIngested(kWho, kStepRecords);
    // While the model is untrusted the records wait for its estimate, which
    // relinks every record (the server said so at start).
    if (absl::IsFailedPrecondition(r.status())) break;
    if (!r.ok()) {
      line["error"] = r.status().ToString();
      break;
    }
    total += *r;
  }
  if (total.placed == 0 && !line.contains("error")) return;
  line["placed"] = total.placed;
  line["steps"] = steps;
  line["persons"] = total.persons;
  line["records"] = total.records;
  line["records_moved"] = total.records_moved;
  line["persons_new"] = total.persons_new;
  line["persons_removed"] = total.persons_removed;
  line["review_pairs_before"] = total.review_pairs_before;
  line["review_pairs"] = total.review_pairs;
  line["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << line.dump() << std::endl;
}

}  // namespace empi::server
