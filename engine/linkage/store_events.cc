// Copyright EMPI developers.
#include "engine/linkage/store_events.h"

#include <chrono>
#include <string_view>
#include <utility>

namespace empi {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

index::AuditEvent AuditEventFor(const Requester& who, std::string action) {
  index::AuditEvent e;
  e.time_us = NowUs();
  e.requester = who.requester;
  e.organisation = who.organisation;
  e.role = who.role;
  e.purpose = who.purpose;
  e.request_id = who.request_id;
  e.correlation_id = who.correlation_id;
  e.action = std::move(action);
  return e;
}

nlohmann::json RecordsJson(const std::vector<std::string>& keys) {
  nlohmann::json a = nlohmann::json::array();
  for (const std::string& k : keys) {
    std::string_view s, id;
    SplitRecordKey(k, &s, &id);
    a.push_back({{"source", std::string(s)}, {"record_id", std::string(id)}});
  }
  return a;
}

}  // namespace empi
