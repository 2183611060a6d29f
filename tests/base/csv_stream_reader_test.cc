// Copyright EMPI developers.
//
// CsvStreamReader against CsvScanner over the whole text, and both against
// NaiveCsv (naive_csv.h), on random CSV texts streamed in chunks of 1 to 64
// bytes and fed to the scanner a byte or three at a time: the same rows,
// lines, skipped lines and errors, wherever the chunk boundaries fall.
#include "base/csv_stream_reader.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/csv_scanner.h"
#include "base/input_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/base/naive_csv.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Everything a scan gives, copied out of the scanner's views.
struct Outcome {
  std::vector<NaiveCsvRow> rows;
  uint64_t whitespace_lines = 0;
  std::string error;  // empty, or the unclosed quote's message

  bool operator==(const Outcome&) const = default;
};

void PrintTo(const Outcome& o, std::ostream* os) {
  for (const NaiveCsvRow& r : o.rows) {
    *os << "\n  line " << r.line << " bad " << r.bad_quote_field << " raw [" << r.raw << "]:";
    for (const std::string& f : r.fields) *os << " [" << f << "]";
  }
  *os << "\n  whitespace lines " << o.whitespace_lines << ", error '" << o.error << "'";
}

NaiveCsvRow Copy(const CsvRow& row) {
  return {std::vector<std::string>(row.fields.begin(), row.fields.end()), row.line, std::string(row.raw),
          row.bad_quote_field};
}

Outcome Whole(const std::string& text, char delimiter, bool trim) {
  const size_t start = text.starts_with(kBom) ? kBom.size() : 0;
  CsvScanner scanner(text, start, delimiter, trim);
  Outcome out;
  CsvRow row;
  CsvScanner::Result r;
  while ((r = scanner.Next(&row)) == CsvScanner::Result::kRow) out.rows.push_back(Copy(row));
  if (r == CsvScanner::Result::kUnclosedQuote) out.error = std::string(scanner.UnclosedQuoteError("t.csv").message());
  out.whitespace_lines = scanner.whitespace_lines();
  return out;
}

Outcome Streamed(const std::string& text, char delimiter, bool trim, size_t chunk) {
  std::FILE* file = std::tmpfile();
  EXPECT_NE(file, nullptr);
  std::fwrite(text.data(), 1, text.size(), file);
  std::rewind(file);
  CsvStreamReader reader(InputFile(file), "t.csv", {.delimiter = delimiter, .trim = trim, .chunk_size = chunk});
  Outcome out;
  CsvRow row;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&row);
    if (!more.ok()) {
      out.error = std::string(more.status().message());
      break;
    }
    if (!*more) break;
    out.rows.push_back(Copy(row));
  }
  out.whitespace_lines = reader.whitespace_lines();
  return out;
}

// The scanner given the text `step` bytes more at a time, as its streaming
// contract allows: with step 1 every prefix of the text is seen unfinished.
Outcome Fed(const std::string& text, char delimiter, bool trim, size_t step) {
  const std::string_view body = std::string_view(text).substr(text.starts_with(kBom) ? kBom.size() : 0);
  size_t given = std::min(step, body.size());
  size_t base = 0;  // where the scanner's text starts in body
  CsvScanner scanner(body.substr(0, given), 0, delimiter, trim, given == body.size());
  Outcome out;
  CsvRow row;
  while (true) {
    const CsvScanner::Result r = scanner.Next(&row);
    if (r == CsvScanner::Result::kRow) {
      out.rows.push_back(Copy(row));
      continue;
    }
    if (r == CsvScanner::Result::kUnclosedQuote) out.error = std::string(scanner.UnclosedQuoteError("t.csv").message());
    if (r != CsvScanner::Result::kNeedMore) break;
    base += scanner.consumed();
    given = std::min(given + step, body.size());
    scanner.Refill(body.substr(base, given - base), given == body.size());
  }
  out.whitespace_lines = scanner.whitespace_lines();
  return out;
}

Outcome Naive(const std::string& text, char delimiter, bool trim) {
  NaiveCsv naive = NaiveCsvParse(text.starts_with(kBom) ? text.substr(kBom.size()) : text, delimiter, trim);
  Outcome out{naive.rows, naive.whitespace_lines, ""};
  if (naive.unclosed_quote) {
    out.error = "t.csv:" + std::to_string(naive.quote_line) + ":" + std::to_string(naive.quote_column) +
                ": quoted field is never closed (quote opened here)";
  }
  return out;
}

// A random CSV text: rows of plain and quoted fields with blanks, quotes,
// CR, LF and CRLF in them, blank and whitespace lines between, and now and
// then a byte dropped or added to make a bad quote or an unclosed one.
std::string RandomCsv(std::mt19937& rng, char delimiter) {
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  auto chance = [&](int percent) { return pick(100) < percent; };
  static const std::vector<std::string> kPlain = {"a", "bc", "Łucja", " ", "\t", "\"", "\r", "x y", "0"};
  static const std::vector<std::string> kQuoted = {"a", "\"\"", "\n", "\r\n", "\r", " ", ",", ";", "\t", "é"};
  static const std::vector<std::string> kLineEnds = {"\n", "\r\n"};
  std::string text;
  if (chance(10)) text += kBom;
  const int rows = pick(8);
  for (int r = 0; r < rows; ++r) {
    if (chance(15)) text += chance(50) ? "" : std::string(pick(3) + 1, chance(50) ? ' ' : '\t');
    if (chance(15)) text += kLineEnds[pick(2)];
    if (chance(5)) text += "\r";  // a lone CR where a blank line could start
    const int fields = pick(4) + 1;
    for (int f = 0; f < fields; ++f) {
      if (f > 0) text.push_back(delimiter);
      if (chance(20)) text += " ";
      if (chance(40)) {
        text.push_back('"');
        for (int k = pick(5); k > 0; --k) text += kQuoted[pick(kQuoted.size())];
        text.push_back('"');
      } else {
        for (int k = pick(4); k > 0; --k) {
          text += kPlain[pick(kPlain.size())];
        }
      }
      if (chance(20)) text += chance(50) ? " " : "\t";
    }
    if (r + 1 < rows || chance(50)) text += kLineEnds[pick(2)];
  }
  if (!text.empty() && chance(15)) {
    const size_t at = pick(text.size());
    if (chance(50)) {
      text.erase(at, 1);
    } else {
      text.insert(at, 1, "\"\r\n x"[pick(5)]);
    }
  }
  return text;
}

TEST(CsvStreamReaderTest, RandomTextsStreamedInTinyChunksScanAsWhole) {
  std::mt19937 rng(20261205);
  const char kDelimiters[] = {',', ';', '\t'};
  int unclosed = 0, bad_quote = 0, rows = 0;
  for (int i = 0; i < 600; ++i) {
    const char delimiter = i % 4 == 3 ? kDelimiters[rng() % 3] : ',';
    const bool trim = i % 5 != 4;
    const std::string text = RandomCsv(rng, delimiter);
    const Outcome whole = Whole(text, delimiter, trim);
    ASSERT_EQ(whole, Naive(text, delimiter, trim)) << "text #" << i << ": [" << text << "]";
    for (size_t step = 1; step <= 3; ++step) {
      ASSERT_EQ(Fed(text, delimiter, trim, step), whole) << "text #" << i << " step " << step << ": [" << text << "]";
    }
    for (size_t chunk = 1; chunk <= 64; ++chunk) {
      ASSERT_EQ(Streamed(text, delimiter, trim, chunk), whole)
          << "text #" << i << " chunk " << chunk << ": [" << text << "]";
    }
    ASSERT_EQ(Streamed(text, delimiter, trim, size_t{1} << 20), whole);
    unclosed += !whole.error.empty();
    for (const NaiveCsvRow& r : whole.rows) bad_quote += r.bad_quote_field >= 0;
    rows += whole.rows.size();
  }
  // The generator reaches every outcome.
  EXPECT_GT(unclosed, 10);
  EXPECT_GT(bad_quote, 10);
  EXPECT_GT(rows, 1000);
}

TEST(CsvStreamReaderTest, ByteOrderMarkSplitAcrossReads) {
  const std::string path = testing::WriteTestFile("bom.csv", std::string(kBom) + "\"a\",b\n");
  InputFile file(std::fopen(path.c_str(), "rb"));
  ASSERT_NE(file, nullptr);
  CsvStreamReader reader(std::move(file), path, {.chunk_size = 1});
  CsvRow row;
  ASSERT_TRUE(*reader.Next(&row));
  EXPECT_THAT(row.fields, ElementsAre("a", "b"));
  EXPECT_EQ(row.raw, "\"a\",b");
  EXPECT_FALSE(*reader.Next(&row));
  EXPECT_EQ(reader.bytes_consumed(), 9u);
  EXPECT_EQ(reader.lines_consumed(), 1u);
}

TEST(CsvStreamReaderTest, ShortFilesAndEmptyFile) {
  for (const std::string text : {"", "\xEF\xBB", "x", "\xEF\xBB\xBF"}) {
    const Outcome whole = Whole(text, ',', true);
    EXPECT_EQ(Streamed(text, ',', true, 1), whole) << text;
    EXPECT_EQ(Streamed(text, ',', true, 64), whole) << text;
  }
}

TEST(CsvStreamReaderTest, RowLongerThanTheBufferGrowsIt) {
  const std::string big(100000, 'z');
  const std::string text = "a,b\n\"" + big + "\n" + big + "\"," + big + "\nc,d\n";
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}}) {
    Outcome o = Streamed(text, ',', true, chunk);
    ASSERT_EQ(o.rows.size(), 3u);
    EXPECT_EQ(o.rows[1].fields[0], big + "\n" + big);
    EXPECT_EQ(o.rows[1].fields[1], big);
    EXPECT_EQ(o.rows[2].line, 4u);
  }
}

TEST(CsvStreamReaderTest, UnclosedQuoteNamesWhereItOpened) {
  const std::string path = testing::WriteTestFile("open.csv", "a,b\nc,\"open\nstill open\n");
  auto csv = CsvStreamReader::Open(path);
  ASSERT_TRUE(csv.ok()) << csv.status();
  CsvRow row;
  ASSERT_TRUE(*(*csv)->Next(&row));
  absl::StatusOr<bool> more = (*csv)->Next(&row);
  EXPECT_EQ(more.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(more.status().message(), HasSubstr("open.csv:2:3: quoted field is never closed"));
  EXPECT_EQ(row.line, 2u);
}

TEST(CsvStreamReaderTest, MissingFileIsNotFound) {
  EXPECT_EQ(CsvStreamReader::Open("/nonexistent/empi/none.csv").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace empi
