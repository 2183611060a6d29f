// Copyright EMPI developers.
//
// phonetic.h: phonetic keys for lower-case ASCII names.
//
// Double Metaphone (Lawrence Philips, C/C++ Users Journal, June 2000):
// a primary and an alternate code, four characters each. NYSIIS (Taft 1970,
// with the original six-character truncation off: the full key is kept).
// Soundex (Russell/Odell, the US Census "American" variant).
//
//   empi::DoubleMetaphoneKeys k = empi::DoubleMetaphone("schmidt");
//   // k.primary == "XMT", k.alternate == "SMT"
//
// Thread-safety: pure functions.
#ifndef EMPI_MATCHERS_PHONETIC_H_
#define EMPI_MATCHERS_PHONETIC_H_

#include <string>
#include <string_view>

namespace empi {

struct DoubleMetaphoneKeys {
  std::string primary;
  std::string alternate;  // equal to primary when the name has no alternate
};

DoubleMetaphoneKeys DoubleMetaphone(std::string_view name, size_t max_length = 4);
std::string Nysiis(std::string_view name);
std::string Soundex(std::string_view name);

}  // namespace empi

#endif  // EMPI_MATCHERS_PHONETIC_H_
