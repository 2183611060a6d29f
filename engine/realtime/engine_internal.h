// Copyright EMPI developers.
//
// engine_internal.h: what EMPI's own code needs of an Engine beyond the
// public API (empi/engine.h): its store, for the command-line tool's
// audited scans, the batch linker and tests; opening on a fault-injecting
// RocksDB Env; and the pending-objection steps of a batch link.
//
//   EMPI_ASSIGN_OR_RETURN(auto engine, empi::Engine::Open({}, path));
//   index::Store* store = empi::StoreOf(engine.get());
//
// Thread-safety: as the Engine's. The store is safe for concurrent reads;
// a caller writing through it bypasses the engine's writer mutex and must
// not run while the engine changes anything.
#ifndef EMPI_ENGINE_REALTIME_ENGINE_INTERNAL_H_
#define EMPI_ENGINE_REALTIME_ENGINE_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "empi/engine.h"
#include "index/store.h"

namespace rocksdb {
class Env;
}

namespace empi {

// The store under an engine made by Engine::Open or OpenEngineWithEnv.
// Owned by the engine; valid while it lives.
index::Store* StoreOf(Engine* engine);

// Engine::Open, with the store on `env` (index::StoreOptions::env): tests
// pass a fault-injecting FileSystem. `env` must outlive the engine;
// nullptr is RocksDB's default Env.
absl::StatusOr<std::unique_ptr<Engine>> OpenEngineWithEnv(const EngineOptions& options, const std::string& path,
                                                          rocksdb::Env* env);

// Applies every pending objection whose NHS number is now held by a stored
// record to that record's person, and drops it from the pending list.
// A batch link calls this after linking, with its own identity (audited as
// the requester). Returns how many were applied.
absl::StatusOr<uint64_t> ApplyPendingObjections(index::Store* store,
                                                const Requester& who = Requester{"empi link", "local", "operator",
                                                                                 "operations"});

// Whether a key of Store::ForEachPendingObjection is a demographic form's
// (applied by Engine::ApplyPendingForms) rather than an NHS number's.
bool IsPendingFormKey(std::string_view key);

}  // namespace empi

#endif  // EMPI_ENGINE_REALTIME_ENGINE_INTERNAL_H_
