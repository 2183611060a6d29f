// Copyright EMPI developers.
//
// csv.h: writing CSV fields (RFC 4180), and reading the small CSV files
// people write by hand (objection forms, NHS number supersessions).
//
//   std::string line;
//   empi::AppendCsvField("12, High Street", &line);  // "\"12, High Street\""
//   for (const empi::CsvLine& row : empi::SplitCsvLines(text)) { ... }
//
// Thread-safety: pure functions.
#ifndef EMPI_BASE_CSV_H_
#define EMPI_BASE_CSV_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace empi {

// Appends `field` to *out, quoted (with inner quotes doubled) only when it
// holds a comma, a quote or a line break.
void AppendCsvField(std::string_view field, std::string* out);

// Splits one CSV line into fields, honouring double quotes (a doubled
// quote inside quotes is one quote); carriage returns are dropped.
std::vector<std::string> SplitCsvLine(std::string_view line);

// One line of a CSV file: its number (from 1) and fields.
struct CsvLine {
  uint64_t line = 0;
  std::vector<std::string> fields;
  bool has_nul = false;  // the line holds a NUL byte: a bad row, not a bad file
};

// The lines of `text`, whose line ends may be LF, CRLF or CR, mixed or not;
// lines of nothing but spaces and tabs are skipped (their numbers are not
// reused). The first row returned is the header. Quoted fields do not span
// lines.
//
// Not CsvScanner's rules (csv_scanner.h), on purpose: a form typed by hand
// is answered row by row, so a quote left open spoils its own line only
// (the rest of the line is its field), where the scanner refuses the whole
// file; a quote may open anywhere in a field and text after a closing quote
// joins the field; nothing is trimmed; a lone CR ends a line.
std::vector<CsvLine> SplitCsvLines(std::string_view text);

}  // namespace empi

#endif  // EMPI_BASE_CSV_H_
