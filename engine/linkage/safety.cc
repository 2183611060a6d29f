// Copyright EMPI developers.
#include "engine/linkage/safety.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "engine/linkage/comparisons.h"

namespace empi {
namespace {

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
  const int nhs = GammaOf(pattern, kNhsNumber);
  const bool nhs_exact = nhs == kNhsExact;
  // One keying slip from each other: a family's numbers are never that
  // close (consecutive numbers differ in their check digit too).
  const bool nhs_same_or_slip = nhs_exact || nhs == kNhsNear;
  const int given = GammaOf(pattern, kGivenNames);
  const int dob = GammaOf(pattern, kDateOfBirth);
  const bool names_misplaced = GammaOf(pattern, kFamilyName) == kFamilyIsOthersGiven;

  if (dob == kDobElse && std::abs(a.dob / 10000 - b.dob / 10000) >= kGenerationYears &&
      !(nhs_exact && given != kGivenElse)) {
    return {PairSafety::kDistinct, "dates of birth a generation apart"};
  }
  // Numbers that differ and were never checked (a contributor's own
  // identifier read raw, FieldConventions) are weak evidence either way:
  // the weight decides, as it has learnt how often they are mistyped.
  const bool nhs_unchecked_differ = nhs == kNhsDifferent && !(a.nhs_validated && b.nhs_validated);
  if (given == kGivenElse && !names_misplaced) {
    // The number and a date of birth no more than a year out identify the
    // person whatever the given name says; a family's other members are
    // born years apart (twins aside, whose dates of birth agree but whose
    // numbers do not).
    const bool years_apart = dob == 0 || (dob == kDobElse && std::abs(a.dob / 10000 - b.dob / 10000) >= 2);
    if (nhs_same_or_slip && !years_apart) return {};
    if (nhs_same_or_slip) return {PairSafety::kReview, "given names conflict on a shared NHS number"};
    if (nhs_unchecked_differ) return {};
    return {PairSafety::kDistinct, "given names conflict"};
  }
  if (dob == kDobExact && GivenSimilar(given) && !nhs_same_or_slip && !nhs_unchecked_differ &&
      EditDistance(a.given1, b.given1, 2) >= 2) {
    return {PairSafety::kReview, "given names differ on a shared date of birth (twins?)"};
  }
  return {};
}

}  // namespace empi
