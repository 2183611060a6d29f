// Copyright EMPI developers.
//
// feed_reader.h: reads one contributor feed file into Records.
//
// The canonical feed is RFC 4180 CSV in UTF-8 (optional BOM; LF, CRLF or CR
// line ends, mixed or not)
// with the header
//   source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address
// in any column order (names matched case-insensitively after trimming),
// plus an optional `restricted` column. Other layouts are read through a
// Mapping (mapping.h). docs/feeds.md is the full description.
//
// Faults come in two kinds:
//  * Structural faults (no header, a header naming no known field, a
//    required column missing, invalid UTF-8, a NUL byte in the header, an
//    unterminated quote, dates in mixed formats) fail the whole feed:
//    ReadFeed returns an error naming file, line and column, and nothing of
//    the feed is returned.
//  * Row faults (wrong number of fields, a NUL byte, empty record_id, no
//    source, a key repeated within the feed, no identifying data) put that
//    row in FeedResult::quarantined with its line and a reason naming the
//    field; every other row is still returned. The row text of a row that
//    is, or may be, restricted is withheld from the quarantine.
// Lines of spaces and tabs only are skipped and counted.
// Invalid field values (an NHS number failing its check digit, a malformed
// postcode, an impossible date) stay on the record and are counted in
// FeedStats. Errors and warnings never quote field values.
//
//   empi::FeedOptions options;
//   options.source = "RKB";
//   absl::StatusOr<empi::FeedResult> feed = empi::ReadFeed("rkb.csv", options);
//   if (!feed.ok()) return feed.status();
//   EMPI_RETURN_IF_ERROR(empi::WriteQuarantine("rkb.quarantine.csv",
//                                              feed->quarantined));
//
// Thread-safety: pure functions; distinct feeds may be read concurrently.
#ifndef EMPI_FEED_FEED_READER_H_
#define EMPI_FEED_FEED_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "empi/record.h"
#include "engine/feed/mapping.h"
#include "matchers/date_of_birth.h"

namespace empi {

struct FeedOptions {
  // Source for rows whose source column is absent or empty (--source).
  // Overrides Mapping::source. Default: none.
  std::optional<std::string> source;
  // Date format of the file (--date-format); kAuto defers to the mapping,
  // then to detection. Default: kAuto.
  DateFormat date_format = DateFormat::kAuto;
  // Layout of a non-canonical feed; not owned, must outlive the call.
  // Default: nullptr (canonical layout).
  const Mapping* mapping = nullptr;
};

// A row that could not be used.
struct QuarantinedRow {
  std::string file;
  uint64_t line = 0;   // 1-based physical line where the row starts
  std::string reason;  // names the field, e.g. "record_id: empty"
  std::string raw;     // the row's text as in the file, without line end
                       // (NUL shown as \0); empty when the row is or may
                       // be restricted (the reason then says so)
};

struct FeedStats {
  uint64_t rows = 0;                // data rows read (blank lines excluded)
  uint64_t accepted = 0;            // == records.size()
  uint64_t quarantined = 0;         // == quarantined.size()
  uint64_t invalid_nhs = 0;         // non-empty, fails ParseNhsNumber
  uint64_t invalid_postcode = 0;    // non-empty, not a UK postcode
  uint64_t invalid_date = 0;        // non-empty, not a date in the file's format
  uint64_t placeholder_values = 0;  // placeholder NHS number, postcode or date
  uint64_t whitespace_lines = 0;    // lines of spaces and tabs only, skipped

  friend bool operator==(const FeedStats&, const FeedStats&) = default;
};

struct FeedResult {
  std::vector<Record> records;
  std::vector<uint64_t> lines;  // lines[i]: line where records[i] starts
  std::vector<QuarantinedRow> quarantined;
  std::vector<std::string> warnings;  // e.g. one per ignored unknown column
  FeedStats stats;
  // The format the dates were read in; kAuto if the file has no
  // recognisable date at all.
  DateFormat date_format = DateFormat::kAuto;
  // How the linker must compare this feed's nhs_number and postcode.
  FieldConventions conventions;
};

// Reads the feed at `path`. On success every data row is either in
// `records` (with its line in `lines`) or in `quarantined`. Returns
// NotFound if the file cannot be opened, DataLoss for bytes that are not
// UTF-8, InvalidArgument for the other structural faults listed above; the
// message names the file, line and column but never a field value.
absl::StatusOr<FeedResult> ReadFeed(const std::string& path, const FeedOptions& options);

// As ReadFeed, for a feed already in memory: `data` is the file's bytes and
// `path` only names it in errors and in QuarantinedRow::file. ReadFeed is
// this after reading the file; the fuzz target (tests/fuzz) calls it
// directly.
absl::StatusOr<FeedResult> ReadFeedText(std::string data, const std::string& path, const FeedOptions& options);

// Writes `rows` as CSV with header `file,line,reason,raw` (RFC 4180 quoting)
// to `path`, replacing it, owner-only (mode 0600). Writes the header even
// when `rows` is empty.
absl::Status WriteQuarantine(const std::string& path, const std::vector<QuarantinedRow>& rows);

}  // namespace empi

#endif  // EMPI_FEED_FEED_READER_H_
