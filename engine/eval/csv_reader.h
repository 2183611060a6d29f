// Copyright EMPI developers.
//
// csv_reader.h: a small, fast, streaming RFC 4180 reader for the evaluation
// inputs (truth, clusters, hard cases), which may hold ten million rows.
//
// Quoted fields may hold commas, doubled quotes ("") and line breaks.
// Unquoted fields are trimmed of surrounding spaces and tabs (FEBRL files put
// a space after each comma); a trailing \r is dropped; blank lines are
// skipped; a UTF-8 byte order mark at the start of the file is ignored.
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
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

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
  const std::string& path() const { return path_; }
  // "path:line" of the record last returned, for error messages.
  std::string Where() const;
  // The records in the whole file, estimated from its size and the bytes per
  // line so far (for reserving memory); 0 if unknown.
  int64_t EstimatedRows() const;

 private:
  CsvReader(std::string path, std::FILE* file);
  // Sets *line to the next physical line (without \n or \r); false at EOF.
  bool ReadLine(std::string_view* line);
  // Splits record_ into fields. Returns false if it ends inside quotes.
  absl::StatusOr<bool> Split(std::vector<std::string_view>* fields);

  std::string path_;
  std::FILE* file_;
  std::string buffer_;
  size_t begin_ = 0;  // unread bytes are buffer_[begin_, end_)
  size_t end_ = 0;
  bool eof_ = false;
  bool read_error_ = false;
  int64_t next_line_ = 1;
  int64_t file_size_ = 0;
  int64_t bytes_read_ = 0;  // lines returned by ReadLine, with their newlines
  int64_t record_line_ = 0;
  std::string record_;   // the current record's text, lines joined by \n
  std::string scratch_;  // unescaped quoted fields
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
