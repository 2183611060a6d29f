// Copyright EMPI developers.
#include "engine/eval/csv_reader.h"

#include <filesystem>
#include <utility>

#include "empi/status_macros.h"
#include "engine/eval/cat.h"

namespace empi::eval {

absl::StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path) {
  EMPI_ASSIGN_OR_RETURN(auto csv, CsvStreamReader::Open(path));
  auto reader = std::unique_ptr<CsvReader>(new CsvReader(std::move(csv)));
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec) reader->file_size_ = static_cast<int64_t>(size);
  return reader;
}

CsvReader::~CsvReader() = default;

std::string CsvReader::Where() const { return Cat(path(), ":", record_line_); }

int64_t CsvReader::EstimatedRows() const {
  const uint64_t bytes = csv_->bytes_consumed();
  if (bytes == 0) return 0;
  return static_cast<int64_t>(static_cast<double>(file_size_) * static_cast<double>(csv_->lines_consumed()) /
                              static_cast<double>(bytes));
}

absl::StatusOr<bool> CsvReader::Next(std::vector<std::string_view>* fields) {
  absl::StatusOr<bool> more = csv_->Next(&row_);
  if (!more.ok()) {
    // InvalidArgument is a quote never closed; named, like every error
    // here, by the line on which its record began.
    if (!absl::IsInvalidArgument(more.status())) return more.status();
    record_line_ = static_cast<int64_t>(row_.line);
    return absl::InvalidArgumentError(Cat(Where(), ": quoted field not closed before end of file"));
  }
  if (!*more) return false;
  record_line_ = static_cast<int64_t>(row_.line);
  if (row_.bad_quote_field >= 0) {
    return absl::InvalidArgumentError(
        Cat(Where(), ": unexpected text after a closing quote in field ", row_.bad_quote_field + 1));
  }
  fields->assign(row_.fields.begin(), row_.fields.end());
  return true;
}

absl::StatusOr<bool> RowBatch::Fill(CsvReader& csv, size_t max_rows) {
  text_.clear();
  fields_.clear();
  row_start_.assign(1, 0);
  lines_.clear();
  std::vector<std::string_view> fields;
  while (lines_.size() < max_rows) {
    EMPI_ASSIGN_OR_RETURN(bool more, csv.Next(&fields));
    if (!more) break;
    for (std::string_view f : fields) {
      const uint32_t begin = text_.size();
      text_.append(f);
      fields_.emplace_back(begin, static_cast<uint32_t>(text_.size()));
    }
    row_start_.push_back(fields_.size());
    lines_.push_back(csv.line());
  }
  return !lines_.empty();
}

}  // namespace empi::eval
