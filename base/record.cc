// Copyright EMPI developers.
#include "empi/record.h"

#include <algorithm>
#include <array>
#include <cstddef>

#include "absl/strings/str_cat.h"

namespace empi {
namespace {

struct FieldLimit {
  const char* name;
  std::string Record::*field;
  size_t max_bytes;
};

constexpr std::array<FieldLimit, 9> kFieldLimits{{
    {"source", &Record::source, 128},
    {"record_id", &Record::record_id, 255},
    {"nhs_number", &Record::nhs_number, 32},
    {"family_name", &Record::family_name, 255},
    {"given_names", &Record::given_names, 255},
    {"date_of_birth", &Record::date_of_birth, 64},
    {"sex", &Record::sex, 32},
    {"postcode", &Record::postcode, 32},
    {"address", &Record::address, 1024},
}};

}  // namespace

std::string FieldProblem(const Record& r) {
  for (const FieldLimit& limit : kFieldLimits) {
    const std::string& value = r.*limit.field;
    if (value.find('\0') != std::string::npos) return absl::StrCat(limit.name, ": NUL byte");
    if (value.size() > limit.max_bytes) {
      return absl::StrCat(limit.name, ": ", value.size(), " bytes, more than ", limit.max_bytes);
    }
  }
  return "";
}

std::string Record::Key() const {
  std::string key;
  key.reserve(source.size() + 1 + record_id.size());
  key.append(source);
  key.push_back('\0');
  key.append(record_id);
  return key;
}

bool IsGpPracticeCode(std::string_view source) {
  return source.size() == 6 && source[0] >= 'A' && source[0] <= 'Z' &&
         std::all_of(source.begin() + 1, source.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool SplitRecordKey(std::string_view key, std::string_view* source, std::string_view* record_id) {
  size_t nul = key.find('\0');
  if (nul == std::string_view::npos) return false;
  *source = key.substr(0, nul);
  *record_id = key.substr(nul + 1);
  return true;
}

}  // namespace empi
