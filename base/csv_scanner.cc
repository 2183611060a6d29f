// Copyright EMPI developers.
#include "base/csv_scanner.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace empi {

CsvScanner::CsvScanner(std::string_view data, size_t start, char delimiter, bool trim, bool final)
    : d_(data), pos_(start), line_start_(start), delim_(delimiter), trim_(trim), final_(final) {}

void CsvScanner::Refill(std::string_view data, bool final) {
  // The new text starts at the old consumed(); offsets move back by as much.
  line_start_ -= pos_;
  pos_ = 0;
  d_ = data;
  final_ = final;
}

CsvScanner::Result CsvScanner::Restore(const Mark& mark) {
  pos_ = mark.pos;
  line_start_ = mark.line_start;
  line_ = mark.line;
  whitespace_lines_ = mark.whitespace_lines;
  return Result::kNeedMore;
}

absl::Status CsvScanner::UnclosedQuoteError(const std::string& path) const {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ":", quote_line_, ":", quote_column_, ": quoted field is never closed (quote opened here)"));
}

// When not final, every decision below that looks at the byte after the one
// in hand could change with more input; rather than track each, a row is
// returned only once its line end is in the text, and a row (or blank line)
// that reaches the end of the text is put back whole. Rows are short next to
// the chunks they are read in, so rescanning one now and then costs little.
CsvScanner::Result CsvScanner::Next(CsvRow* row) {
  const size_t n = d_.size();
  Mark mark = Save();
  // Skip blank lines: they hold no data. Lines of spaces and tabs only
  // (other than the delimiter) are counted.
  while (true) {
    if (pos_ >= n) return final_ ? Result::kEnd : Restore(mark);
    if (d_[pos_] == '\n') {
      NewLineAt(pos_++);
      mark = Save();
      continue;
    }
    if (d_[pos_] == '\r' && (pos_ + 1 == n || d_[pos_ + 1] == '\n')) {
      ++pos_;
      continue;
    }
    size_t end = pos_;
    while (end < n && (d_[end] == ' ' || d_[end] == '\t') && d_[end] != delim_) ++end;
    if (end == pos_) break;
    if (end < n && d_[end] == '\r' && (end + 1 == n || d_[end + 1] == '\n')) ++end;
    if (end < n && d_[end] != '\n') break;
    ++whitespace_lines_;
    pos_ = end;
  }

  row->fields.clear();
  row->bad_quote_field = -1;
  row->line = line_;
  pool_used_ = 0;
  const size_t row_start = pos_;
  size_t row_end;
  while (true) {
    if (trim_) SkipBlanks();
    std::string_view value;
    if (pos_ < n && d_[pos_] == '"') {
      if (!ScanQuoted(&value)) {
        if (!final_) return Restore(mark);
        pos_ = n;  // the scan is over: later calls return Result::kEnd
        return Result::kUnclosedQuote;
      }
      SkipBlanks();
      if (pos_ < n && d_[pos_] != delim_ && !AtLineEnd()) {
        if (row->bad_quote_field < 0) {
          row->bad_quote_field = static_cast<int>(row->fields.size());
        }
        while (pos_ < n && d_[pos_] != delim_ && d_[pos_] != '\n') ++pos_;
      }
    } else {
      size_t begin = pos_;
      const char* p = d_.data() + pos_;
      const char* end = d_.data() + n;
      const char delim = delim_;
      while (p < end && *p != delim && *p != '\n') ++p;
      pos_ = p - d_.data();
      size_t stop = pos_;
      if (stop > begin && d_[stop - 1] == '\r' && (stop == n || d_[stop] == '\n')) --stop;
      value = d_.substr(begin, stop - begin);
      if (trim_) {
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
          value.remove_suffix(1);
        }
      }
    }
    row->fields.push_back(value);
    if (pos_ < n && d_[pos_] == delim_) {
      ++pos_;
      continue;
    }
    // End of row: line end or end of input.
    row_end = pos_;
    if (row_end > row_start && d_[row_end - 1] == '\r') --row_end;
    if (pos_ < n && d_[pos_] == '\r') ++pos_;
    if (pos_ < n && d_[pos_] == '\n') {
      NewLineAt(pos_++);
    } else if (!final_) {
      return Restore(mark);
    }
    break;
  }
  row->raw = d_.substr(row_start, row_end - row_start);
  return Result::kRow;
}

bool CsvScanner::ScanQuoted(std::string_view* value) {
  const uint64_t open_line = line_;
  const size_t open_col = pos_ - line_start_ + 1;
  const size_t begin = ++pos_;
  bool escaped = false;
  while (true) {
    const void* q = std::memchr(d_.data() + pos_, '"', d_.size() - pos_);
    size_t quote = q ? static_cast<const char*>(q) - d_.data() : d_.size();
    for (const char* nl = d_.data() + pos_;
         (nl = static_cast<const char*>(std::memchr(nl, '\n', d_.data() + quote - nl))); ++nl) {
      NewLineAt(nl - d_.data());
    }
    if (q == nullptr) {
      quote_line_ = open_line;
      quote_column_ = open_col;
      return false;
    }
    if (quote + 1 < d_.size() && d_[quote + 1] == '"') {
      escaped = true;
      pos_ = quote + 2;
      continue;
    }
    pos_ = quote + 1;
    std::string_view inner = d_.substr(begin, quote - begin);
    if (!escaped) {
      *value = inner;
      return true;
    }
    if (pool_used_ == pool_.size()) pool_.emplace_back();
    std::string& out = pool_[pool_used_++];
    out.clear();
    for (size_t i = 0; i < inner.size(); ++i) {
      out.push_back(inner[i]);
      if (inner[i] == '"') ++i;  // the second quote of a "" pair
    }
    *value = out;
    return true;
  }
}

}  // namespace empi
