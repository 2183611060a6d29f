// Copyright EMPI developers.
//
// store_events.h: what the engine and the batch jobs write beside their
// changes, built one way: an audit event for a requester, and the record
// list of a history event ({"source", "record_id"} pairs, no demographics).
#ifndef EMPI_ENGINE_LINKAGE_STORE_EVENTS_H_
#define EMPI_ENGINE_LINKAGE_STORE_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "empi/results.h"
#include "index/store.h"
#include "nlohmann/json.hpp"

namespace empi {

// The wall clock in Unix microseconds, as every stored event is dated.
int64_t NowUs();

// An audit event of `action` by `who`, dated now. The requester's request
// and correlation ids, when set, follow the purpose (Requester).
index::AuditEvent AuditEventFor(const Requester& who, std::string action);

// `keys` (record keys, SplitRecordKey) as a JSON array of
// {"source", "record_id"} objects, in the order given.
nlohmann::json RecordsJson(const std::vector<std::string>& keys);

}  // namespace empi

#endif  // EMPI_ENGINE_LINKAGE_STORE_EVENTS_H_
