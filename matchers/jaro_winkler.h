// Copyright EMPI developers.
//
// jaro_winkler.h: Jaro and Jaro-Winkler similarity of byte strings.
//
// Winkler (1990), "String Comparator Metrics and Enhanced Decision Rules in
// the Fellegi-Sunter Model of Record Linkage": Jaro similarity, plus a bonus
// of prefix_weight per common leading character (at most four). Inputs are
// the ASCII output of NormalizeName, so bytes are characters.
//
// Two forms, as in rapidfuzz: a plain function, and CachedJaroWinkler, which
// preprocesses the probe once (a bit-parallel pattern table) and then scores
// many candidates. Both return exactly the same value as the naive reference
// in tests/matchers/jaro_winkler_reference.h.
//
//   empi::CachedJaroWinkler probe("catherine");
//   double s = probe.Similarity("kathryn");
//
// Thread-safety: pure functions; a CachedJaroWinkler is immutable after
// construction and may be shared between threads.
#ifndef EMPI_MATCHERS_JARO_WINKLER_H_
#define EMPI_MATCHERS_JARO_WINKLER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace empi {

double Jaro(std::string_view a, std::string_view b);
double JaroWinkler(std::string_view a, std::string_view b, double prefix_weight = 0.1);

class CachedJaroWinkler {
 public:
  explicit CachedJaroWinkler(std::string_view probe, double prefix_weight = 0.1);
  // Similarity of the probe and `candidate`; returns 0 as soon as the result
  // is known to be below `score_cutoff`.
  double Similarity(std::string_view candidate, double score_cutoff = 0.0) const;

 private:
  std::string probe_;
  double prefix_weight_;
  uint64_t pattern_[256];  // bit i set where probe_[i] == byte (probe <= 64)
};

}  // namespace empi

#endif  // EMPI_MATCHERS_JARO_WINKLER_H_
