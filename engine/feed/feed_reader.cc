// Copyright EMPI developers.
#include "engine/feed/feed_reader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "base/csv.h"
#include "base/csv_scanner.h"
#include "base/input_file.h"
#include "base/private_file.h"
#include "empi/status_macros.h"
#include "fmt/format.h"
#include "matchers/nhs_number.h"
#include "matchers/postcode.h"

namespace empi {
namespace {

// absl::StrCat cannot take std::string_view in Debian's Abseil build.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", args), ...);
  return out;
}

std::string_view StripBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// ---------------------------------------------------------------------------
// File access and encoding.

// Offset of the first byte that is not part of well-formed UTF-8 (no
// overlongs, no surrogates, nothing above U+10FFFF), or npos. NUL is
// well-formed here: a NUL in a data row makes that row bad (it would corrupt
// the NUL-separated record keys), not the file; a NUL in the header (a
// UTF-16 file without BOM is full of them) fails the file (ReadFeed).
size_t FindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  auto cont = [&](size_t k) { return k < n && (p[k] & 0xC0) == 0x80; };
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(i + 1)) return i;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (i + 1 >= n) return i;
      unsigned char c1 = p[i + 1];
      bool ok = c == 0xE0 ? (c1 >= 0xA0 && c1 <= 0xBF) : c == 0xED ? (c1 >= 0x80 && c1 <= 0x9F) : (c1 & 0xC0) == 0x80;
      if (!ok || !cont(i + 2)) return i;
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (i + 1 >= n) return i;
      unsigned char c1 = p[i + 1];
      bool ok = c == 0xF0 ? (c1 >= 0x90 && c1 <= 0xBF) : c == 0xF4 ? (c1 >= 0x80 && c1 <= 0x8F) : (c1 & 0xC0) == 0x80;
      if (!ok || !cont(i + 2) || !cont(i + 3)) return i;
      i += 4;
    } else {
      return i;
    }
  }
  return std::string_view::npos;
}

// Rewrites every CR that is not followed by LF (classic Mac OS line ends,
// or a file whose line ends are mixed) as LF, so that the scanner sees LF or
// CRLF only. Inside a quoted field this turns a lone CR into a line break,
// which is what it was.
void NormalizeLoneCr(std::string* data) {
  size_t i = data->find('\r');
  while (i != std::string::npos) {
    if (i + 1 == data->size() || (*data)[i + 1] != '\n') (*data)[i] = '\n';
    i = data->find('\r', i + 1);
  }
}

// ---------------------------------------------------------------------------
// Header resolution.

namespace slot {
inline constexpr int kSource = 0;
inline constexpr int kRecordId = 1;
inline constexpr int kNhs = 2;
inline constexpr int kFamily = 3;
inline constexpr int kGiven = 4;
inline constexpr int kDob = 5;
inline constexpr int kSex = 6;
inline constexpr int kPostcode = 7;
inline constexpr int kAddress = 8;
inline constexpr int kRestricted = 9;
}  // namespace slot
inline constexpr int kNumSlots = 10;
constexpr std::string_view kSlotNames[kNumSlots] = {"source",      "record_id",     "nhs_number", "family_name",
                                                    "given_names", "date_of_birth", "sex",        "postcode",
                                                    "address",     "restricted"};

struct Layout {
  int col[kNumSlots];
  int full_name = -1;
  std::vector<int> address_parts;
  size_t num_columns = 0;
};

std::string NormalizeName(std::string_view name) { return ToLower(StripBlanks(name)); }

absl::StatusOr<Layout> ResolveHeader(const std::string& path, const CsvRow& header, const Mapping* mapping,
                                     bool have_source, std::vector<std::string>* warnings) {
  const std::string where = Cat(path, ":", header.line);
  Layout layout;
  layout.num_columns = header.fields.size();
  std::vector<std::string> names;
  names.reserve(header.fields.size());
  for (std::string_view f : header.fields) names.push_back(NormalizeName(f));
  std::vector<bool> used(names.size(), false);

  // A first line that names no field at all is data, not a header (or the
  // wrong file): refused without showing any of its cells.
  {
    absl::flat_hash_set<std::string> known;
    for (std::string_view n : kSlotNames) known.insert(std::string(n));
    if (mapping != nullptr) {
      for (const auto& [f, c] : mapping->columns) known.insert(NormalizeName(c));
      if (mapping->name) known.insert(NormalizeName(mapping->name->column));
      for (const std::string& a : mapping->address) known.insert(NormalizeName(a));
      for (const std::string& i : mapping->ignore) known.insert(NormalizeName(i));
    }
    if (std::none_of(names.begin(), names.end(), [&](const std::string& n) { return known.contains(n); })) {
      return absl::InvalidArgumentError(
          Cat(where, ": header: none of its ", names.size(),
              " columns is a known field; the first line must be the header (its cells are not shown)"));
    }
  }

  // Finds a column; a name used twice in the header cannot be resolved.
  auto find = [&](const std::string& wanted, std::string_view role) -> absl::StatusOr<int> {
    int found = -1;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] != wanted) continue;
      if (found >= 0) {
        return absl::InvalidArgumentError(Cat(where, ":", i + 1, ": header: column '", wanted, "' (", role,
                                              ") appears more than once (columns ", found + 1, " and ", i + 1, ")"));
      }
      found = static_cast<int>(i);
    }
    if (found >= 0) used[found] = true;
    return found;
  };
  auto missing = [&](const std::string& wanted, std::string_view role) {
    return absl::InvalidArgumentError(Cat(where, ": header: required column '", wanted, "' (", role, ") missing"));
  };

  for (int s = 0; s < kNumSlots; ++s) {
    std::string_view field = kSlotNames[s];
    layout.col[s] = -1;
    std::optional<std::string> stated;
    if (mapping != nullptr) {
      for (const auto& [f, c] : mapping->columns) {
        if (f == field) stated = NormalizeName(c);
      }
      // These fields come from the combined columns instead.
      if (!stated && mapping->name && (s == slot::kFamily || s == slot::kGiven)) continue;
      if (!stated && !mapping->address.empty() && s == slot::kAddress) continue;
    }
    const std::string wanted = stated ? *stated : std::string(field);
    absl::StatusOr<int> col = find(wanted, field);
    if (!col.ok()) return col.status();
    layout.col[s] = *col;
    if (*col >= 0) continue;
    bool required;
    if (stated) {
      required = true;
    } else if (s == slot::kRecordId) {
      required = true;
    } else if (s == slot::kSource) {
      required = !have_source;
    } else {
      required = mapping == nullptr && s != slot::kAddress && s != slot::kRestricted;
    }
    if (required) return missing(wanted, field);
  }
  if (mapping != nullptr && mapping->name) {
    const std::string wanted = NormalizeName(mapping->name->column);
    absl::StatusOr<int> col = find(wanted, "name");
    if (!col.ok()) return col.status();
    if (*col < 0) return missing(wanted, "name");
    layout.full_name = *col;
  }
  if (mapping != nullptr) {
    for (const std::string& part : mapping->address) {
      const std::string wanted = NormalizeName(part);
      absl::StatusOr<int> col = find(wanted, "address");
      if (!col.ok()) return col.status();
      if (*col < 0) return missing(wanted, "address");
      layout.address_parts.push_back(*col);
    }
    for (const std::string& ignored : mapping->ignore) {
      const std::string wanted = NormalizeName(ignored);
      for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == wanted) used[i] = true;
      }
    }
  }
  if (layout.col[slot::kNhs] < 0 && layout.col[slot::kFamily] < 0 && layout.col[slot::kGiven] < 0 &&
      layout.col[slot::kDob] < 0 && layout.full_name < 0) {
    return absl::InvalidArgumentError(Cat(where,
                                          ": header: no identifying column (nhs_number, family_name, "
                                          "given_names, date_of_birth or a name column)"));
  }
  // Named by number only: a header cell may be data (a file whose first
  // line is a record, or whose line ends were not seen).
  for (size_t i = 0; i < names.size(); ++i) {
    if (used[i]) continue;
    warnings->push_back(
        Cat(path, ": column ", i + 1, names[i].empty() ? " (unnamed)" : "", " is not a known field and is ignored"));
  }
  return layout;
}

// Hashes and compares records, named by index, on (source, record_id).
struct KeyHash {
  const std::vector<Record>* records;
  size_t operator()(uint32_t i) const {
    const Record& r = (*records)[i];
    return absl::Hash<std::pair<std::string_view, std::string_view>>{}({r.source, r.record_id});
  }
  bool operator()(uint32_t a, uint32_t b) const {
    const Record& x = (*records)[a];
    const Record& y = (*records)[b];
    return x.record_id == y.record_id && x.source == y.source;
  }
};

// ---------------------------------------------------------------------------
// Field helpers.

// Splits a whole-name value into the record's family and given names.
void SplitName(std::string_view full, NameOrder order, Record* r) {
  full = StripBlanks(full);
  if (order == NameOrder::kFamilyCommaGiven) {
    size_t comma = full.find(',');
    r->family_name.assign(StripBlanks(full.substr(0, comma)));
    if (comma != std::string_view::npos) {
      r->given_names.assign(StripBlanks(full.substr(comma + 1)));
    }
    return;
  }
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  if (order == NameOrder::kFamilyFirst) {
    size_t cut = std::find_if(full.begin(), full.end(), blank) - full.begin();
    r->family_name.assign(full.substr(0, cut));
    r->given_names.assign(StripBlanks(full.substr(cut)));
  } else {
    size_t cut = std::find_if(full.rbegin(), full.rend(), blank) - full.rbegin();
    r->family_name.assign(full.substr(full.size() - cut));
    r->given_names.assign(StripBlanks(full.substr(0, full.size() - cut)));
  }
}

// 0/1/true/false/yes/no/y/n (any case); empty is false.
std::optional<bool> ParseFlag(std::string_view v) {
  std::string s = ToLower(StripBlanks(v));
  if (s.empty() || s == "0" || s == "false" || s == "no" || s == "n") return false;
  if (s == "1" || s == "true" || s == "yes" || s == "y") return true;
  return std::nullopt;
}

// Ten digits (spaces and hyphens allowed), all the same: a placeholder.
bool IsPlaceholderNhs(std::string_view v) {
  char first = 0;
  int n = 0;
  for (char c : v) {
    if (c >= '0' && c <= '9') {
      if (n == 0) first = c;
      if (c != first) return false;
      ++n;
    } else if (c != ' ' && c != '-') {
      return false;
    }
  }
  return n == 10;
}

void CountNhs(const Record& r, FeedStats* stats) {
  if (r.nhs_number.empty() || ParseNhsNumber(r.nhs_number)) return;
  if (IsPlaceholderNhs(r.nhs_number)) {
    ++stats->placeholder_values;
  } else {
    ++stats->invalid_nhs;
  }
}

void CountPostcode(const Record& r, FeedStats* stats) {
  if (r.postcode.empty()) return;
  bool placeholder = false;
  if (ParsePostcode(r.postcode, &placeholder)) return;
  if (placeholder) {
    ++stats->placeholder_values;
  } else {
    ++stats->invalid_postcode;
  }
}

// Settles the file's date format, then rewrites every date to ISO, keeping
// text that is no date in that format as delivered. Detection follows
// DetectDateFormat (values that fit no format are ignored; values fitting
// different formats make a mixed file) but is applied value by value so
// that the error can name the first two conflicting lines.
absl::Status ConvertDates(const std::string& path, int dob_column, DateFormat stated, FeedResult* result) {
  std::vector<Record>& records = result->records;
  std::vector<int32_t> parsed(records.size(), 0);  // 0: does not fit
  DateFormat format = stated;
  if (format == DateFormat::kAuto) {
    size_t first = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const std::string& v = records[i].date_of_birth;
      if (v.empty()) continue;
      DateFormat fit = DateShape(v);
      std::optional<int32_t> date = ParseDate(v, fit);
      if (!date) continue;
      parsed[i] = *date;
      if (format == DateFormat::kAuto) {
        format = fit;
        first = i;
      } else if (fit != format) {
        return absl::InvalidArgumentError(Cat(
            path, ":", result->lines[i], ":", dob_column + 1, ": date_of_birth: dates in more than one format (line ",
            result->lines[first], " is ", DateFormatName(format), ", line ", result->lines[i], " is ",
            DateFormatName(fit), "); state the format with --date-format"));
      }
    }
  } else {
    for (size_t i = 0; i < records.size(); ++i) {
      const std::string& v = records[i].date_of_birth;
      if (v.empty()) continue;
      parsed[i] = ParseDate(v, format).value_or(0);
    }
  }
  result->date_format = format;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].date_of_birth.empty()) continue;
    if (parsed[i] == 0) {
      ++result->stats.invalid_date;
      continue;
    }
    if (IsPlaceholderDate(parsed[i])) ++result->stats.placeholder_values;
    records[i].date_of_birth = FormatIsoDate(parsed[i]);
  }
  return absl::OkStatus();
}

// The first byte that is not UTF-8 as an error naming its line and column.
absl::Status CheckUtf8(const std::string& path, std::string_view data) {
  const size_t bad = FindInvalidUtf8(data);
  if (bad == std::string_view::npos) return absl::OkStatus();
  const size_t nl = bad == 0 ? std::string::npos : data.rfind('\n', bad - 1);
  const size_t col = bad - (nl == std::string::npos ? 0 : nl + 1) + 1;
  const uint64_t line = 1 + std::count(data.begin(), data.begin() + bad, '\n');
  return absl::DataLossError(Cat(path, ":", line, ":", col, ": byte is not valid UTF-8 (byte column ", col, ")"));
}

std::string_view Field(const CsvRow& row, const Layout& layout, int slot) {
  return layout.col[slot] >= 0 ? row.fields[layout.col[slot]] : std::string_view();
}

// Why a row cannot be read as a record at all (a NUL byte, the wrong number
// of fields, text after a closing quote); empty if it can.
std::string RowProblem(const CsvRow& row, const Layout& layout) {
  if (row.raw.find('\0') != std::string_view::npos) {
    for (size_t i = 0; i < row.fields.size(); ++i) {
      if (row.fields[i].find('\0') != std::string_view::npos) return Cat("column ", i + 1, ": NUL byte");
    }
    return "NUL byte";
  }
  if (row.fields.size() != layout.num_columns) {
    return Cat("fields: expected ", layout.num_columns, ", found ", row.fields.size());
  }
  if (row.bad_quote_field >= 0) return Cat("column ", row.bad_quote_field + 1, ": text after closing quote");
  return "";
}

// The row as a quarantined row: its text, unless it is, or may be, a
// restricted patient's (its restricted cell is not a clear "no", or cannot
// be told apart from the others): never the address or postcode of a
// restricted patient.
QuarantinedRow Quarantined(const std::string& path, const CsvRow& row, const Layout& layout, std::string reason) {
  const int c = layout.col[slot::kRestricted];
  const bool maybe_restricted =
      c >= 0 && (row.fields.size() != layout.num_columns || ParseFlag(row.fields[c]) != std::optional<bool>(false));
  std::string raw;
  if (maybe_restricted) {
    reason += " (row text withheld: restricted)";
  } else {
    raw.reserve(row.raw.size());
    for (char ch : row.raw) {
      if (ch == '\0') {
        raw += "\\0";
      } else {
        raw.push_back(ch);
      }
    }
  }
  return QuarantinedRow{path, row.line, std::move(reason), std::move(raw)};
}

// The record's fields from a row of the right shape (all but restricted).
void FillRecord(const CsvRow& row, const Layout& layout, const Mapping* mapping,
                const std::optional<std::string>& default_source, Record* r) {
  r->source.assign(Field(row, layout, slot::kSource));
  if (r->source.empty() && default_source) r->source = *default_source;
  r->record_id.assign(Field(row, layout, slot::kRecordId));
  r->nhs_number.assign(Field(row, layout, slot::kNhs));
  if (layout.full_name >= 0) {
    SplitName(row.fields[layout.full_name], mapping->name->order, r);
  } else {
    r->family_name.assign(Field(row, layout, slot::kFamily));
    r->given_names.assign(Field(row, layout, slot::kGiven));
  }
  r->date_of_birth.assign(Field(row, layout, slot::kDob));
  r->sex.assign(Field(row, layout, slot::kSex));
  r->postcode.assign(Field(row, layout, slot::kPostcode));
  if (layout.address_parts.empty()) {
    r->address.assign(Field(row, layout, slot::kAddress));
    return;
  }
  for (int c : layout.address_parts) {
    std::string_view part = StripBlanks(row.fields[c]);
    if (part.empty()) continue;
    if (!r->address.empty()) r->address.append(", ");
    r->address.append(part);
  }
}

// Why a filled record is refused, before the check for a duplicate key;
// empty if it is not.
std::string RecordProblem(const Record& r, const std::optional<bool>& restricted) {
  if (r.record_id.empty()) return "record_id: empty";
  if (std::string problem = FieldProblem(r); !problem.empty()) return problem;
  if (r.source.empty()) return "source: empty and no --source given";
  if (!restricted) return "restricted: not one of 0/1/true/false/yes/no/Y/N";
  if (r.nhs_number.empty() && r.family_name.empty() && r.given_names.empty() && r.date_of_birth.empty()) {
    return "no identifying data: nhs_number, family_name, given_names and date_of_birth all empty";
  }
  return "";
}

}  // namespace

absl::StatusOr<FeedResult> ReadFeed(const std::string& path, const FeedOptions& options) {
  absl::StatusOr<std::string> data = ReadInputFile(path, "feed");
  if (!data.ok()) return data.status();
  return ReadFeedText(*std::move(data), path, options);
}

absl::StatusOr<FeedResult> ReadFeedText(std::string data_in, const std::string& path, const FeedOptions& options) {
  NormalizeLoneCr(&data_in);
  const std::string& data = data_in;
  EMPI_RETURN_IF_ERROR(CheckUtf8(path, data));

  const Mapping* mapping = options.mapping;
  const char delimiter = mapping ? mapping->delimiter : ',';
  const bool trim = mapping ? mapping->trim : true;
  const size_t start = data.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  CsvScanner scanner(data, start, delimiter, trim);

  std::optional<std::string> default_source = options.source;
  if (!default_source && mapping) default_source = mapping->source;
  if (default_source && default_source->empty()) default_source.reset();

  FeedResult result;
  if (mapping) result.conventions = mapping->conventions;
  CsvRow row;
  CsvScanner::Result scan = scanner.Next(&row);
  if (scan == CsvScanner::Result::kUnclosedQuote) return scanner.UnclosedQuoteError(path);
  if (scan != CsvScanner::Result::kRow) return absl::InvalidArgumentError(Cat(path, ":1: empty file, no header"));
  if (size_t nul = row.raw.find('\0'); nul != std::string_view::npos) {
    return absl::DataLossError(Cat(path, ":", row.line, ":", nul + 1, ": header: NUL byte (is the file UTF-16?)"));
  }
  absl::StatusOr<Layout> layout_or = ResolveHeader(path, row, mapping, default_source.has_value(), &result.warnings);
  if (!layout_or.ok()) return layout_or.status();
  const Layout& layout = *layout_or;

  // Records never outnumber the lines.
  const size_t max_rows = std::count(data.begin(), data.end(), '\n') + 1;
  result.records.reserve(max_rows);
  result.lines.reserve(max_rows);
  // Keys already accepted, held as indices into result.records: 4-byte slots
  // keep the table small enough that a million inserts stay cheap.
  const KeyHash key_hash{&result.records};
  absl::flat_hash_set<uint32_t, KeyHash, KeyHash> seen(0, key_hash, key_hash);
  seen.reserve(max_rows);

  while ((scan = scanner.Next(&row)) == CsvScanner::Result::kRow) {
    ++result.stats.rows;
    if (std::string problem = RowProblem(row, layout); !problem.empty()) {
      result.quarantined.push_back(Quarantined(path, row, layout, std::move(problem)));
      continue;
    }
    Record& r = result.records.emplace_back();
    FillRecord(row, layout, mapping, default_source, &r);
    const std::optional<bool> restricted = ParseFlag(Field(row, layout, slot::kRestricted));
    std::string reason = RecordProblem(r, restricted);
    if (reason.empty()) {
      if (auto [it, inserted] = seen.insert(static_cast<uint32_t>(result.records.size() - 1)); !inserted) {
        reason = Cat("record_id: duplicate key, first seen on line ", result.lines[*it]);
      }
    }
    if (!reason.empty()) {
      result.records.pop_back();
      result.quarantined.push_back(Quarantined(path, row, layout, std::move(reason)));
      continue;
    }
    r.restricted = *restricted;
    result.lines.push_back(row.line);
    if (result.conventions.validate_nhs_number) CountNhs(r, &result.stats);
    if (result.conventions.postcode_format == PostcodeFormat::kUk) CountPostcode(r, &result.stats);
  }
  if (scan == CsvScanner::Result::kUnclosedQuote) return scanner.UnclosedQuoteError(path);

  DateFormat stated = options.date_format;
  if (stated == DateFormat::kAuto && mapping) stated = mapping->date_format;
  EMPI_RETURN_IF_ERROR(ConvertDates(path, layout.col[slot::kDob], stated, &result));

  result.stats.accepted = result.records.size();
  result.stats.quarantined = result.quarantined.size();
  result.stats.whitespace_lines = scanner.whitespace_lines();
  return result;
}

absl::Status WriteQuarantine(const std::string& path, const std::vector<QuarantinedRow>& rows) {
  std::string text = "file,line,reason,raw\n";
  for (const QuarantinedRow& q : rows) {
    AppendCsvField(q.file, &text);
    text += Cat(",", q.line, ",");
    AppendCsvField(q.reason, &text);
    text.push_back(',');
    AppendCsvField(q.raw, &text);
    text.push_back('\n');
  }
  // Quarantined rows are patient data: owner-only (0600).
  absl::Status written = WritePrivateFile(path, text);
  if (!written.ok()) {
    return absl::UnavailableError(Cat("quarantine file ", std::string(written.message())));
  }
  return absl::OkStatus();
}

}  // namespace empi
