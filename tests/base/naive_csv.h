// Copyright EMPI developers.
//
// naive_csv.h: a deliberately naive twin of CsvScanner (base/csv_scanner.h),
// written from its documented rules a byte at a time, copying every value
// and counting lines as it goes: no views, no memchr, no escape pool, no
// streaming. Tests check the fast scanner against it.
#ifndef EMPI_TESTS_BASE_NAIVE_CSV_H_
#define EMPI_TESTS_BASE_NAIVE_CSV_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace empi {

struct NaiveCsvRow {
  std::vector<std::string> fields;
  uint64_t line = 0;
  std::string raw;
  int bad_quote_field = -1;

  bool operator==(const NaiveCsvRow&) const = default;
};

struct NaiveCsv {
  std::vector<NaiveCsvRow> rows;  // up to an unclosed quote, if any
  uint64_t whitespace_lines = 0;
  bool unclosed_quote = false;
  uint64_t quote_line = 0;
  size_t quote_column = 0;
};

inline NaiveCsv NaiveCsvParse(std::string_view t, char delimiter, bool trim) {
  NaiveCsv out;
  // Spaces and tabs, unless one is the delimiter.
  auto blank = [&](char c) { return (c == ' ' || c == '\t') && c != delimiter; };
  // The length of the line end at t[k]: LF, CRLF, or a CR that ends the text.
  auto line_end = [&](size_t k) -> size_t {
    if (k >= t.size()) return 0;
    if (t[k] == '\n') return 1;
    if (t[k] == '\r' && k + 1 == t.size()) return 1;
    if (t[k] == '\r' && t[k + 1] == '\n') return 2;
    return 0;
  };
  size_t i = 0;
  uint64_t line = 1;
  size_t line_start = 0;
  auto step = [&] {
    if (t[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
    ++i;
  };
  while (i < t.size()) {
    // An empty line, or one of blanks only, holds no row.
    size_t j = i;
    while (j < t.size() && blank(t[j])) ++j;
    if (j == t.size() || line_end(j) > 0) {
      if (j > i) ++out.whitespace_lines;
      for (size_t stop = j + line_end(j); i < stop;) step();
      continue;
    }
    NaiveCsvRow row;
    row.line = line;
    const size_t row_start = i;
    while (true) {
      if (trim) {
        while (i < t.size() && blank(t[i])) step();
      }
      std::string value;
      if (i < t.size() && t[i] == '"') {
        const uint64_t open_line = line;
        const size_t open_column = i - line_start + 1;
        step();
        bool closed = false;
        while (i < t.size()) {
          if (t[i] == '"' && i + 1 < t.size() && t[i + 1] == '"') {
            value += '"';
            step();
            step();
          } else if (t[i] == '"') {
            step();
            closed = true;
            break;
          } else {
            value += t[i];
            step();
          }
        }
        if (!closed) {
          out.unclosed_quote = true;
          out.quote_line = open_line;
          out.quote_column = open_column;
          return out;
        }
        while (i < t.size() && blank(t[i])) step();
        if (i < t.size() && t[i] != delimiter && line_end(i) == 0) {
          if (row.bad_quote_field < 0) row.bad_quote_field = static_cast<int>(row.fields.size());
          while (i < t.size() && t[i] != delimiter && t[i] != '\n') step();
        }
      } else {
        while (i < t.size() && t[i] != delimiter && t[i] != '\n') {
          value += t[i];
          step();
        }
        // The CR of a CRLF (or of a CR ending the text) is no part of it.
        if (!value.empty() && value.back() == '\r' && (i == t.size() || t[i] == '\n')) value.pop_back();
        while (trim && !value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      }
      row.fields.push_back(value);
      if (i < t.size() && t[i] == delimiter) {
        step();
        continue;
      }
      break;
    }
    row.raw = std::string(t.substr(row_start, i - row_start));
    if (!row.raw.empty() && row.raw.back() == '\r') row.raw.pop_back();
    for (size_t stop = i + line_end(i); i < stop;) step();
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace empi

#endif  // EMPI_TESTS_BASE_NAIVE_CSV_H_
