// Copyright EMPI developers.
#include "engine/realtime/objection_form.h"

#include <algorithm>
#include <utility>

#include "base/csv.h"
#include "fmt/format.h"

namespace empi {

absl::StatusOr<std::vector<ObjectionFormRow>> ParseObjectionForm(std::string_view text, std::string_view origin,
                                                                 ObjectionMethod method, std::string_view reference) {
  const std::vector<CsvLine> lines = SplitCsvLines(text);
  static const std::vector<std::string> kHeader = {"nhs_number", "family_name", "given_names", "date_of_birth",
                                                   "postcode"};
  // No line at all: nothing to refuse, nothing to do.
  if (lines.empty()) return std::vector<ObjectionFormRow>{};
  if (lines[0].line != 1 || lines[0].fields.size() < kHeader.size() ||
      !std::equal(kHeader.begin(), kHeader.end(), lines[0].fields.begin())) {
    return absl::InvalidArgumentError(
        fmt::format("{}: line 1: header must be nhs_number,family_name,given_names,date_of_birth,postcode", origin));
  }
  // Every row is read and answered; a bad row is refused on its own.
  std::vector<ObjectionFormRow> rows;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string>& fields = lines[i].fields;
    ObjectionFormRow row;
    row.line = lines[i].line;
    if (lines[i].has_nul) {
      row.refused = "NUL byte";
    } else if (fields.size() != 5) {
      row.refused = fmt::format("expected 5 fields, found {}", fields.size());
    }
    if (row.refused.empty()) {
      ObjectionRequest& r = row.request;
      r.nhs_number = fields[0];
      r.family_name = fields[1];
      r.given_names = fields[2];
      r.date_of_birth = fields[3];
      r.postcode = fields[4];
      r.method = method;
      r.reference = reference.empty() ? fmt::format("{}:{}", origin, row.line) : std::string(reference);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace empi
