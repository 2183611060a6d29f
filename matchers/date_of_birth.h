// Copyright EMPI developers.
//
// date_of_birth.h: dates of birth in the formats contributors send.
//
// A feed's dates are in one of three formats, detected per file
// (DetectDateFormat) or stated by the user. Dates are carried as an int
// yyyymmdd (19840307). Placeholder dates (1900-01-01, 1800-01-01,
// 1901-01-01, 9999-12-31, 0001-01-01 and any date before 1880-01-01 or after
// the present day) are missing, not evidence.
//
// Thread-safety: pure functions.
#ifndef EMPI_MATCHERS_DATE_OF_BIRTH_H_
#define EMPI_MATCHERS_DATE_OF_BIRTH_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace empi {

enum class DateFormat {
  kAuto,      // detect
  kIso,       // YYYY-MM-DD
  kDmySlash,  // DD/MM/YYYY
  kCompact,   // YYYYMMDD
};

// "iso", "dd/mm/yyyy", "yyyymmdd", "auto" (the --date-format values).
std::optional<DateFormat> DateFormatFromName(std::string_view name);
std::string_view DateFormatName(DateFormat format);

// Parses one date in `format` (not kAuto) to yyyymmdd; nullopt if it does
// not fit the format or names no real calendar day.
std::optional<int32_t> ParseDate(std::string_view text, DateFormat format);

// The only format `text` could fit, judged by its separators: '-' only in
// ISO, '/' only in DD/MM/YYYY, neither in YYYYMMDD.
DateFormat DateShape(std::string_view text);

// The digits of a date that names no calendar day, read by its shape
// (YYYY-MM-DD, DD/MM/YYYY or YYYYMMDD): "1971-13-19" -> 19711319,
// "19402704" -> 19402704. A keying slip makes such a date out of a real one
// (a digit, or day and month in each other's places), so it may be compared
// with another record's date as that slip, never as a date in itself.
// nullopt for a real day, another shape, a month or day of 0 (a part left
// unknown, not a slip), or a year before 1880 or after this one.
std::optional<int32_t> ParseImpossibleDate(std::string_view text);

// The single format all non-empty `samples` fit. Returns nullopt when the
// samples fit none of the formats, or more than one format occurs (a mixed
// file, reported rather than guessed).
std::optional<DateFormat> DetectDateFormat(std::span<const std::string_view> samples);

// yyyymmdd -> "YYYY-MM-DD".
std::string FormatIsoDate(int32_t yyyymmdd);

// True for the placeholder dates listed above.
bool IsPlaceholderDate(int32_t yyyymmdd);

}  // namespace empi

#endif  // EMPI_MATCHERS_DATE_OF_BIRTH_H_
