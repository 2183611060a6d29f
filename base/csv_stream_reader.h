// Copyright EMPI developers.
//
// csv_stream_reader.h: the rows of a CSV file read in chunks, so that a file
// of ten million rows is read in memory bounded by the chunk size and the
// longest row. The parsing is CsvScanner's (csv_scanner.h): the rows, lines
// and errors are those of scanning the whole file at once.
//
//   EMPI_ASSIGN_OR_RETURN(auto csv, empi::CsvStreamReader::Open(path));
//   empi::CsvRow row;
//   while (true) {
//     EMPI_ASSIGN_OR_RETURN(bool more, csv->Next(&row));
//     if (!more) break;
//     ... row.fields, row.line ...
//   }
//
// Thread-safety: a CsvStreamReader is used by one thread at a time.
#ifndef EMPI_BASE_CSV_STREAM_READER_H_
#define EMPI_BASE_CSV_STREAM_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/csv_scanner.h"
#include "base/input_file.h"

namespace empi {

// How CsvStreamReader reads. (Outside the class: GCC cannot use a nested
// struct's member initialisers in a default argument of its own class.)
struct CsvStreamOptions {
  // Behaviour.
  // What separates fields. Default: ','.
  char delimiter = ',';
  // Drop spaces and tabs around fields. Default: true.
  bool trim = true;

  // Performance.
  // Bytes asked of each read (more while one row outgrows what is held).
  // Default: 1 MiB. Tests use a few bytes, to put chunk boundaries at
  // every kind of place in a row.
  size_t chunk_size = size_t{1} << 20;
};

class CsvStreamReader {
 public:
  using Options = CsvStreamOptions;

  // Opens `path`. Returns NotFound if it does not exist and Unavailable if
  // it cannot be opened for another reason.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CsvStreamReader>> Open(const std::string& path,
                                                                             const Options& options = {});

  // Reads `file` from where it stands; `path` names it in messages.
  CsvStreamReader(InputFile file, std::string path, const Options& options = {});
  CsvStreamReader(const CsvStreamReader&) = delete;
  CsvStreamReader& operator=(const CsvStreamReader&) = delete;

  // Reads the next non-blank row into *row and returns true, or returns
  // false at the end of the file. A UTF-8 byte order mark at the start of
  // the file is skipped. The row's views stay valid until the next call.
  // Returns InvalidArgument only for a quote never closed (the message is
  // CsvScanner::UnclosedQuoteError's, and row->line the line on which its
  // row began), and Unavailable on a read error. Text after a closing quote
  // is not an error here: see CsvRow::bad_quote_field.
  [[nodiscard]] absl::StatusOr<bool> Next(CsvRow* row);

  const std::string& path() const { return path_; }
  // Lines of spaces and tabs only skipped so far.
  uint64_t whitespace_lines() const { return scanner_.whitespace_lines(); }
  // The bytes of the file read into rows and skipped lines so far, and the
  // line ends among them: enough to estimate the lines in the whole file.
  uint64_t bytes_consumed() const { return dropped_ + scanner_.consumed(); }
  uint64_t lines_consumed() const { return scanner_.line() - 1; }

 private:
  // Drops the bytes the scanner is done with, reads more after the rest and
  // hands the scanner the new text.
  absl::Status ReadMore();

  InputFile file_;
  std::string path_;
  size_t chunk_size_;
  std::string buffer_;  // the scanner's text is buffer_[0, end_)
  size_t end_ = 0;
  uint64_t dropped_ = 0;  // bytes of the file before buffer_[0]
  bool eof_ = false;
  bool bom_checked_ = false;
  CsvScanner scanner_;
};

}  // namespace empi

#endif  // EMPI_BASE_CSV_STREAM_READER_H_
