// Copyright EMPI developers.
//
// Definitions fixed here, and mirrored exactly by the naive reference in
// tests/matchers/jaro_winkler_reference.h:
//   * Match window: max(|a|, |b|) / 2 - 1 (never below 0).
//   * Matching is greedy: each character of the second string, left to
//     right, takes the leftmost unmatched equal character of the first string
//     inside the window. (For equal-width windows this yields the same
//     matched positions as iterating over the first string.)
//   * Transpositions: matched characters compared in order; t is half the
//     number of mismatches, rounded down (integer division), as in Winkler's
//     strcmp95.c.
//   * Jaro = (m/|a| + m/|b| + (m - t)/m) / 3, evaluated in that order; 0 when
//     m == 0; 1 when both strings are empty; 0 when exactly one is.
//   * Winkler boost: Jaro + l * p * (1 - Jaro), l = common prefix length
//     capped at 4, applied only when Jaro > 0.7 (Winkler's original
//     "boost threshold"), so that unrelated names sharing an initial are not
//     lifted.
#include "matchers/jaro_winkler.h"

#include <algorithm>
#include <bit>
#include <vector>

namespace empi {
namespace {

constexpr double kBoostThreshold = 0.7;
constexpr size_t kMaxPrefix = 4;

inline size_t MatchWindow(size_t len_a, size_t len_b) {
  size_t longest = std::max(len_a, len_b);
  return longest / 2 > 0 ? longest / 2 - 1 : 0;
}

inline double JaroFromCounts(size_t len_a, size_t len_b, size_t matches, size_t transpositions) {
  if (matches == 0) return 0.0;
  double m = static_cast<double>(matches);
  return (m / static_cast<double>(len_a) + m / static_cast<double>(len_b) +
          (m - static_cast<double>(transpositions)) / m) /
         3.0;
}

inline size_t CommonPrefix(std::string_view a, std::string_view b) {
  size_t limit = std::min({a.size(), b.size(), kMaxPrefix});
  size_t l = 0;
  while (l < limit && a[l] == b[l]) ++l;
  return l;
}

inline double WinklerBoost(double jaro, size_t prefix, double prefix_weight) {
  if (jaro <= kBoostThreshold) return jaro;
  return jaro + static_cast<double>(prefix) * prefix_weight * (1.0 - jaro);
}

// Jaro from the matched positions of each string (bit i set: character i
// matched). The k-th matched character of a pairs with the k-th of b; each
// pair that differs is half a transposition.
double JaroFromFlags(std::string_view a, std::string_view b, uint64_t a_flags, uint64_t b_flags) {
  size_t matches = static_cast<size_t>(std::popcount(b_flags));
  if (matches == 0) return 0.0;
  size_t mismatches = 0;
  while (b_flags != 0) {
    int j = std::countr_zero(b_flags);
    int i = std::countr_zero(a_flags);
    mismatches += a[i] != b[j];
    b_flags &= b_flags - 1;
    a_flags &= a_flags - 1;
  }
  return JaroFromCounts(a.size(), b.size(), matches, mismatches / 2);
}

// Bit-parallel Jaro for |a| <= 64 and |b| <= 64: bit i of pattern[c] is set
// where a[i] == c.
double BitParallelJaro(const uint64_t* pattern, std::string_view a, std::string_view b) {
  const size_t len_a = a.size(), len_b = b.size();
  const size_t window = MatchWindow(len_a, len_b);
  uint64_t a_flags = 0, b_flags = 0;
  for (size_t j = 0; j < len_b; ++j) {
    size_t lo = j > window ? j - window : 0;
    size_t hi = std::min(j + window, len_a - 1);
    if (lo > hi) break;  // windows only move right: nothing further matches
    size_t width = hi - lo + 1;
    uint64_t bound = (width >= 64 ? ~uint64_t{0} : ((uint64_t{1} << width) - 1)) << lo;
    uint64_t candidates = pattern[static_cast<unsigned char>(b[j])] & bound & ~a_flags;
    if (candidates != 0) {
      a_flags |= candidates & (~candidates + 1);
      b_flags |= uint64_t{1} << j;
    }
  }
  return JaroFromFlags(a, b, a_flags, b_flags);
}

// Any length: flag arrays.
double GeneralJaro(std::string_view a, std::string_view b) {
  const size_t len_a = a.size(), len_b = b.size();
  const size_t window = MatchWindow(len_a, len_b);
  std::vector<char> a_flags(len_a, 0), b_flags(len_b, 0);
  size_t matches = 0;
  for (size_t j = 0; j < len_b; ++j) {
    size_t lo = j > window ? j - window : 0;
    size_t hi = std::min(j + window + 1, len_a);
    for (size_t i = lo; i < hi; ++i) {
      if (!a_flags[i] && a[i] == b[j]) {
        a_flags[i] = b_flags[j] = 1;
        ++matches;
        break;
      }
    }
  }
  if (matches == 0) return 0.0;
  size_t mismatches = 0;
  size_t i = 0;
  for (size_t j = 0; j < len_b; ++j) {
    if (!b_flags[j]) continue;
    while (!a_flags[i]) ++i;
    mismatches += a[i] != b[j];
    ++i;
  }
  return JaroFromCounts(len_a, len_b, matches, mismatches / 2);
}

// Short strings without a pattern table: the same greedy matching as
// BitParallelJaro, with the pattern bits computed by scanning the window.
double SmallJaro(std::string_view a, std::string_view b) {
  const size_t len_a = a.size(), len_b = b.size();
  const size_t window = MatchWindow(len_a, len_b);
  uint64_t a_flags = 0, b_flags = 0;
  for (size_t j = 0; j < len_b; ++j) {
    size_t lo = j > window ? j - window : 0;
    size_t hi = std::min(j + window + 1, len_a);
    const char c = b[j];
    for (size_t i = lo; i < hi; ++i) {
      if (a[i] == c && !(a_flags >> i & 1)) {
        a_flags |= uint64_t{1} << i;
        b_flags |= uint64_t{1} << j;
        break;
      }
    }
  }
  return JaroFromFlags(a, b, a_flags, b_flags);
}

}  // namespace

double Jaro(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty() ? 1.0 : 0.0;
  if (a.size() <= 64 && b.size() <= 64) return SmallJaro(a, b);
  return GeneralJaro(a, b);
}

double JaroWinkler(std::string_view a, std::string_view b, double prefix_weight) {
  return WinklerBoost(Jaro(a, b), CommonPrefix(a, b), prefix_weight);
}

CachedJaroWinkler::CachedJaroWinkler(std::string_view probe, double prefix_weight)
    : probe_(probe), prefix_weight_(prefix_weight), pattern_{} {
  if (probe_.size() <= 64) {
    for (size_t i = 0; i < probe_.size(); ++i) {
      pattern_[static_cast<unsigned char>(probe_[i])] |= uint64_t{1} << i;
    }
  }
}

double CachedJaroWinkler::Similarity(std::string_view candidate, double score_cutoff) const {
  const std::string_view probe(probe_);
  if (probe.empty() || candidate.empty() || probe.size() > 64 || candidate.size() > 64) {
    double s = JaroWinkler(probe, candidate, prefix_weight_);
    return s >= score_cutoff ? s : 0.0;
  }
  const size_t prefix = CommonPrefix(probe, candidate);
  if (score_cutoff > 0.0) {
    // Upper bound: every character of the shorter string matched, no
    // transpositions, boost applied. The slack keeps rounding in the bound's
    // arithmetic from ever rejecting a score at or above the cutoff.
    size_t best = std::min(probe.size(), candidate.size());
    double jaro_bound = JaroFromCounts(probe.size(), candidate.size(), best, 0);
    double bound = jaro_bound + static_cast<double>(prefix) * prefix_weight_ * (1.0 - jaro_bound);
    if (bound + 1e-9 < score_cutoff) return 0.0;
  }
  double s = WinklerBoost(BitParallelJaro(pattern_, probe, candidate), prefix, prefix_weight_);
  return s >= score_cutoff ? s : 0.0;
}

}  // namespace empi
