// Copyright EMPI developers.
//
// csv_reader.h: the evaluation inputs (truth, clusters, hard cases), which
// may hold ten million rows, read as CSV in bounded memory: the base
// CsvStreamReader (one parser for feeds and these), strict about bad rows.
//
// Quoted fields may hold commas, doubled quotes ("") and line breaks.
// Fields are trimmed of surrounding spaces and tabs (FEBRL files put a space
// after each comma); line ends are LF or CRLF; blank lines, and lines of
// spaces and tabs only, are skipped; a UTF-8 byte order mark at the start of
// the file is ignored. Unlike a feed, where such a row is quarantined, text
// after a closing quote is an error: these files are written by programs.
//
//   EMPI_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(path));
//   std::vector<std::string_view> fields;
//   while (true) {
//     EMPI_ASSIGN_OR_RETURN(bool more, csv->Next(&fields));
//     if (!more) break;
//     ... csv->Where() names "path:line" for error messages ...
//   }
//
// Thread-safety: a CsvReader is used by one thread at a time.
#ifndef EMPI_ENGINE_EVAL_CSV_READER_H_
#define EMPI_ENGINE_EVAL_CSV_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/csv_stream_reader.h"

namespace empi::eval {

class CsvReader {
 public:
  // Opens `path` for reading. Returns NotFound if it does not exist and
  // Unavailable if it cannot be opened for another reason.
  static absl::StatusOr<std::unique_ptr<CsvReader>> Open(const std::string& path);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into *fields and returns true, or returns false at
  // end of file. The views stay valid until the next call. Returns
  // InvalidArgument naming path and line for an unterminated quoted field or
  // text after a closing quote, and Unavailable on a read error.
  [[nodiscard]] absl::StatusOr<bool> Next(std::vector<std::string_view>* fields);

  // The 1-based line on which the record last returned began.
  int64_t line() const { return record_line_; }
  const std::string& path() const { return csv_->path(); }
  // "path:line" of the record last returned, for error messages.
  std::string Where() const;
  // The records in the whole file, estimated from its size and the bytes per
  // line so far (for reserving memory); 0 if unknown.
  int64_t EstimatedRows() const;

 private:
  explicit CsvReader(std::unique_ptr<CsvStreamReader> csv) : csv_(std::move(csv)) {}

  std::unique_ptr<CsvStreamReader> csv_;
  CsvRow row_;
  int64_t file_size_ = 0;
  int64_t record_line_ = 0;
};

// Up to a batch of rows copied out of a CsvReader, so that a caller can
// prefetch (Interner::Prefetch) for every row before using any.
class RowBatch {
 public:
  // Replaces the contents with up to `max_rows` further records of `csv`.
  // Returns false at end of file (and the batch is empty).
  [[nodiscard]] absl::StatusOr<bool> Fill(CsvReader& csv, size_t max_rows);

  size_t size() const { return lines_.size(); }
  size_t num_fields(size_t row) const { return row_start_[row + 1] - row_start_[row]; }
  // Field `col` of row `row` (col < num_fields(row)).
  std::string_view field(size_t row, size_t col) const {
    const auto [begin, end] = fields_[row_start_[row] + col];
    return std::string_view(text_.data() + begin, end - begin);
  }
  // The line on which row `row` began.
  int64_t line(size_t row) const { return lines_[row]; }

 private:
  std::string text_;
  std::vector<std::pair<uint32_t, uint32_t>> fields_;  // [begin, end) in text_
  std::vector<uint32_t> row_start_;                    // index into fields_
  std::vector<int64_t> lines_;
};

}  // namespace empi::eval

#endif  // EMPI_ENGINE_EVAL_CSV_READER_H_
