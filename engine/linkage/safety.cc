// Copyright EMPI developers.
#include "engine/linkage/safety.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "engine/linkage/comparisons.h"
#include "matchers/name_equivalence.h"

namespace empi {
namespace {

constexpr int kGivenSoundAlike = 6;     // Double Metaphone equal
constexpr int kGivenLooseSpelling = 8;  // Jaro-Winkler >= 0.80
// Levels that say "a similar spelling": Jaro-Winkler >= 0.92, Double
// Metaphone equal, Jaro-Winkler >= 0.80.
bool GivenSimilar(int gamma) {
  return gamma == kGivenClose || gamma == kGivenSoundAlike || gamma == kGivenLooseSpelling;
}
// Edits at which two names that sound alike are still two names (Alfie and
// Olivia sound alike to Double Metaphone). Names of similar spelling by
// Jaro-Winkler (Fiona and Fionnuala, Evan and Evander) are not held to be
// in conflict: many are one name's forms.
constexpr int kNamesApartEdits = 3;

bool NamesConflict(std::string_view x, std::string_view y) {
  const NameEquivalence& names = NameEquivalence::Default();
  return x.size() > 1 && y.size() > 1 && !names.Equivalent(x, y) && !names.MisspeltEquivalent(x, y) &&
         EditDistance(x, y, kNamesApartEdits) >= kNamesApartEdits;
}

bool GivenConflict(const PreparedRecord& a, const PreparedRecord& b, int gamma) {
  if (gamma == kGivenElse) return true;
  return gamma == kGivenSoundAlike && NamesConflict(a.given1, b.given1);
}

// Whether `name` is `r`'s third given name.
bool ThirdGivenName(const PreparedRecord& r, std::string_view name) {
  return r.given3 != 0 && r.given3 == GivenNameKey(name);
}

// Both records carry a middle name and the two are different names (a twin
// named Sara Eleanor beside Sarah Bethany), unless one record's is the
// other's third (Graham Peter beside Graham Michael Peter: a middle name
// dropped). Where one record's first name is the other's middle name, the
// names left over are compared instead: two names swapped (Mary Ruth, Ruth
// Mary) leave the same two; a sister's (Amelia Olivia beside Ava Amelia)
// leave two different names; a first name dropped (Kathleen Aine beside
// Bridget Kathleen Aine) leaves the other's third.
// Kaur, Singh, Begum and Khatun are written by some systems among the given
// names, by others as the family name: not a middle name to compare.
bool MiddleConflict(const PreparedRecord& a, const PreparedRecord& b, int gamma) {
  auto marker = [](std::string_view n) { return n == "kaur" || n == "singh" || n == "begum" || n == "khatun"; };
  if (a.given2.empty() || b.given2.empty() || GivenSpacedOtherwise(a, b)) return false;
  // `full`'s second name is `tail`'s first (or, unswapped, its second).
  const bool swapped = gamma == kGivenFirstMiddleSwapped;
  const bool a_full = !swapped || a.given2 == b.given1;
  const PreparedRecord& full = a_full ? a : b;
  const PreparedRecord& tail = a_full ? b : a;
  const std::string_view x = swapped ? full.given1 : full.given2;
  const std::string_view y = tail.given2;
  if (ThirdGivenName(full, y) || (!swapped && ThirdGivenName(tail, x))) return false;
  return !marker(x) && !marker(y) && NamesConflict(x, y);
}

// Sex level "different" (both known).
constexpr int kSexDifferent = 2;
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

bool DiffersOnlyByLifeEvents(uint32_t pattern) {
  const int nhs = GammaOf(pattern, comparison::kNhsNumber);
  const int given = GammaOf(pattern, comparison::kGivenNames);
  const int dob = GammaOf(pattern, comparison::kDateOfBirth);
  constexpr int kFamilyExact = 1;
  const bool given_kept =
      given == kNameExact || given == kGivenNickname || given == kGivenFirstMiddleSwapped || given == kGivenClose;
  // A date of birth missing on a side is kept when the family name agrees
  // (equal, one part of it, swapped with the given name, a close spelling,
  // or one that sounds alike: Porter and Pirter): then only the address
  // differs.
  const int family = GammaOf(pattern, comparison::kFamilyName);
  constexpr int kFamilySoundsAlike = 6;
  const bool family_kept = (family >= kFamilyExact && family <= kFamilyClose) || family == kFamilySoundsAlike;
  const bool dob_kept = dob == kDobExact || dob == kDobSwapped || dob == kDobSlip || (dob == kDobNull && family_kept);
  return (nhs == 0 || nhs == kNhsExact || nhs == kNhsNear) && given_kept && dob_kept &&
         GammaOf(pattern, comparison::kSex) != kSexDifferent;
}

bool NumberIsARelatives(const PreparedRecord& holder, const std::vector<const PreparedRecord*>& others) {
  auto relatives = [](const PreparedRecord& x, const PreparedRecord& y, uint32_t* pattern) {
    *pattern = ComparePair(x, y);
    return RelativesNumber(x, y, CheckPairSafety(x, y, *pattern));
  };
  std::vector<const PreparedRecord*> theirs;
  size_t mine = 1;
  for (const PreparedRecord* o : others) {
    uint32_t pattern = 0;
    if (relatives(holder, *o, &pattern)) {
      theirs.push_back(o);
    } else if (!NamesInWrongFields(pattern)) {
      ++mine;
    }
  }
  if (!NumberOutnumbered(mine, theirs.size(), 0)) return false;
  for (size_t i = 0; i < theirs.size(); ++i) {
    for (size_t j = i + 1; j < theirs.size(); ++j) {
      uint32_t pattern = 0;
      if (relatives(*theirs[i], *theirs[j], &pattern)) return false;
    }
  }
  return true;
}

bool NamesInWrongFields(uint32_t pattern) {
  const int family = GammaOf(pattern, comparison::kFamilyName);
  return family == kFamilySwapped || family == kFamilyIsOthersGiven ||
         GammaOf(pattern, comparison::kGivenNames) == kGivenSwapped;
}

bool RelativesNumber(const PreparedRecord& holder, const PreparedRecord& owner, const SafetyVerdict& verdict) {
  if (holder.nhs == 0 || holder.nhs != owner.nhs) return false;
  if (verdict.safety == PairSafety::kDistinct && verdict.reason == kGenerationApart) return true;
  if (verdict.reason != kGivenConflictOnNumber) return false;
  const bool sexes_differ = holder.sex != Sex::kUnknown && owner.sex != Sex::kUnknown && holder.sex != owner.sex;
  const bool years_apart = holder.dob != 0 && owner.dob != 0 && !EstimatedDate(holder.dob) &&
                           !EstimatedDate(owner.dob) && std::abs(holder.dob / 10000 - owner.dob / 10000) >= 2;
  return sexes_differ || years_apart;
}

SafetyVerdict CheckPairSafety(const PreparedRecord& a, const PreparedRecord& b, uint32_t pattern) {
  const int nhs = GammaOf(pattern, comparison::kNhsNumber);
  const bool nhs_exact = nhs == kNhsExact;
  // One keying slip from each other: a family's numbers are never that
  // close (consecutive numbers differ in their check digit too).
  const bool nhs_same_or_slip = nhs_exact || nhs == kNhsNear;
  const int given = GammaOf(pattern, comparison::kGivenNames);
  const int dob = GammaOf(pattern, comparison::kDateOfBirth);
  const bool names_misplaced = GammaOf(pattern, comparison::kFamilyName) == kFamilyIsOthersGiven;
  const bool sex_differs = GammaOf(pattern, comparison::kSex) == kSexDifferent;

  // Years between the dates of birth when they disagree beyond a keying
  // error; 0 otherwise.
  const int years_apart = dob == kDobElse ? std::abs(a.dob / 10000 - b.dob / 10000) : 0;

  // An identifier read raw, never checked as an NHS number (a
  // contributor's own identifier, FieldConventions), is not written on a
  // relative's record as a parent's NHS number is: one that agrees is
  // evidence like any other field, and the rules for a relative's number
  // below leave the pair to the weight.
  // A number that failed its check, one slip from the other's, is that
  // checked number mistyped (CompareNhs), and held to its rules.
  auto checked = [](const PreparedRecord& r) { return r.nhs_validated || r.nhs_mistyped != 0; };
  const bool unchecked_same = nhs_same_or_slip && !(checked(a) && checked(b));
  if (years_apart >= kGenerationYears && !unchecked_same) {
    if (!(nhs_exact && given != kGivenElse)) return {PairSafety::kDistinct, kGenerationApart};
    // One NHS number and given names that do not conflict: a date keyed a
    // generation out, or a parent's number on the record of a child named
    // after them (a junior). Only a steward can tell. An estimated date
    // (1 January of a guessed year) is a guess within a few years, not a
    // generation: it does not excuse the gap.
    return {PairSafety::kReview, kGenerationApartOnNumber};
  }
  // Numbers that differ and were never checked (a contributor's own
  // identifier read raw, FieldConventions) are weak evidence either way:
  // the weight decides, as it has learnt how often they are mistyped.
  const bool nhs_unchecked_differ = nhs == kNhsDifferent && !(a.nhs_validated && b.nhs_validated);
  const bool dob_years_apart = years_apart >= 2;
  if (dob_years_apart && !nhs_same_or_slip && !nhs_unchecked_differ && !EstimatedDate(a.dob) && !EstimatedDate(b.dob)) {
    return {PairSafety::kDistinct, kYearsApartNoNumber};
  }
  if (dob == kDobElse && !nhs_same_or_slip && !nhs_unchecked_differ && !EstimatedDate(a.dob) && !EstimatedDate(b.dob)) {
    return {PairSafety::kReview, kDobDifferNoNumber};
  }
  const bool given_conflict = !names_misplaced && GivenConflict(a, b, given);
  const bool middle_conflict = !names_misplaced && MiddleConflict(a, b, given);
  if (given_conflict || middle_conflict) {
    // The number and a date of birth that agree, but for a keying error,
    // identify the person whatever the given name says; a family's other
    // members are born on other days (twins aside, whose dates of birth
    // agree but whose numbers do not). Unless the sexes differ too, or the
    // dates differ beyond a keying error: two fields keyed wrongly at once
    // are far rarer than a relative's number on the record. (An estimated
    // date within a year of the other compares as missing: it confirms
    // nothing.)
    const bool dob_agrees = dob == kDobExact || dob == kDobSwapped || dob == kDobSlip;
    if (nhs_same_or_slip && dob_agrees && !sex_differs) {
      return {PairSafety::kSafe, {}, /*names_overridden=*/true};
    }
    if (unchecked_same) return {};
    if (nhs_same_or_slip) {
      return {PairSafety::kReview, given_conflict ? kGivenConflictOnNumber : kMiddleConflictOnNumber};
    }
    if (nhs_unchecked_differ) return {};
    return {PairSafety::kDistinct, given_conflict ? kGivenConflict : kMiddleConflict};
  }
  // Given names only alike in spelling (Ming and Jing), sexes that differ and
  // no date of birth to confirm the number (missing, or another date): a
  // spouse's or a sibling's number on the record rather than a name, a sex
  // and perhaps a date all keyed wrongly. The same date of birth confirms
  // nothing for names two or more edits apart (Hassan and Hasna, Oliver and
  // Olivia): a twin of the other sex carries it too; only a single keying
  // slip with the sex keyed wrongly (Pioyr for Piotr) is one person.
  const bool twin_of_other_sex = dob == kDobExact && EditDistance(a.given1, b.given1, 2) >= 2;
  if (nhs_same_or_slip && !unchecked_same && sex_differs && GivenSimilar(given) && !GivenSpacedOtherwise(a, b) &&
      (dob == 0 || dob == kDobElse || twin_of_other_sex)) {
    return {PairSafety::kReview, kGivenConflictOnNumber};
  }
  // Twins: given names of similar spelling two edits apart (Jack, Jake),
  // including a slip on a nickname (Lkuis for Louis, twin of Lewis); or, of
  // another sex, any two (Christian and Christina, Jesse and Jessie, Mark
  // and Mary): a name and a sex both keyed wrongly are rarer than that.
  if (dob == kDobExact && GivenSimilar(given) && !nhs_same_or_slip && !nhs_unchecked_differ &&
      (sex_differs || (EditDistance(a.given1, b.given1, 2) >= 2 && !GivenSpacedOtherwise(a, b)))) {
    return {PairSafety::kReview, kTwinsNames};
  }
  return {};
}

}  // namespace empi
