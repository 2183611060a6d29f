// Copyright EMPI developers.
#include "matchers/date_of_birth.h"

#include <array>
#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace empi {
namespace {

constexpr std::array<int32_t, 6> kPlaceholderDates = {19000101, 18000101, 19010101, 18991231, 99991231, 10101};
constexpr int32_t kEarliestPlausible = 18800101;

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Reads [min_digits, max_digits] ASCII digits from the front of *s.
bool TakeNumber(std::string_view* s, size_t min_digits, size_t max_digits, int* out) {
  size_t n = 0;
  int v = 0;
  while (n < s->size() && n < max_digits && (*s)[n] >= '0' && (*s)[n] <= '9') {
    v = v * 10 + ((*s)[n] - '0');
    ++n;
  }
  if (n < min_digits) return false;
  s->remove_prefix(n);
  *out = v;
  return true;
}

bool TakeChar(std::string_view* s, char c) {
  if (s->empty() || s->front() != c) return false;
  s->remove_prefix(1);
  return true;
}

int32_t Today() {
  absl::CivilDay d = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  return static_cast<int32_t>(d.year() * 10000 + d.month() * 100 + d.day());
}

}  // namespace

std::optional<DateFormat> DateFormatFromName(std::string_view name) {
  if (name == "auto") return DateFormat::kAuto;
  if (name == "iso") return DateFormat::kIso;
  if (name == "dd/mm/yyyy") return DateFormat::kDmySlash;
  if (name == "yyyymmdd") return DateFormat::kCompact;
  return std::nullopt;
}

std::string_view DateFormatName(DateFormat format) {
  switch (format) {
    case DateFormat::kAuto: return "auto";
    case DateFormat::kIso: return "iso";
    case DateFormat::kDmySlash: return "dd/mm/yyyy";
    case DateFormat::kCompact: return "yyyymmdd";
  }
  return "unknown";
}

namespace {

// Reads year, month and day in `format`'s shape (not kAuto), without asking
// whether they name a day.
bool ReadDateParts(std::string_view text, DateFormat format, int* y, int* m, int* d) {
  std::string_view s = Trim(text);
  bool ok = false;
  switch (format) {
    case DateFormat::kIso:
      ok = TakeNumber(&s, 4, 4, y) && TakeChar(&s, '-') && TakeNumber(&s, 2, 2, m) && TakeChar(&s, '-') &&
           TakeNumber(&s, 2, 2, d);
      break;
    case DateFormat::kDmySlash:
      // Day and month may lose their leading zero ("7/3/1984"), as
      // spreadsheets write them.
      ok = TakeNumber(&s, 1, 2, d) && TakeChar(&s, '/') && TakeNumber(&s, 1, 2, m) && TakeChar(&s, '/') &&
           TakeNumber(&s, 4, 4, y);
      break;
    case DateFormat::kCompact:
      ok = TakeNumber(&s, 4, 4, y) && TakeNumber(&s, 2, 2, m) && TakeNumber(&s, 2, 2, d);
      break;
    case DateFormat::kAuto: return false;
  }
  return ok && s.empty();
}

bool IsDay(int y, int m, int d) { return m >= 1 && m <= 12 && d >= 1 && d <= DaysInMonth(y, m); }

}  // namespace

std::optional<int32_t> ParseDate(std::string_view text, DateFormat format) {
  int y = 0, m = 0, d = 0;
  if (!ReadDateParts(text, format, &y, &m, &d) || !IsDay(y, m, d)) return std::nullopt;
  return y * 10000 + m * 100 + d;
}

DateFormat DateShape(std::string_view text) {
  for (char c : text) {
    if (c == '-') return DateFormat::kIso;
    if (c == '/') return DateFormat::kDmySlash;
  }
  return DateFormat::kCompact;
}

std::optional<int32_t> ParseImpossibleDate(std::string_view text) {
  int y = 0, m = 0, d = 0;
  if (!ReadDateParts(text, DateShape(text), &y, &m, &d) || IsDay(y, m, d)) return std::nullopt;
  if (m == 0 || d == 0 || y < kEarliestPlausible / 10000 || y > Today() / 10000) return std::nullopt;
  return y * 10000 + m * 100 + d;
}

std::optional<DateFormat> DetectDateFormat(std::span<const std::string_view> samples) {
  static constexpr DateFormat kFormats[] = {DateFormat::kIso, DateFormat::kDmySlash, DateFormat::kCompact};
  std::optional<DateFormat> found;
  for (std::string_view sample : samples) {
    if (Trim(sample).empty()) continue;
    for (DateFormat f : kFormats) {
      if (!ParseDate(sample, f)) continue;
      if (found && *found != f) return std::nullopt;  // mixed file
      found = f;
    }
  }
  return found;
}

std::string FormatIsoDate(int32_t yyyymmdd) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", yyyymmdd / 10000, yyyymmdd / 100 % 100, yyyymmdd % 100);
  return buf;
}

bool IsPlaceholderDate(int32_t yyyymmdd) {
  for (int32_t p : kPlaceholderDates) {
    if (p == yyyymmdd) return true;
  }
  return yyyymmdd < kEarliestPlausible || yyyymmdd > Today();
}

}  // namespace empi
