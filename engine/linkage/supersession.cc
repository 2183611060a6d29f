// Copyright EMPI developers.
#include "engine/linkage/supersession.h"

#include "absl/strings/str_cat.h"
#include "base/csv.h"
#include "empi/status_macros.h"
#include "index/store.h"
#include "matchers/nhs_number.h"

namespace empi {

absl::StatusOr<bool> NhsSupersessions::Add(uint64_t old_nhs, uint64_t new_nhs) {
  if (old_nhs == new_nhs) {
    return absl::InvalidArgumentError("new_nhs_number: the same number as old_nhs_number");
  }
  const uint64_t target = Current(new_nhs);
  if (auto it = next_.find(old_nhs); it != next_.end()) {
    if (Current(old_nhs) == target) return false;
    return absl::InvalidArgumentError(
        "old_nhs_number: already superseded by another number (a national resolution names one successor)");
  }
  if (target == old_nhs) {
    return absl::InvalidArgumentError("new_nhs_number: superseded, through other supersessions, by old_nhs_number");
  }
  next_.emplace(old_nhs, new_nhs);
  return true;
}

uint64_t NhsSupersessions::Current(uint64_t nhs) const {
  // Add refuses cycles, so the chain ends; the bound guards a damaged store.
  for (size_t steps = 0; steps <= next_.size(); ++steps) {
    auto it = next_.find(nhs);
    if (it == next_.end()) return nhs;
    nhs = it->second;
  }
  return nhs;
}

absl::StatusOr<NhsSupersessions> LoadSupersessions(const index::Store& store) {
  NhsSupersessions out;
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(store.ForEachSupersession([&](uint64_t old_nhs, uint64_t new_nhs, int64_t) {
    absl::StatusOr<bool> added = out.Add(old_nhs, new_nhs);
    if (!added.ok())
      bad = absl::DataLossError(absl::StrCat("manual: stored supersessions: ", added.status().message()));
    return added.ok();
  }));
  EMPI_RETURN_IF_ERROR(bad);
  return out;
}

absl::StatusOr<std::vector<SupersessionRow>> ParseSupersessionFeed(std::string_view text, std::string_view file) {
  const std::vector<CsvLine> rows = SplitCsvLines(text);
  if (rows.empty() || rows[0].line != 1 || rows[0].fields.size() < 2 || rows[0].fields[0] != "old_nhs_number" ||
      rows[0].fields[1] != "new_nhs_number") {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(file), ": line 1: header must be old_nhs_number,new_nhs_number"));
  }
  std::vector<SupersessionRow> out;
  for (size_t i = 1; i < rows.size(); ++i) {
    const CsvLine& row = rows[i];
    SupersessionRow r;
    r.line = row.line;
    if (row.has_nul) {
      r.refused = "NUL byte";
    } else if (row.fields.size() < 2) {
      r.refused = absl::StrCat("expected 2 fields, found ", row.fields.size());
    } else if (auto o = ParseNhsNumber(row.fields[0]); !o) {
      r.refused = "old_nhs_number: not a valid NHS number";
    } else if (auto n = ParseNhsNumber(row.fields[1]); !n) {
      r.refused = "new_nhs_number: not a valid NHS number";
    } else if (*o == *n) {
      r.refused = "new_nhs_number: the same number as old_nhs_number";
    } else {
      r.old_nhs = *o;
      r.new_nhs = *n;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace empi
