// Copyright EMPI developers.
#include "empi/record.h"

namespace empi {

std::string Record::Key() const {
  std::string key;
  key.reserve(source.size() + 1 + record_id.size());
  key.append(source);
  key.push_back('\0');
  key.append(record_id);
  return key;
}

bool SplitRecordKey(std::string_view key, std::string_view* source, std::string_view* record_id) {
  size_t nul = key.find('\0');
  if (nul == std::string_view::npos) return false;
  *source = key.substr(0, nul);
  *record_id = key.substr(nul + 1);
  return true;
}

}  // namespace empi
