// Copyright EMPI developers.
//
// csv_scanner.h: the one RFC 4180 CSV parser, a hand-written state machine
// over text in memory. It reads the patient feeds (the whole file at once,
// ten million rows) and, through CsvStreamReader, the evaluation inputs
// (streamed in chunks with bounded memory).
//
// What it accepts: fields separated by a configurable delimiter; a field
// that starts with a quote (after blanks, when trimming) runs to the
// matching closing quote and may hold delimiters, line breaks and doubled
// quotes (""); line ends are LF or CRLF (a lone CR is data); blank lines are
// skipped, and lines of spaces and tabs only are skipped and counted. With
// `trim`, spaces and tabs around unquoted fields and around quoted ones are
// dropped. Text after a closing quote does not stop the scan: the row is
// marked (CsvRow::bad_quote_field) so that the caller can refuse that row
// alone. A quote never closed ends the scan (kUnclosedQuote).
//
// Whole input in memory:
//
//   empi::CsvScanner scanner(text, /*start=*/0, ',', /*trim=*/true);
//   empi::CsvRow row;
//   while (scanner.Next(&row) == empi::CsvScanner::Result::kRow) { ... row.fields ... }
//
// Streaming (see CsvStreamReader, the one user): construct with
// final=false, and on kNeedMore keep the bytes from consumed() on, append
// more input after them and call Refill(); the scanner rescans the
// unfinished row from its start with its line count as it was.
//
// Thread-safety: a CsvScanner is used by one thread at a time.
#ifndef EMPI_BASE_CSV_SCANNER_H_
#define EMPI_BASE_CSV_SCANNER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace empi {

// One row of a CSV text.
struct CsvRow {
  // The values, unquoted and unescaped. A value without "" escapes is a view
  // into the scanned text; one with escapes is a view into the scanner's own
  // storage. Either stays valid until the scanner's next Next() (and, when
  // streaming, while the caller keeps the text it gave).
  std::vector<std::string_view> fields;
  uint64_t line = 0;         // the 1-based line on which the row starts
  std::string_view raw;      // the row's text without its line end
  int bad_quote_field = -1;  // first field with text after its closing quote
};

class CsvScanner {
 public:
  enum class Result {
    kRow,            // *row holds the next row
    kEnd,            // no more rows
    kNeedMore,       // (not final) the next row may run past the text given
    kUnclosedQuote,  // a quote never closed: the scan is over
  };

  // Scans data[start, end). `start` skips a prefix such as a byte order mark
  // (columns in messages count from it). `final`: the text is all there is;
  // otherwise a row that reaches the end of the text is not returned but
  // reported as kNeedMore. The caller keeps `data` alive.
  CsvScanner(std::string_view data, size_t start, char delimiter, bool trim, bool final = true);

  // Reads the next non-blank row into *row. On kUnclosedQuote, row->line is
  // the line on which the row began and quote_line()/quote_column() say
  // where the quote opened. On kNeedMore nothing of the unfinished row
  // counts: consumed(), line() and whitespace_lines() stand at its start
  // (blank lines before it stay skipped), so that Refill() rescans it whole.
  [[nodiscard]] Result Next(CsvRow* row);

  // The offset in the current text of the first byte not yet scanned into a
  // returned row or a skipped line. Bytes before it may be discarded.
  size_t consumed() const { return pos_; }

  // Continues over `data`, which must begin with the bytes of the previous
  // text from consumed() on, followed by any new input; `final` as in the
  // constructor. Rows already returned become invalid.
  void Refill(std::string_view data, bool final);

  // Lines of spaces and tabs only skipped so far.
  uint64_t whitespace_lines() const { return whitespace_lines_; }
  // The line the scan has reached: 1 + the line ends consumed so far.
  uint64_t line() const { return line_; }
  // After kUnclosedQuote: where the quote opened (1-based; the column counts
  // bytes).
  uint64_t quote_line() const { return quote_line_; }
  size_t quote_column() const { return quote_column_; }
  // After kUnclosedQuote: "path:line:col: quoted field is never closed
  // (quote opened here)" as InvalidArgument.
  absl::Status UnclosedQuoteError(const std::string& path) const;

 private:
  // What a kNeedMore puts back.
  struct Mark {
    size_t pos;
    size_t line_start;
    uint64_t line;
    uint64_t whitespace_lines;
  };
  Mark Save() const { return {pos_, line_start_, line_, whitespace_lines_}; }
  Result Restore(const Mark& mark);

  void NewLineAt(size_t offset) {
    ++line_;
    line_start_ = offset + 1;
  }
  // Spaces and tabs, but never the delimiter (a tab-delimited file has
  // empty fields as adjacent tabs).
  void SkipBlanks() {
    while (pos_ < d_.size() && (d_[pos_] == ' ' || d_[pos_] == '\t') && d_[pos_] != delim_) ++pos_;
  }
  bool AtLineEnd() const {
    return d_[pos_] == '\n' || (d_[pos_] == '\r' && (pos_ + 1 == d_.size() || d_[pos_ + 1] == '\n'));
  }
  // pos_ is at an opening quote. Leaves pos_ after the closing quote and
  // returns true, or returns false if there is none in the text.
  bool ScanQuoted(std::string_view* value);

  std::string_view d_;
  size_t pos_;
  size_t line_start_;  // offset of the current line's first byte
  uint64_t line_ = 1;
  const char delim_;
  const bool trim_;
  bool final_;
  std::deque<std::string> pool_;  // unescaped values; a deque never moves them
  size_t pool_used_ = 0;
  uint64_t whitespace_lines_ = 0;
  uint64_t quote_line_ = 0;
  size_t quote_column_ = 0;
};

}  // namespace empi

#endif  // EMPI_BASE_CSV_SCANNER_H_
