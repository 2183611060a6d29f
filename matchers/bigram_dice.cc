// Copyright EMPI developers.
#include "matchers/bigram_dice.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace empi {
namespace {

// Sorted bigram codes of `s` with spaces removed; returns their number.
// Stack arrays: this runs on millions of candidate pairs.
size_t Bigrams(std::string_view s, std::array<uint16_t, kMaxBigramText>* out) {
  size_t n = 0;
  int prev = -1;
  size_t chars = 0;
  for (char c : s) {
    if (c == ' ') continue;
    if (++chars > kMaxBigramText) break;
    int cur = static_cast<unsigned char>(c);
    if (prev >= 0) (*out)[n++] = static_cast<uint16_t>(prev << 8 | cur);
    prev = cur;
  }
  std::sort(out->begin(), out->begin() + static_cast<std::ptrdiff_t>(n));
  return n;
}

}  // namespace

double BigramDice(std::string_view a, std::string_view b) {
  std::array<uint16_t, kMaxBigramText> x, y;
  size_t nx = Bigrams(a, &x), ny = Bigrams(b, &y);
  if (nx == 0 || ny == 0) return 0;
  size_t i = 0, j = 0, common = 0;
  while (i < nx && j < ny) {
    if (x[i] == y[j]) {
      ++common;
      ++i;
      ++j;
    } else if (x[i] < y[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return 2.0 * static_cast<double>(common) / static_cast<double>(nx + ny);
}

}  // namespace empi
