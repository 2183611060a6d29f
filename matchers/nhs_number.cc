// Copyright EMPI developers.
#include "matchers/nhs_number.h"

#include <cstdio>

namespace empi {

int NhsCheckDigit(std::string_view nine) {
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += (nine[i] - '0') * (10 - i);
  int check = 11 - sum % 11;
  if (check == 11) return 0;
  if (check == 10) return -1;
  return check;
}

std::optional<uint64_t> ParseNhsNumber(std::string_view raw) {
  char digits[10];
  int n = 0;
  for (char c : raw) {
    if (c >= '0' && c <= '9') {
      if (n == 10) return std::nullopt;
      digits[n++] = c;
    } else if (c != ' ' && c != '-') {
      return std::nullopt;
    }
  }
  if (n != 10) return std::nullopt;
  bool all_same = true;
  for (int i = 1; i < 10; ++i) all_same &= digits[i] == digits[0];
  if (all_same) return std::nullopt;
  if (NhsCheckDigit(std::string_view(digits, 9)) != digits[9] - '0') {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : digits) value = value * 10 + static_cast<uint64_t>(c - '0');
  return value;
}

std::string FormatNhsNumber(uint64_t n) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%010llu", static_cast<unsigned long long>(n));
  return buf;
}

}  // namespace empi
