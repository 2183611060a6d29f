// Copyright EMPI developers.
#include "engine/realtime/objection_form.h"

#include <sstream>
#include <utility>

#include "fmt/format.h"

namespace empi {
namespace {

// Splits one CSV line, honouring double quotes.
std::vector<std::string> CsvSplit(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back().push_back(c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ObjectionFormRow>> ParseObjectionForm(std::string_view text_in, std::string_view origin,
                                                                 index::ObjectionMethod method,
                                                                 std::string_view reference) {
  std::string text(text_in);
  // LF, CRLF or CR line ends, mixed or not.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) text[i] = '\n';
  }
  std::vector<ObjectionFormRow> rows;
  std::istringstream lines(text);
  std::string line;
  uint64_t n = 0;
  // Every row is read and answered; a bad row is refused on its own.
  while (std::getline(lines, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1) {
      if (line.rfind("nhs_number,family_name,given_names,date_of_birth,postcode", 0) != 0) {
        return absl::InvalidArgumentError(fmt::format(
            "{}: line 1: header must be nhs_number,family_name,given_names,date_of_birth,postcode", origin));
      }
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    ObjectionFormRow row;
    row.line = n;
    std::vector<std::string> fields = CsvSplit(line);
    if (line.find('\0') != std::string::npos) {
      row.refused = "NUL byte";
    } else if (fields.size() != 5) {
      row.refused = fmt::format("expected 5 fields, found {}", fields.size());
    }
    if (!row.refused.empty()) {
      rows.push_back(std::move(row));
      continue;
    }
    ObjectionRequest& r = row.request;
    r.nhs_number = fields[0];
    r.family_name = fields[1];
    r.given_names = fields[2];
    r.date_of_birth = fields[3];
    r.postcode = fields[4];
    r.method = method;
    r.reference = reference.empty() ? fmt::format("{}:{}", origin, n) : std::string(reference);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace empi
