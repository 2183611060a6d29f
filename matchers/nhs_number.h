// Copyright EMPI developers.
//
// nhs_number.h: NHS number validation (10 digits, modulus-11 check digit).
//
// The check digit: weights 10..2 over the first nine digits, sum, remainder
// r = sum % 11, check = 11 - r (11 becomes 0; 10 means no valid number has
// these nine digits). Source: NHS Data Dictionary, "NHS Number".
//
//   std::optional<uint64_t> n = empi::ParseNhsNumber("943 476 5919");
//   // n == 9434765919
//
// Thread-safety: pure functions.
#ifndef EMPI_MATCHERS_NHS_NUMBER_H_
#define EMPI_MATCHERS_NHS_NUMBER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace empi {

// The check digit for nine digits, or -1 when no check digit exists (the
// modulus gives 10). `nine` must hold exactly nine ASCII digits.
int NhsCheckDigit(std::string_view nine);

// Returns the number when `raw` holds exactly ten digits, optionally grouped
// by spaces or hyphens, whose check digit is right and which is not a
// placeholder (all digits the same, such as 0000000000 or 9999999999).
// Returns nullopt otherwise; the caller keeps `raw` on the record.
std::optional<uint64_t> ParseNhsNumber(std::string_view raw);

// Ten-digit zero-padded text of a parsed number.
std::string FormatNhsNumber(uint64_t n);

}  // namespace empi

#endif  // EMPI_MATCHERS_NHS_NUMBER_H_
