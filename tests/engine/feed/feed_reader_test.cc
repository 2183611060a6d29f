// Copyright EMPI developers.
#include "engine/feed/feed_reader.h"

#include <sys/stat.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/feed/feed_test_util.h"

namespace empi {
namespace {

using ::empi::testing_feed::kHeader;
using ::empi::testing_feed::ReadFileText;
using ::empi::testing_feed::WriteTempFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

absl::StatusOr<FeedResult> Read(std::string_view text, FeedOptions options = {}) {
  return ReadFeed(WriteTempFile("feed.csv", text), options);
}

std::string Canonical(std::string_view rows) { return std::string(kHeader) + std::string(rows); }

TEST(FeedReaderTest, HappyPathReadsEveryField) {
  const std::string path =
      WriteTempFile("feed.csv", Canonical("RKB,K1,943 476 5919,Nowak,Łukasz Piotr,07/03/1984,M,CV1 2AB,1 High St\n"
                                          "RKB,K2,,Smith,Ann,12/11/1950,F,,\n"));
  absl::StatusOr<FeedResult> feed = ReadFeed(path, {});
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->records.size(), 2u);
  Record want;
  want.source = "RKB";
  want.record_id = "K1";
  want.nhs_number = "943 476 5919";
  want.family_name = "Nowak";
  want.given_names = "Łukasz Piotr";
  want.date_of_birth = "1984-03-07";
  want.sex = "M";
  want.postcode = "CV1 2AB";
  want.address = "1 High St";
  EXPECT_EQ(feed->records[0], want);
  EXPECT_EQ(feed->records[1].date_of_birth, "1950-11-12");
  EXPECT_THAT(feed->lines, ElementsAre(2, 3));
  EXPECT_EQ(feed->date_format, DateFormat::kDmySlash);
  EXPECT_TRUE(feed->warnings.empty());
  EXPECT_TRUE(feed->quarantined.empty());
  EXPECT_EQ(feed->conventions, FieldConventions{});
  FeedStats stats;
  stats.rows = 2;
  stats.accepted = 2;
  EXPECT_EQ(feed->stats, stats);
}

TEST(FeedReaderTest, ColumnsMatchedByTrimmedCaseInsensitiveName) {
  absl::StatusOr<FeedResult> feed = Read(
      " Postcode ,SEX,Record_ID,address,date_of_birth,given_names,family_name,"
      "nhs_number,Source\n"
      "CV1 2AB,F,X9,,1984-03-07,Ann,Smith,9434765919,RLT\n");
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->records.size(), 1u);
  const Record& r = feed->records[0];
  EXPECT_EQ(r.source, "RLT");
  EXPECT_EQ(r.record_id, "X9");
  EXPECT_EQ(r.family_name, "Smith");
  EXPECT_EQ(r.given_names, "Ann");
  EXPECT_EQ(r.postcode, "CV1 2AB");
  EXPECT_EQ(r.sex, "F");
  EXPECT_EQ(r.nhs_number, "9434765919");
  EXPECT_EQ(feed->date_format, DateFormat::kIso);
}

TEST(FeedReaderTest, QuotingEdgeCases) {
  absl::StatusOr<FeedResult> feed =
      Read(Canonical("RKB,Q1,,\"O'Brien, Jr\",\"Mary \"\"Molly\"\" Ann\",1984-03-07,F,,\"Flat 2\n"
                     "1 High St, Leeds\"\n"
                     "RKB,\"Q2\",\"\",Lee,Jo,1984-03-07,F,\"\",\n"
                     "RKB, \"Q3\" ,,Kay,Al,1984-03-07,M,,\"\"\"\"\n"));
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->records.size(), 3u);
  EXPECT_EQ(feed->records[0].family_name, "O'Brien, Jr");
  EXPECT_EQ(feed->records[0].given_names, "Mary \"Molly\" Ann");
  EXPECT_EQ(feed->records[0].address, "Flat 2\n1 High St, Leeds");
  EXPECT_EQ(feed->records[1].record_id, "Q2");
  EXPECT_EQ(feed->records[1].nhs_number, "");
  EXPECT_EQ(feed->records[2].record_id, "Q3");
  EXPECT_EQ(feed->records[2].address, "\"");
  // The embedded line break moves the later rows down a line.
  EXPECT_THAT(feed->lines, ElementsAre(2, 4, 5));
}

TEST(FeedReaderTest, BomCrlfAndMissingFinalNewline) {
  std::string text = "\xEF\xBB\xBF" + std::string(kHeader);
  text.pop_back();
  text += "\r\nRKB,B1,,Nowak,Jan,19840307,M,,\r\n\r\nRKB,B2,,Nowak,Eva,19850101,F,,x";
  absl::StatusOr<FeedResult> feed = Read(text);
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->records.size(), 2u);
  EXPECT_EQ(feed->records[0].source, "RKB");  // header's first name had the BOM
  EXPECT_EQ(feed->records[0].address, "");    // no stray \r
  EXPECT_EQ(feed->records[1].address, "x");
  EXPECT_EQ(feed->date_format, DateFormat::kCompact);
  EXPECT_EQ(feed->records[0].date_of_birth, "1984-03-07");
  EXPECT_THAT(feed->lines, ElementsAre(2, 4));  // blank line 3 is skipped
  EXPECT_EQ(feed->stats.rows, 2u);
}

// --- Structural faults: one test each; nothing of the feed is returned.

// ReadFeedText (the fuzz targets' entry point) is ReadFeed without the file.
TEST(FeedReaderTest, ReadFeedTextReadsAsReadFeedDoes) {
  const std::string text = Canonical(
      "RKB,K1,943 476 5919,Nowak,Ann,07/03/1984,M,CV1 2AB,1 High St\r"
      "RKB,K1,,Smith,Ann,12/11/1950,F,,\n");
  const std::string path = WriteTempFile("feed.csv", text);
  absl::StatusOr<FeedResult> from_file = ReadFeed(path, {});
  absl::StatusOr<FeedResult> from_text = ReadFeedText(text, path, {});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  EXPECT_EQ(from_text->records, from_file->records);
  EXPECT_EQ(from_text->lines, from_file->lines);
  EXPECT_EQ(from_text->stats, from_file->stats);
  ASSERT_EQ(from_text->quarantined.size(), 1u);
  EXPECT_EQ(from_text->quarantined[0].file, path);
  EXPECT_EQ(from_text->quarantined[0].line, 3u);

  absl::StatusOr<FeedResult> bad = ReadFeedText("", "named.csv", {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("named.csv:1: empty file"));
}

TEST(FeedReaderTest, EmptyFileIsAnError) {
  const std::string path = WriteTempFile("empty.csv", "");
  absl::StatusOr<FeedResult> feed = ReadFeed(path, {});
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(feed.status().message(), HasSubstr(path + ":1: empty file"));
}

TEST(FeedReaderTest, BomAndBlankLinesOnlyIsAnEmptyFile) {
  absl::StatusOr<FeedResult> feed = Read("\xEF\xBB\xBF\r\n\n");
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(feed.status().message(), HasSubstr("empty file, no header"));
}

TEST(FeedReaderTest, MissingRequiredColumnIsAnError) {
  absl::StatusOr<FeedResult> feed = Read(
      "source,record_id,family_name,given_names,date_of_birth,sex,postcode\n"
      "RKB,1,Smith,Ann,1984-03-07,F,\n");
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(feed.status().message(), HasSubstr(":1: header: required column 'nhs_number' (nhs_number) missing"));
}

TEST(FeedReaderTest, MissingSourceColumnNeedsSourceOption) {
  const std::string text =
      "record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode\n"
      "1,,Smith,Ann,1984-03-07,F,\n";
  absl::StatusOr<FeedResult> without = Read(text);
  EXPECT_EQ(without.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(without.status().message(), HasSubstr("required column 'source'"));

  FeedOptions options;
  options.source = "G81001";
  absl::StatusOr<FeedResult> with = Read(text, options);
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_EQ(with->records.size(), 1u);
  EXPECT_EQ(with->records[0].source, "G81001");
}

TEST(FeedReaderTest, DuplicateHeaderColumnIsAnError) {
  absl::StatusOr<FeedResult> feed = Read(
      "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,"
      "postcode,Record_Id\n");
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(feed.status().message(), HasSubstr("appears more than once (columns 2 and 9)"));
}

TEST(FeedReaderTest, InvalidUtf8IsDataLossWithLineAndByteColumn) {
  const std::string path = WriteTempFile("latin1.csv", Canonical("RKB,1,,Nowak,Jan,1984-03-07,M,,\n"
                                                                 "RKB,2,,Gr\xFC"
                                                                 "n,Eva,1984-03-07,F,,\n"));
  absl::StatusOr<FeedResult> feed = ReadFeed(path, {});
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(feed.status().message(), HasSubstr(path + ":3:10:"));
  EXPECT_THAT(feed.status().message(), HasSubstr("not valid UTF-8"));
}

TEST(FeedReaderTest, OverlongUtf8IsRejected) {
  absl::StatusOr<FeedResult> feed = Read(Canonical("RKB,1,,A\xC0\xAF,Jan,1984-03-07,M,,\n"));
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(feed.status().message(), HasSubstr(":2:9:"));
}

TEST(FeedReaderTest, Utf16WithoutBomIsRejected) {
  const std::string header = "source,record_id";
  std::string utf16;
  for (char c : header) {
    utf16.push_back(c);
    utf16.push_back('\0');
  }
  absl::StatusOr<FeedResult> feed = Read(utf16);
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(feed.status().message(), HasSubstr(":1:2:"));
}

TEST(FeedReaderTest, UnterminatedQuoteReportsWhereItOpened) {
  const std::string path = WriteTempFile("open.csv", Canonical("RKB,1,,Nowak,Jan,1984-03-07,M,,\n"
                                                               "RKB,2,,\"Nowak,Jan,1984-03-07,M,,\n"
                                                               "RKB,3,,Smith,Ann,1984-03-07,F,,\n"));
  absl::StatusOr<FeedResult> feed = ReadFeed(path, {});
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(feed.status().message(), HasSubstr(path + ":3:8: quoted field is never closed"));
}

TEST(FeedReaderTest, MixedDateFormatsNameTheFirstTwoConflictingLines) {
  absl::StatusOr<FeedResult> feed =
      Read(Canonical("RKB,1,,Nowak,Jan,,M,,\n"
                     "RKB,2,,Nowak,Eva,1984-03-07,F,,\n"
                     "RKB,3,,Nowak,Ola,not a date,F,,\n"
                     "RKB,4,,Nowak,Ida,07/03/1984,F,,\n"
                     "RKB,5,,Nowak,Ula,19840307,F,,\n"));
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(feed.status().message(), HasSubstr("feed.csv:5:6: date_of_birth: dates in more than one format "
                                                 "(line 3 is iso, line 5 is dd/mm/yyyy)"));
  // No patient data in errors.
  EXPECT_THAT(feed.status().message(), Not(HasSubstr("1984")));
}

// --- Dates.

TEST(FeedReaderTest, InvalidDateKeepsRawTextAndIsCounted) {
  absl::StatusOr<FeedResult> feed =
      Read(Canonical("RKB,1,,Nowak,Jan,31/02/1980,M,,\n"
                     "RKB,2,,Nowak,Eva,01/01/1900,F,,\n"
                     "RKB,3,,Nowak,Ida,7/3/1984,F,,\n"));
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->records.size(), 3u);
  EXPECT_EQ(feed->date_format, DateFormat::kDmySlash);
  EXPECT_EQ(feed->records[0].date_of_birth, "31/02/1980");
  EXPECT_EQ(feed->records[1].date_of_birth, "1900-01-01");
  EXPECT_EQ(feed->records[2].date_of_birth, "1984-03-07");
  EXPECT_EQ(feed->stats.invalid_date, 1u);
  EXPECT_EQ(feed->stats.placeholder_values, 1u);
  EXPECT_TRUE(feed->quarantined.empty());
}

TEST(FeedReaderTest, StatedDateFormatOverridesDetection) {
  FeedOptions options;
  options.date_format = DateFormat::kCompact;
  absl::StatusOr<FeedResult> feed = Read(Canonical("RKB,1,,Nowak,Jan,1984-03-07,M,,\n"
                                                   "RKB,2,,Nowak,Eva,19840307,F,,\n"),
                                         options);
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(feed->date_format, DateFormat::kCompact);
  EXPECT_EQ(feed->records[0].date_of_birth, "1984-03-07");  // raw: not yyyymmdd
  EXPECT_EQ(feed->records[1].date_of_birth, "1984-03-07");
  EXPECT_EQ(feed->stats.invalid_date, 1u);
}

TEST(FeedReaderTest, NoRecognisableDateLeavesFormatUndetected) {
  absl::StatusOr<FeedResult> feed = Read(Canonical("RKB,1,,Nowak,Jan,unknown,M,,\n"));
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(feed->date_format, DateFormat::kAuto);
  EXPECT_EQ(feed->records[0].date_of_birth, "unknown");
  EXPECT_EQ(feed->stats.invalid_date, 1u);
}

// --- Row faults.

TEST(FeedReaderTest, BadRowsAreQuarantinedAndGoodRowsKept) {
  FeedOptions options;
  options.source = "DEF";
  const std::string text = Canonical(
      "RKB,1,,Nowak,Jan,1984-03-07,M,,\n"       // 2 good
      "RKB,2,,Nowak,Jan,1984-03-07,M\n"         // 3 too few fields
      "RKB,,,Nowak,Jan,1984-03-07,M,,\n"        // 4 empty record_id
      ",5,,Nowak,Jan,1984-03-07,M,,\n"          // 5 source from option
      "RKB,1,,Nowak,Janek,1984-03-07,M,,\n"     // 6 duplicate of line 2
      "RKB,7,,,,,M,CV1 2AB,1 High St\n"         // 7 nothing identifying
      "RKB,8,,\"Nowak\"x,Jan,1984-03-07,M,,\n"  // 8 text after quote
      "RKB,9,,Nowak,Jan,1984-03-07,M,,,\n"      // 9 too many fields
      "RLT,1,,Nowak,Jan,1984-03-07,M,,\n");     // 10 other source: good
  absl::StatusOr<FeedResult> feed = Read(text, options);
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_THAT(feed->lines, ElementsAre(2, 5, 10));
  EXPECT_EQ(feed->records[1].source, "DEF");
  EXPECT_EQ(feed->records[0].given_names, "Jan");  // the first occurrence wins
  ASSERT_EQ(feed->quarantined.size(), 6u);
  using Q = std::pair<uint64_t, std::string>;
  std::vector<Q> got;
  for (const QuarantinedRow& q : feed->quarantined) got.emplace_back(q.line, q.reason);
  EXPECT_THAT(got, ElementsAre(Q{3, "fields: expected 9, found 7"}, Q{4, "record_id: empty"},
                               Q{6, "record_id: duplicate key, first seen on line 2"},
                               Q{7,
                                 "no identifying data: nhs_number, family_name, given_names "
                                 "and date_of_birth all empty"},
                               Q{8, "column 4: text after closing quote"}, Q{9, "fields: expected 9, found 10"}));
  EXPECT_EQ(feed->quarantined[0].raw, "RKB,2,,Nowak,Jan,1984-03-07,M");
  EXPECT_THAT(feed->quarantined[0].file, HasSubstr("feed.csv"));
  EXPECT_EQ(feed->stats.rows, 9u);
  EXPECT_EQ(feed->stats.accepted, 3u);
  EXPECT_EQ(feed->stats.quarantined, 6u);
}

// A field longer than any real system writes (a hostile row, or columns run
// together) is quarantined naming the field and its length, never its value;
// a field at the limit is kept.
TEST(FeedReaderTest, FieldLongerThanAnySystemWritesIsQuarantined) {
  const std::string at_limit(255, 'a');
  const std::string over(2'000'000, 'a');
  absl::StatusOr<FeedResult> feed =
      Read(Canonical("RKB,1,,Nowak," + at_limit + ",1984-03-07,M,,\n" + "RKB,2,,Nowak,Jan,1984-03-07,M,," + over +
                     "\n" + "RKB,3,,Nowak,Jan,1984-03-07,M," + std::string(33, '1') + ",\n"));
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_THAT(feed->lines, ElementsAre(2));
  EXPECT_EQ(feed->records[0].given_names, at_limit);
  ASSERT_EQ(feed->quarantined.size(), 2u);
  EXPECT_EQ(feed->quarantined[0].line, 3u);
  EXPECT_EQ(feed->quarantined[0].reason, "address: 2000000 bytes, more than 1024");
  EXPECT_EQ(feed->quarantined[1].line, 4u);
  EXPECT_EQ(feed->quarantined[1].reason, "postcode: 33 bytes, more than 32");
}

TEST(FeedReaderTest, RowWithNoSourceIsQuarantined) {
  absl::StatusOr<FeedResult> feed =
      Read(Canonical("RKB,1,,Nowak,Jan,1984-03-07,M,,\n"
                     " ,2,,Nowak,Jan,1984-03-07,M,,\n"));
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(feed->records.size(), 1u);
  ASSERT_EQ(feed->quarantined.size(), 1u);
  EXPECT_EQ(feed->quarantined[0].line, 3u);
  EXPECT_EQ(feed->quarantined[0].reason, "source: empty and no --source given");
}

TEST(FeedReaderTest, WriteQuarantineQuotesFields) {
  std::vector<QuarantinedRow> rows = {{"a.csv", 3, "fields: expected 9, found 7", "RKB,2,\"x\""},
                                      {"a.csv", 9, "record_id: empty", "plain"}};
  const std::string path = WriteTempFile("q.csv", "");
  ASSERT_TRUE(WriteQuarantine(path, rows).ok());
  EXPECT_EQ(ReadFileText(path),
            "file,line,reason,raw\n"
            "a.csv,3,\"fields: expected 9, found 7\",\"RKB,2,\"\"x\"\"\"\n"
            "a.csv,9,record_id: empty,plain\n");
  EXPECT_EQ(WriteQuarantine("/nonexistent-dir/q.csv", rows).code(), absl::StatusCode::kUnavailable);
}

TEST(FeedReaderTest, QuarantinedRawSurvivesRoundTrip) {
  absl::StatusOr<FeedResult> feed = Read(Canonical("RKB,,,\"Smith, J\",Jan,1984-03-07,M,,\n"));
  ASSERT_TRUE(feed.ok());
  ASSERT_EQ(feed->quarantined.size(), 1u);
  const std::string qpath = WriteTempFile("q.csv", "");
  ASSERT_TRUE(WriteQuarantine(qpath, feed->quarantined).ok());
  // The quarantine file is itself CSV: read it back through the scanner.
  const std::string text = ReadFileText(qpath);
  EXPECT_THAT(text, HasSubstr(",2,record_id: empty,\"RKB,,,\"\"Smith, J\"\",Jan"));
}

// --- Field validation.

TEST(FeedReaderTest, InvalidAndPlaceholderValuesAreKeptAndCounted) {
  absl::StatusOr<FeedResult> feed =
      Read(Canonical("RKB,1,9434765919,Nowak,Jan,1984-03-07,M,CV1 2AB,\n"   // all valid
                     "RKB,2,9434765911,Nowak,Eva,1984-03-07,F,CV1 XXX,\n"   // bad NHS, bad postcode
                     "RKB,3,0000000000,Nowak,Ida,1984-03-07,F,ZZ99 3VZ,\n"  // two placeholders
                     "RKB,4,,Nowak,Ula,1984-03-07,F,,\n"));                 // empty: nothing
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(feed->records.size(), 4u);
  EXPECT_EQ(feed->records[1].nhs_number, "9434765911");
  EXPECT_EQ(feed->records[1].postcode, "CV1 XXX");
  EXPECT_EQ(feed->stats.invalid_nhs, 1u);
  EXPECT_EQ(feed->stats.invalid_postcode, 1u);
  EXPECT_EQ(feed->stats.placeholder_values, 2u);
  EXPECT_EQ(feed->stats.invalid_date, 0u);
}

TEST(FeedReaderTest, RestrictedColumn) {
  absl::StatusOr<FeedResult> feed = Read(
      "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,"
      "postcode,address,restricted\n"
      "RKB,1,,Nowak,Jan,1984-03-07,M,,,Y\n"
      "RKB,2,,Nowak,Eva,1984-03-07,F,,,false\n"
      "RKB,3,,Nowak,Ida,1984-03-07,F,,,\n"
      "RKB,4,,Nowak,Ola,1984-03-07,F,,,TRUE\n"
      "RKB,5,,Nowak,Ula,1984-03-07,F,,,maybe\n");
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->records.size(), 4u);
  EXPECT_TRUE(feed->records[0].restricted);
  EXPECT_FALSE(feed->records[1].restricted);
  EXPECT_FALSE(feed->records[2].restricted);
  EXPECT_TRUE(feed->records[3].restricted);
  ASSERT_EQ(feed->quarantined.size(), 1u);
  EXPECT_EQ(feed->quarantined[0].reason,
            "restricted: not one of 0/1/true/false/yes/no/Y/N (row text withheld: restricted)");
  EXPECT_EQ(feed->quarantined[0].raw, "");  // it may be a restricted patient's
  EXPECT_TRUE(feed->warnings.empty());
}

TEST(FeedReaderTest, ExtraColumnsWarnOncePerColumnWithoutValues) {
  const std::string path = WriteTempFile("extra.csv",
                                         "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,"
                                         "postcode,address,ethnicity,\n"
                                         "RKB,1,,Nowak,Jan,1984-03-07,M,,,A1,z\n"
                                         "RKB,2,,Nowak,Eva,1984-03-07,F,,,B2,z\n");
  absl::StatusOr<FeedResult> feed = ReadFeed(path, {});
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(feed->records.size(), 2u);
  EXPECT_THAT(feed->warnings, ElementsAre(path + ": column 10 is not a known field and is ignored",
                                          path + ": column 11 (unnamed) is not a known field and is ignored"));
}

// --- Odd but valid input is read; wrong input is refused row by row
// (issue 16). Each of these failed before the fix.

TEST(FeedReaderTest, CrOnlyLineEndsAreRead) {
  std::string text = Canonical(
      "RKB,1,,Nowak,Jan,1984-03-07,M,CV8 2QY,2 Elm Road\n"
      "RKB,2,,Smith,Ann,1950-11-12,F,,\n");
  for (char& c : text) {
    if (c == '\n') c = '\r';
  }
  absl::StatusOr<FeedResult> feed = Read(text);
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->records.size(), 2u);
  EXPECT_EQ(feed->records[0].postcode, "CV8 2QY");
  EXPECT_EQ(feed->records[0].address, "2 Elm Road");
  EXPECT_EQ(feed->records[1].family_name, "Smith");
  EXPECT_THAT(feed->lines, ElementsAre(2, 3));
  EXPECT_TRUE(feed->warnings.empty());
}

TEST(FeedReaderTest, MixedLineEndsAreRead) {
  absl::StatusOr<FeedResult> feed = Read(
      "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address\r\n"
      "RKB,1,,Nowak,Jan,1984-03-07,M,,a\r"
      "RKB,2,,Nowak,Eva,1984-03-07,F,,b\n"
      "RKB,3,,Nowak,Ida,1984-03-07,F,,c\r\n"
      "RKB,4,,Nowak,Ula,1984-03-07,F,,d");
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->records.size(), 4u);
  EXPECT_THAT(feed->lines, ElementsAre(2, 3, 4, 5));
  EXPECT_EQ(feed->records[0].address, "a");
  EXPECT_EQ(feed->records[2].address, "c");  // no stray CR
  EXPECT_TRUE(feed->quarantined.empty());
}

TEST(FeedReaderTest, HeaderNamingNoKnownFieldIsRefusedWithoutItsCells) {
  absl::StatusOr<FeedResult> feed = Read(
      "RKB,1,9434765919,Okafor,Adaeze,1971-03-02,F,CV8 2QY,2 Elm Road\n"
      "RKB,2,,Smith,Ann,1950-11-12,F,,\n");
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(feed.status().message(), HasSubstr(":1: header: none of its 9 columns is a known field"));
  for (const char* value : {"Okafor", "Adaeze", "9434765919", "CV8", "Elm", "1971"}) {
    EXPECT_THAT(feed.status().message(), Not(HasSubstr(value)));
  }
}

TEST(FeedReaderTest, NulByteIsABadRowNotABadFile) {
  std::string text = Canonical(
      "RKB,1,,Nowak,Jan,1984-03-07,M,,\n"
      "RKB,2,,Now#ak,Eva,1984-03-07,F,,\n"
      "RKB,3,,Nowak,Ida,1984-03-07,F,,\n");
  text[text.find('#')] = '\0';
  absl::StatusOr<FeedResult> feed = Read(text);
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_THAT(feed->lines, ElementsAre(2, 4));
  ASSERT_EQ(feed->quarantined.size(), 1u);
  EXPECT_EQ(feed->quarantined[0].line, 3u);
  EXPECT_EQ(feed->quarantined[0].reason, "column 4: NUL byte");
  EXPECT_EQ(feed->quarantined[0].raw, "RKB,2,,Now\\0ak,Eva,1984-03-07,F,,");
}

TEST(FeedReaderTest, WhitespaceOnlyLinesAreSkippedAndCounted) {
  absl::StatusOr<FeedResult> feed =
      Read(Canonical("RKB,1,,Nowak,Jan,1984-03-07,M,,\n"
                     "   \n"
                     "\t \r\n"
                     "\n"
                     "RKB,2,,Nowak,Eva,1984-03-07,F,,\n"
                     "  "));
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_THAT(feed->lines, ElementsAre(2, 6));
  EXPECT_TRUE(feed->quarantined.empty());
  EXPECT_EQ(feed->stats.rows, 2u);
  EXPECT_EQ(feed->stats.whitespace_lines, 3u);
}

TEST(FeedReaderTest, RestrictedRowTextIsNeverQuarantined) {
  absl::StatusOr<FeedResult> feed = Read(
      "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address,restricted\n"
      "RKB,1,,Nowak,Jan,1984-03-07,M,CV8 2QY,2 Elm Road,1\n"      // 2 good
      "RKB,1,,Nowak,Jan,1984-03-07,M,CV8 2QY,2 Elm Road,1\n"      // 3 duplicate
      "RKB,3,,Nowak,Jan,1984-03-07,M,CV8 2QY,2 Elm Road\n"        // 4 short: may be restricted
      "RKB,4,,Nowak,Jan,1984-03-07,M,CV8 2QY,2 Elm Road,maybe\n"  // 5 bad flag
      "RKB,,,Nowak,Jan,1984-03-07,M,CV8 2QY,2 Elm Road,yes\n"     // 6 empty id
      "RKB,,,Smith,Ann,1950-11-12,F,B15 2TT,9 Mill Lane,0\n");    // 7 not restricted
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->quarantined.size(), 5u);
  const std::string qpath = WriteTempFile("q.csv", "");
  ASSERT_TRUE(WriteQuarantine(qpath, feed->quarantined).ok());
  const std::string text = ReadFileText(qpath);
  EXPECT_THAT(text, Not(HasSubstr("CV8")));
  EXPECT_THAT(text, Not(HasSubstr("Elm")));
  EXPECT_THAT(text, HasSubstr("record_id: duplicate key, first seen on line 2 (row text withheld: restricted)"));
  EXPECT_THAT(text, HasSubstr("B15 2TT"));  // line 7's raw is kept
  EXPECT_EQ(feed->quarantined[4].raw, "RKB,,,Smith,Ann,1950-11-12,F,B15 2TT,9 Mill Lane,0");
}

TEST(FeedReaderTest, QuarantineFileIsOwnerOnlyWhateverTheUmask) {
  const std::string path = WriteTempFile("q.csv", "old");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  const mode_t old_mask = ::umask(0);
  absl::Status s = WriteQuarantine(path, {{"a.csv", 3, "record_id: empty", "x"}});
  const std::string fresh = path + ".new";
  absl::Status s2 = WriteQuarantine(fresh, {});
  ::umask(old_mask);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_TRUE(s2.ok()) << s2;
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFileText(path), "file,line,reason,raw\na.csv,3,record_id: empty,x\n");
}

TEST(FeedReaderTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadFeed(::testing::TempDir() + "/no-such-feed.csv", {}).status().code(), absl::StatusCode::kNotFound);
}

// --- Mapped layouts.

TEST(FeedReaderTest, MappingCombinesNameAndAddress) {
  absl::StatusOr<Mapping> mapping = ParseMapping(R"({
      "source": "SC01",
      "delimiter": ";",
      "columns": {"record_id": "Client Ref", "date_of_birth": "DOB", "nhs_number": "NHS"},
      "name": {"column": "Full Name", "order": "family_comma_given"},
      "address": ["House", "Street", "Town"],
      "ignore": ["Notes"],
      "postcode_format": "raw",
      "validate_nhs_number": false
    })",
                                                 "m.json");
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  FeedOptions options;
  options.mapping = &*mapping;
  absl::StatusOr<FeedResult> feed = Read(
      "Client Ref;Full Name;DOB;NHS;House;Street;Town;postcode;Notes;Extra\n"
      "C1;Smith, John Paul;07/03/1984;12345;1; High St;Leeds;2000;x;y\n"
      "C2;  Jones ;;;;;;;;\n",
      options);
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->records.size(), 2u);
  const Record& r = feed->records[0];
  EXPECT_EQ(r.source, "SC01");
  EXPECT_EQ(r.record_id, "C1");
  EXPECT_EQ(r.family_name, "Smith");
  EXPECT_EQ(r.given_names, "John Paul");
  EXPECT_EQ(r.date_of_birth, "1984-03-07");
  EXPECT_EQ(r.address, "1, High St, Leeds");
  EXPECT_EQ(r.postcode, "2000");
  EXPECT_EQ(feed->records[1].family_name, "Jones");
  EXPECT_EQ(feed->records[1].given_names, "");
  EXPECT_EQ(feed->records[1].address, "");
  EXPECT_EQ(feed->stats.invalid_nhs, 0u);       // validation off
  EXPECT_EQ(feed->stats.invalid_postcode, 0u);  // raw postcodes
  EXPECT_FALSE(feed->conventions.validate_nhs_number);
  EXPECT_EQ(feed->conventions.postcode_format, PostcodeFormat::kRaw);
  ASSERT_EQ(feed->warnings.size(), 1u);  // "Notes" ignored silently
  EXPECT_THAT(feed->warnings[0], HasSubstr("column 10 is not a known field"));
}

TEST(FeedReaderTest, NameOrders) {
  for (auto [order, full, family, given] : std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"given_first", "John Paul  Smith", "Smith", "John Paul"},
           {"family_first", "Smith John Paul", "Smith", "John Paul"},
           {"given_first", "Madonna", "Madonna", ""}}) {
    absl::StatusOr<Mapping> mapping =
        ParseMapping(R"({"name": {"column": "name", "order": ")" + order + R"("}})", "m.json");
    ASSERT_TRUE(mapping.ok()) << mapping.status();
    FeedOptions options;
    options.mapping = &*mapping;
    options.source = "S";
    absl::StatusOr<FeedResult> feed = Read("record_id,name\n1," + full + "\n", options);
    ASSERT_TRUE(feed.ok()) << feed.status();
    ASSERT_EQ(feed->records.size(), 1u);
    EXPECT_EQ(feed->records[0].family_name, family) << order << " " << full;
    EXPECT_EQ(feed->records[0].given_names, given) << order << " " << full;
  }
}

TEST(FeedReaderTest, MappedColumnMissingFromFileIsAnError) {
  absl::StatusOr<Mapping> mapping = ParseMapping(R"({"columns": {"family_name": "Surname"}})", "m.json");
  ASSERT_TRUE(mapping.ok());
  FeedOptions options;
  options.mapping = &*mapping;
  options.source = "S";
  absl::StatusOr<FeedResult> feed = Read("record_id,last_name\n1,Smith\n", options);
  EXPECT_EQ(feed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(feed.status().message(), HasSubstr("required column 'surname' (family_name) missing"));
}

TEST(FeedReaderTest, TrimOffKeepsSpacesAndTabDelimiterWorks) {
  absl::StatusOr<Mapping> mapping = ParseMapping(R"({"trim": false, "delimiter": "\t", "source": "S"})", "m.json");
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  FeedOptions options;
  options.mapping = &*mapping;
  absl::StatusOr<FeedResult> feed = Read("record_id\tfamily_name\n1\t Smith \n", options);
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(feed->records[0].family_name, " Smith ");
}

// Seen while writing the feed fuzz targets (issue 16): with a tab
// delimiter and trim on (the default), trimming a field skipped the tabs
// that follow it, so an empty field vanished and every row with one was
// quarantined for its field count.
TEST(FeedReaderTest, TabDelimiterWithTrimKeepsEmptyFields) {
  absl::StatusOr<Mapping> mapping = ParseMapping(R"({"delimiter": "\t", "source": "S"})", "m.json");
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  FeedOptions options;
  options.mapping = &*mapping;
  absl::StatusOr<FeedResult> feed = Read(
      "record_id\tfamily_name\tgiven_names\tpostcode\n"
      "1\t\tAnn\t CV1 2AB \n"
      "2\t Smith\t\t\n"
      "3\t\"Lee\" \t\tB1 1AA\n",
      options);
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_TRUE(feed->quarantined.empty()) << feed->quarantined[0].reason;
  ASSERT_EQ(feed->records.size(), 3u);
  EXPECT_EQ(feed->records[0].family_name, "");
  EXPECT_EQ(feed->records[0].given_names, "Ann");
  EXPECT_EQ(feed->records[0].postcode, "CV1 2AB");
  EXPECT_EQ(feed->records[1].family_name, "Smith");
  EXPECT_EQ(feed->records[1].given_names, "");
  EXPECT_EQ(feed->records[2].family_name, "Lee");
  EXPECT_EQ(feed->records[2].given_names, "");
  EXPECT_EQ(feed->records[2].postcode, "B1 1AA");
}

}  // namespace
}  // namespace empi
