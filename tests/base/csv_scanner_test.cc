// Copyright EMPI developers.
#include "base/csv_scanner.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace empi {
namespace {

using ::testing::ElementsAre;

struct Scanned {
  std::vector<std::vector<std::string>> rows;
  std::vector<uint64_t> lines;
  std::vector<std::string> raws;
  std::vector<int> bad;
  CsvScanner::Result last;
};

Scanned ScanAll(CsvScanner& scanner) {
  Scanned out;
  CsvRow row;
  while ((out.last = scanner.Next(&row)) == CsvScanner::Result::kRow) {
    out.rows.emplace_back(row.fields.begin(), row.fields.end());
    out.lines.push_back(row.line);
    out.raws.emplace_back(row.raw);
    out.bad.push_back(row.bad_quote_field);
  }
  return out;
}

Scanned Scan(std::string_view text, char delimiter = ',', bool trim = true) {
  CsvScanner scanner(text, 0, delimiter, trim);
  return ScanAll(scanner);
}

TEST(CsvScannerTest, QuotedFieldsHoldDelimitersLineBreaksAndQuotes) {
  Scanned s = Scan("a,b,c\r\n\"1,2\",\"say \"\"hi\"\"\",\"two\nlines\"\r\nx,,\n");
  EXPECT_EQ(s.last, CsvScanner::Result::kEnd);
  ASSERT_EQ(s.rows.size(), 3u);
  EXPECT_THAT(s.rows[0], ElementsAre("a", "b", "c"));
  EXPECT_THAT(s.rows[1], ElementsAre("1,2", "say \"hi\"", "two\nlines"));
  EXPECT_THAT(s.rows[2], ElementsAre("x", "", ""));
  EXPECT_THAT(s.lines, ElementsAre(1, 2, 4));
  EXPECT_THAT(s.raws, ElementsAre("a,b,c", "\"1,2\",\"say \"\"hi\"\"\",\"two\nlines\"", "x,,"));
}

TEST(CsvScannerTest, BlankLinesSkippedAndWhitespaceLinesCounted) {
  CsvScanner scanner("h\n\n \t\r\n\r\nv\n   ", 0, ',', true);
  Scanned s = ScanAll(scanner);
  EXPECT_EQ(s.rows.size(), 2u);
  EXPECT_THAT(s.lines, ElementsAre(1, 5));
  EXPECT_EQ(scanner.whitespace_lines(), 2u);
}

TEST(CsvScannerTest, TrimmingDropsBlanksAroundFieldsButNotInsideQuotes) {
  EXPECT_THAT(Scan(" a ,\t\" b \" , c\t\n").rows[0], ElementsAre("a", " b ", "c"));
  EXPECT_THAT(Scan(" a , c\n", ',', false).rows[0], ElementsAre(" a ", " c"));
  // Without trimming a blank before the quote makes the field unquoted.
  EXPECT_THAT(Scan(" \"a\",b\n", ',', false).rows[0], ElementsAre(" \"a\"", "b"));
}

TEST(CsvScannerTest, TabDelimiterIsNeverTakenForABlank) {
  EXPECT_THAT(Scan("a\t\t b \tc\n", '\t').rows[0], ElementsAre("a", "", "b", "c"));
}

TEST(CsvScannerTest, TextAfterClosingQuoteMarksTheRowAndScanGoesOn) {
  Scanned s = Scan("a,\"b\"x,c\nd,e,f\n");
  ASSERT_EQ(s.rows.size(), 2u);
  EXPECT_THAT(s.bad, ElementsAre(1, -1));
  EXPECT_THAT(s.rows[0], ElementsAre("a", "b", "c"));
}

TEST(CsvScannerTest, UnclosedQuoteNamesWhereItOpened) {
  CsvScanner scanner("a,b\nc,d\ne, \"open\nmore\n", 0, ',', true);
  Scanned s = ScanAll(scanner);
  EXPECT_EQ(s.last, CsvScanner::Result::kUnclosedQuote);
  EXPECT_EQ(s.rows.size(), 2u);
  EXPECT_EQ(scanner.quote_line(), 3u);
  EXPECT_EQ(scanner.quote_column(), 4u);
  EXPECT_EQ(scanner.UnclosedQuoteError("f.csv").message(),
            "f.csv:3:4: quoted field is never closed (quote opened here)");
  CsvRow row;
  EXPECT_EQ(scanner.Next(&row), CsvScanner::Result::kEnd);
}

TEST(CsvScannerTest, StartSkipsAPrefixAndColumnsCountFromIt) {
  const std::string text = "\xEF\xBB\xBF\"x";
  CsvScanner scanner(text, 3, ',', true);
  CsvRow row;
  EXPECT_EQ(scanner.Next(&row), CsvScanner::Result::kUnclosedQuote);
  EXPECT_EQ(scanner.quote_column(), 1u);
}

TEST(CsvScannerTest, LoneCarriageReturnIsData) { EXPECT_THAT(Scan("a\rb,c\r").rows[0], ElementsAre("a\rb", "c")); }

// The streaming contract: a row reaching the end of a text that is not
// final is put back whole, and scanned again once the rest is there.
TEST(CsvScannerTest, RowRunningToTheEndOfTheTextIsPutBack) {
  std::string text = "h1,h2\n\n  \n\"a\"\"";
  CsvScanner scanner(text, 0, ',', true, /*final=*/false);
  CsvRow row;
  ASSERT_EQ(scanner.Next(&row), CsvScanner::Result::kRow);
  EXPECT_THAT(row.fields, ElementsAre("h1", "h2"));
  EXPECT_EQ(scanner.Next(&row), CsvScanner::Result::kNeedMore);
  // The blank lines are behind; the unfinished row is not.
  EXPECT_EQ(scanner.consumed(), 10u);
  EXPECT_EQ(scanner.line(), 4u);
  EXPECT_EQ(scanner.whitespace_lines(), 1u);
  EXPECT_EQ(scanner.Next(&row), CsvScanner::Result::kNeedMore);  // asking again changes nothing
  EXPECT_EQ(scanner.consumed(), 10u);

  text = text.substr(scanner.consumed()) + "b\",c\r";
  scanner.Refill(text, /*final=*/false);
  EXPECT_EQ(scanner.Next(&row), CsvScanner::Result::kNeedMore);  // the \r may begin a \r\n
  text = text.substr(scanner.consumed()) + "\nlast";
  scanner.Refill(text, /*final=*/false);
  ASSERT_EQ(scanner.Next(&row), CsvScanner::Result::kRow);
  EXPECT_THAT(row.fields, ElementsAre("a\"b", "c"));
  EXPECT_EQ(row.line, 4u);
  EXPECT_EQ(scanner.Next(&row), CsvScanner::Result::kNeedMore);
  text = text.substr(scanner.consumed());
  scanner.Refill(text, /*final=*/true);
  ASSERT_EQ(scanner.Next(&row), CsvScanner::Result::kRow);
  EXPECT_THAT(row.fields, ElementsAre("last"));
  EXPECT_EQ(row.line, 5u);
  EXPECT_EQ(scanner.Next(&row), CsvScanner::Result::kEnd);
}

TEST(CsvScannerTest, UnclosedQuoteIsOnlyReportedOnceTheTextIsFinal) {
  std::string text = "a\n\"open";
  CsvScanner scanner(text, 0, ',', true, /*final=*/false);
  CsvRow row;
  ASSERT_EQ(scanner.Next(&row), CsvScanner::Result::kRow);
  EXPECT_EQ(scanner.Next(&row), CsvScanner::Result::kNeedMore);
  text = text.substr(scanner.consumed());
  scanner.Refill(text, /*final=*/true);
  EXPECT_EQ(scanner.Next(&row), CsvScanner::Result::kUnclosedQuote);
  EXPECT_EQ(row.line, 2u);
  EXPECT_EQ(scanner.quote_line(), 2u);
  EXPECT_EQ(scanner.quote_column(), 1u);
}

}  // namespace
}  // namespace empi
