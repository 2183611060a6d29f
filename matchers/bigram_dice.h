// Copyright EMPI developers.
//
// bigram_dice.h: Dice similarity of the character bigrams of two strings,
// spaces ignored.
//
// Addresses go wrong in ways that defeat an in-order comparator such as
// Jaro-Winkler: address lines entered in the other order ("chippendale
// village, hawker place"), a space dropped or added ("wellsroad", "wells
// road"), a line left out. The multiset of adjacent character pairs of the
// text with spaces removed hardly changes under any of these, so
//   Dice = 2 |A ∩ B| / (|A| + |B|)   (A, B multisets of bigrams)
// stays high, while two different addresses share few bigrams.
//
//   double s = empi::BigramDice("12 hawker place currambine", "12 currambine hawkerplace");
//
// Strings longer than kMaxBigramText characters (spaces excluded) are
// compared on their first kMaxBigramText characters. Two empty strings (or
// strings of one character) score 0: they carry no evidence.
//
// Thread-safety: a pure function.
#ifndef EMPI_MATCHERS_BIGRAM_DICE_H_
#define EMPI_MATCHERS_BIGRAM_DICE_H_

#include <cstddef>
#include <string_view>

namespace empi {

inline constexpr size_t kMaxBigramText = 128;

double BigramDice(std::string_view a, std::string_view b);

}  // namespace empi

#endif  // EMPI_MATCHERS_BIGRAM_DICE_H_
