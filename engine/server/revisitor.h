// Copyright EMPI developers.
//
// revisitor.h: the records a service's ingests placed, revisited in the
// background (Engine::RevisitIngested), as `empi ingest` revisits each file.
//
// Ingest places one record at a time with what is stored when it arrives;
// a later record can show that an earlier decision was wrong (two persons
// one record matched, a twin placed before the other). `empi serve` runs a
// Revisitor so that a store fed only by POST /Patient is relinked as one
// batch link of its neighbourhoods would be. A revisit goes in steps of
// about kStepRecords records, each holding the engine's writer lock (ingests
// wait for a step, not the whole revisit; reads do not wait); what it
// revisits is marked in the store, so a server killed before revisiting
// revisits at its next start.
//
//   Revisitor revisits(engine, std::chrono::seconds(5));  // until destroyed
//
// Each revisit that found records is logged to stderr as one JSON line
// (event "revisit": counts and seconds, no patient data).
//
// Thread-safety: construct and destroy on one thread; the engine must
// outlive it.
#ifndef EMPI_ENGINE_SERVER_REVISITOR_H_
#define EMPI_ENGINE_SERVER_REVISITOR_H_

#include <chrono>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "empi/engine.h"

namespace empi::server {

class Revisitor {
 public:
  // Revisits at once, then every `interval` until destroyed.
  Revisitor(Engine* engine, std::chrono::seconds interval);
  // Stops after the revisit step in progress, if any.
  ~Revisitor();
  Revisitor(const Revisitor&) = delete;
  Revisitor& operator=(const Revisitor&) = delete;

 private:
  // On the 1M-record store at 800 ingests/s, a 5-second revisit took 2 to
  // 3 s in 6 or 7 steps, and ingest's p99 went from 1.5 to 0.75 s
  // (docs/benchmarks.md, "The service on Boost.Beast").
  static constexpr uint64_t kStepRecords = 1000;
  // Between steps, so that the ingests waiting take the lock first.
  static constexpr std::chrono::milliseconds kPause{5};

  void Run();
  void RevisitOnce();
  bool Stopping() ABSL_LOCKS_EXCLUDED(mu_);

  Engine* const engine_;
  const std::chrono::seconds interval_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: started once the members above are set
};

}  // namespace empi::server

#endif  // EMPI_ENGINE_SERVER_REVISITOR_H_
