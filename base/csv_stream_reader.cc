// Copyright EMPI developers.
#include "base/csv_stream_reader.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/input_file.h"
#include "empi/status_macros.h"

namespace empi {

absl::StatusOr<std::unique_ptr<CsvStreamReader>> CsvStreamReader::Open(const std::string& path,
                                                                       const Options& options) {
  EMPI_ASSIGN_OR_RETURN(InputFile file, OpenInputFile(path, "CSV file"));
  return std::make_unique<CsvStreamReader>(std::move(file), path, options);
}

CsvStreamReader::CsvStreamReader(InputFile file, std::string path, const Options& options)
    : file_(std::move(file)),
      path_(std::move(path)),
      chunk_size_(std::max<size_t>(options.chunk_size, 1)),
      scanner_(std::string_view(), 0, options.delimiter, options.trim, /*final=*/false) {}

absl::StatusOr<bool> CsvStreamReader::Next(CsvRow* row) {
  while (true) {
    switch (scanner_.Next(row)) {
      case CsvScanner::Result::kRow: return true;
      case CsvScanner::Result::kEnd: return false;
      case CsvScanner::Result::kUnclosedQuote: return scanner_.UnclosedQuoteError(path_);
      case CsvScanner::Result::kNeedMore: EMPI_RETURN_IF_ERROR(ReadMore()); break;
    }
  }
}

absl::Status CsvStreamReader::ReadMore() {
  const size_t done = scanner_.consumed();
  const size_t kept = end_ - done;
  std::memmove(buffer_.data(), buffer_.data() + done, kept);
  dropped_ += done;
  end_ = kept;
  // The scanner rescans an unfinished row from its start: reading at least
  // as much again as is held keeps the rescans of a long row linear in its
  // length, and grows the buffer only as far as the longest row needs.
  const size_t want = std::max(chunk_size_, kept);
  if (buffer_.size() - end_ < want) buffer_.resize(std::max(buffer_.size() * 2, end_ + want));
  const size_t got = std::fread(buffer_.data() + end_, 1, want, file_.get());
  end_ += got;
  // fread stops short only at the end of the file or on an error.
  if (got < want) {
    if (std::ferror(file_.get()) != 0) return absl::UnavailableError(absl::StrCat(path_, ": read error"));
    eof_ = true;
  }
  if (!bom_checked_ && (end_ >= 3 || eof_)) {
    bom_checked_ = true;
    if (std::string_view(buffer_.data(), end_).substr(0, 3) == "\xEF\xBB\xBF") {
      // Dropped like bytes already scanned: columns count from after it, as
      // when the scanner is given the whole file and told to start at 3.
      std::memmove(buffer_.data(), buffer_.data() + 3, end_ - 3);
      end_ -= 3;
      dropped_ += 3;
    }
  }
  // Until the mark is ruled in or out, the text is too short to scan.
  if (!bom_checked_) {
    scanner_.Refill(std::string_view(), false);
    return absl::OkStatus();
  }
  scanner_.Refill(std::string_view(buffer_.data(), end_), eof_);
  return absl::OkStatus();
}

}  // namespace empi
