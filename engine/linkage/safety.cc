// Copyright EMPI developers.
#include "engine/linkage/safety.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "engine/linkage/comparisons.h"

namespace empi {
namespace {

// Given-name levels of comparisons.cc that say "the same name": exact,
// nickname, swapped with the family name, first and middle swapped, an
// initial.
bool GivenSameName(int gamma) { return gamma >= 1 && gamma <= 4 || gamma == 7; }
// Levels that say "a similar spelling": Jaro-Winkler >= 0.92, Double
// Metaphone equal, Jaro-Winkler >= 0.80.
bool GivenSimilar(int gamma) { return gamma == 5 || gamma == 6 || gamma == 8; }
constexpr int kGivenElse = 9;
constexpr int kDobExact = 1, kDobElse = 5;
// Family level "family name is the other's given name": the names were
// entered in the wrong fields, so the given names say nothing.
constexpr int kFamilyIsOthersGiven = 5;

}  // namespace

int EditDistance(std::string_view a, std::string_view b, int cap) {
  const size_t n = a.size(), m = b.size();
  if (static_cast<int>(n > m ? n - m : m - n) >= cap) return cap;
  // Three rows of the optimal string alignment table.
  std::vector<int> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = static_cast<int>(i);
    int row_min = cur[0];
    for (size_t j = 1; j <= m; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min >= cap) return cap;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], cap);
}

SafetyVerdict CheckPairSafety(const PreparedRecord& a, const PreparedRecord& b, uint32_t pattern) {
  const bool nhs_exact = GammaOf(pattern, kNhsNumber) == kNhsExact;
  const int given = GammaOf(pattern, kGivenNames);
  const int dob = GammaOf(pattern, kDateOfBirth);
  const bool names_misplaced = GammaOf(pattern, kFamilyName) == kFamilyIsOthersGiven;

  if (dob == kDobElse && std::abs(a.dob / 10000 - b.dob / 10000) >= kGenerationYears) {
    if (nhs_exact && GivenSameName(given)) {
      return {PairSafety::kReview, "dates of birth a generation apart on a shared NHS number"};
    }
    return {PairSafety::kDistinct, "dates of birth a generation apart"};
  }
  if (given == kGivenElse && !names_misplaced) {
    if (nhs_exact) return {PairSafety::kReview, "given names conflict on a shared NHS number"};
    return {PairSafety::kDistinct, "given names conflict"};
  }
  if (dob == kDobExact && GivenSimilar(given) && !nhs_exact && EditDistance(a.given1, b.given1, 2) >= 2) {
    return {PairSafety::kReview, "given names differ on a shared date of birth (twins?)"};
  }
  return {};
}

}  // namespace empi
