// Copyright EMPI developers.
//
// name_normalizer.h: personal names to comparable ASCII tokens.
//
// Unicode NFKC, case folding and transliteration to ASCII with ICU
// ("Łukasz" -> "lukasz", "Siân" -> "sian", "Zoë" -> "zoe"); apostrophes
// dropped inside a word ("O'Brien" -> "obrien"); other punctuation and
// hyphens split tokens ("Smith-Jones" -> {"smith", "jones"}); titles and
// suffixes removed (mr, mrs, miss, ms, dr, prof, rev, sir, jr, snr, ...).
// Pure-ASCII input takes a fast path that never enters ICU.
//
//   empi::NormalizedName n = empi::NormalizeName("Mrs Siân O'Brien-Jones");
//   // n.tokens == {"sian", "obrien", "jones"}
//
// Thread-safety: thread-safe (ICU transliterators are kept per thread).
#ifndef EMPI_MATCHERS_NAME_NORMALIZER_H_
#define EMPI_MATCHERS_NAME_NORMALIZER_H_

#include <string>
#include <string_view>
#include <vector>

namespace empi {

struct NormalizedName {
  std::vector<std::string> tokens;  // lower-case ASCII letters only
  // Tokens joined without separator ("obrienjones"): compares a
  // double-barrelled name with the same name written as one word.
  std::string joined;
  bool empty() const { return tokens.empty(); }
};

// Returns no tokens for empty input, input with no letters, or a
// placeholder (see IsPlaceholderName).
NormalizedName NormalizeName(std::string_view utf8);

// Unicode text to lower-case ASCII, keeping spaces and punctuation;
// used for addresses and free text.
std::string FoldToAscii(std::string_view utf8);

// True for normalised tokens that stand for "no name": unknown, unk, nk,
// notknown, xxx, baby, infant, test, patient, nfa, ...
bool IsPlaceholderName(std::string_view joined);

}  // namespace empi

#endif  // EMPI_MATCHERS_NAME_NORMALIZER_H_
