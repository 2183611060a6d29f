// Copyright EMPI developers.
#include "engine/eval/csv_reader.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "empi/status_macros.h"
#include "engine/eval/cat.h"

namespace empi::eval {
namespace {

constexpr size_t kChunk = 1 << 20;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

absl::StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    if (errno == ENOENT) return absl::NotFoundError(Cat(path, ": no such file"));
    return absl::UnavailableError(Cat(path, ": cannot open: ", std::strerror(errno)));
  }
  auto reader = std::unique_ptr<CsvReader>(new CsvReader(path, file));
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec) reader->file_size_ = static_cast<int64_t>(size);
  return reader;
}

CsvReader::CsvReader(std::string path, std::FILE* file) : path_(std::move(path)), file_(file), buffer_(kChunk, '\0') {}

CsvReader::~CsvReader() { std::fclose(file_); }

std::string CsvReader::Where() const { return Cat(path_, ":", record_line_); }

int64_t CsvReader::EstimatedRows() const {
  if (bytes_read_ == 0) return 0;
  return static_cast<int64_t>(static_cast<double>(file_size_) * (next_line_ - 1) / bytes_read_);
}

bool CsvReader::ReadLine(std::string_view* line) {
  size_t scanned = begin_;
  while (true) {
    const void* nl = std::memchr(buffer_.data() + scanned, '\n', end_ - scanned);
    if (nl != nullptr || eof_) {
      size_t stop = nl ? static_cast<const char*>(nl) - buffer_.data() : end_;
      if (nl == nullptr && stop == begin_) return false;
      *line = std::string_view(buffer_.data() + begin_, stop - begin_);
      begin_ = nl ? stop + 1 : stop;
      bytes_read_ += stop - (line->data() - buffer_.data()) + 1;
      if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
      if (next_line_ == 1 && line->substr(0, 3) == "\xEF\xBB\xBF") line->remove_prefix(3);
      ++next_line_;
      return true;
    }
    // No newline among the unread bytes: move them to the front, grow the
    // buffer if one line fills it, and read more.
    size_t unread = end_ - begin_;
    std::memmove(buffer_.data(), buffer_.data() + begin_, unread);
    begin_ = 0;
    end_ = unread;
    scanned = unread;
    if (buffer_.size() - end_ < kChunk / 2) buffer_.resize(buffer_.size() * 2);
    size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
    end_ += got;
    if (got == 0) {
      eof_ = true;
      read_error_ = std::ferror(file_) != 0;
    }
  }
}

absl::StatusOr<bool> CsvReader::Split(std::vector<std::string_view>* fields) {
  fields->clear();
  scratch_.clear();
  scratch_.reserve(record_.size());  // so views into scratch_ stay valid
  const std::string& r = record_;
  const size_t n = r.size();
  size_t i = 0;
  while (true) {
    while (i < n && IsBlank(r[i])) ++i;
    if (i < n && r[i] == '"') {
      size_t start = scratch_.size();
      ++i;
      while (true) {
        if (i >= n) return false;  // the quoted field goes on past this line
        if (r[i] == '"') {
          if (i + 1 < n && r[i + 1] == '"') {
            scratch_.push_back('"');
            i += 2;
          } else {
            ++i;
            break;
          }
        } else {
          scratch_.push_back(r[i++]);
        }
      }
      while (i < n && IsBlank(r[i])) ++i;
      if (i < n && r[i] != ',') {
        return absl::InvalidArgumentError(
            Cat(Where(), ": unexpected text after a closing quote in field ", fields->size() + 1));
      }
      fields->emplace_back(scratch_.data() + start, scratch_.size() - start);
    } else {
      size_t j = r.find(',', i);
      if (j == std::string::npos) j = n;
      size_t k = j;
      while (k > i && IsBlank(r[k - 1])) --k;
      fields->emplace_back(r.data() + i, k - i);
      i = j;
    }
    if (i >= n) return true;
    ++i;  // the comma
    if (i == n) {
      fields->emplace_back();
      return true;
    }
  }
}

absl::StatusOr<bool> CsvReader::Next(std::vector<std::string_view>* fields) {
  std::string_view line;
  do {
    if (!ReadLine(&line)) {
      if (read_error_) return absl::UnavailableError(Cat(path_, ": read error"));
      return false;
    }
  } while (line.empty());
  record_line_ = next_line_ - 1;
  record_.assign(line);
  while (true) {
    absl::StatusOr<bool> complete = Split(fields);
    if (!complete.ok()) return complete.status();
    if (*complete) return true;
    if (!ReadLine(&line)) {
      return absl::InvalidArgumentError(Cat(Where(), ": quoted field not closed before end of file"));
    }
    record_.push_back('\n');
    record_.append(line);
  }
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
