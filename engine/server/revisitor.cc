// Copyright EMPI developers.
#include "engine/server/revisitor.h"

#include <iostream>

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

void Revisitor::RevisitOnce() {
  static const Requester kWho{"empi serve", "local", "system", "operations"};
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<RevisitResult> r = engine_->RevisitIngested(kWho);
  // While the model is untrusted the records wait for its estimate, which
  // relinks every record (the server said so at start).
  if (absl::IsFailedPrecondition(r.status())) return;
  nlohmann::json line{{"event", "revisit"}};
  if (!r.ok()) {
    line["error"] = r.status().ToString();
  } else if (r->placed == 0) {
    return;
  } else {
    line["placed"] = r->placed;
    line["persons"] = r->persons;
    line["records"] = r->records;
    line["records_moved"] = r->records_moved;
    line["persons_new"] = r->persons_new;
    line["persons_removed"] = r->persons_removed;
    line["review_pairs_before"] = r->review_pairs_before;
    line["review_pairs"] = r->review_pairs;
  }
  line["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << line.dump() << std::endl;
}

}  // namespace empi::server
