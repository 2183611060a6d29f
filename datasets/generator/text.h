// Copyright EMPI developers.
//
// text.h: the small pieces of Unicode the generator needs, without ICU.
//
// Names use Latin-1 and Latin Extended-A letters only (Zoë, Łukasz,
// Wiśniewski), so case mapping and diacritic folding are table lookups over
// U+0000..U+017F; anything else passes through unchanged.
//
//   std::string s = ToUpperUtf8("Zoë");     // "ZOË"
//   std::string t = FoldDiacritics("Łukasz");  // "Lukasz"
//
// Thread-safety: pure functions, except MakeTypo which draws from `rng`.
#ifndef EMPI_DATASETS_GENERATOR_TEXT_H_
#define EMPI_DATASETS_GENERATOR_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "datasets/generator/random.h"

namespace empi::generator_internal {

std::u32string DecodeUtf8(std::string_view s);
std::string EncodeUtf8(std::u32string_view s);

std::string ToUpperUtf8(std::string_view s);
std::string ToLowerUtf8(std::string_view s);

// Replaces each accented Latin letter by its plain ASCII base (ł -> l,
// ß -> ss, æ -> ae).
std::string FoldDiacritics(std::string_view s);
bool HasNonAscii(std::string_view s);

// One keyboard slip in `s`: insert or substitute a QWERTY-adjacent letter,
// delete a letter, or transpose two neighbours. Always returns a string
// different from `s` when `s` has at least two letters.
std::string MakeTypo(std::string_view s, Rng& rng);

}  // namespace empi::generator_internal

#endif  // EMPI_DATASETS_GENERATOR_TEXT_H_
