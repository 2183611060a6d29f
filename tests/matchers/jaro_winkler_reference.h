// Copyright EMPI developers.
//
// jaro_winkler_reference.h: a deliberately naive Jaro-Winkler, written
// straight from the textbook definition for clarity rather than speed. The
// fast implementations in matchers/jaro_winkler.cc must agree with it
// exactly. Conventions (documented in jaro_winkler.cc): window
// max(|a|,|b|)/2 - 1; the FIRST string is scanned left to right (the fast
// code scans the second: the test proves the matched positions coincide);
// t = mismatches / 2 with integer division; Winkler boost l * p * (1 - jaro),
// l <= 4, only when jaro > 0.7; both empty -> 1, one empty -> 0.
#ifndef EMPI_TESTS_MATCHERS_JARO_WINKLER_REFERENCE_H_
#define EMPI_TESTS_MATCHERS_JARO_WINKLER_REFERENCE_H_

#include <string>
#include <vector>

namespace empi::reference {

inline double Jaro(const std::string& a, const std::string& b) {
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  int la = static_cast<int>(a.size()), lb = static_cast<int>(b.size());
  int window = std::max(la, lb) / 2 - 1;
  if (window < 0) window = 0;
  std::vector<bool> a_matched(la, false), b_matched(lb, false);
  int matches = 0;
  for (int i = 0; i < la; ++i) {
    for (int j = std::max(0, i - window); j <= std::min(lb - 1, i + window); ++j) {
      if (!b_matched[j] && a[i] == b[j]) {
        a_matched[i] = true;
        b_matched[j] = true;
        ++matches;
        break;
      }
    }
  }
  if (matches == 0) return 0.0;
  std::string a_seq, b_seq;
  for (int i = 0; i < la; ++i) {
    if (a_matched[i]) a_seq += a[i];
  }
  for (int j = 0; j < lb; ++j) {
    if (b_matched[j]) b_seq += b[j];
  }
  int mismatches = 0;
  for (size_t k = 0; k < a_seq.size(); ++k) {
    if (a_seq[k] != b_seq[k]) ++mismatches;
  }
  int t = mismatches / 2;
  double m = matches;
  return (m / la + m / lb + (m - t) / m) / 3.0;
}

inline double JaroWinkler(const std::string& a, const std::string& b, double prefix_weight = 0.1) {
  double jaro = Jaro(a, b);
  if (jaro <= 0.7) return jaro;
  int prefix = 0;
  while (prefix < 4 && prefix < static_cast<int>(a.size()) && prefix < static_cast<int>(b.size()) &&
         a[prefix] == b[prefix]) {
    ++prefix;
  }
  return jaro + prefix * prefix_weight * (1.0 - jaro);
}

}  // namespace empi::reference

#endif  // EMPI_TESTS_MATCHERS_JARO_WINKLER_REFERENCE_H_
