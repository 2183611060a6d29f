// Copyright EMPI developers.
//
// comparisons.h: the Fellegi-Sunter comparison vector of a record pair.
//
// Each Comparison (in Splink's words) is an ordered list of
// ComparisonLevels; a pair takes the first level whose condition holds, and
// that level's index is the comparison's gamma value (`gamma_<field>`).
// Level 0 is always the null level: the field is missing on either side and
// contributes no evidence. The last level is "else" (all other values).
//
// A pair's gammas are packed 4 bits per comparison into one uint32 (the
// "pattern"), so EM can work on a histogram of patterns and scoring is a
// table lookup plus term-frequency adjustments.
//
//   uint32_t pattern = ComparePair(a, b);
//   int gamma_dob = GammaOf(pattern, comparison::kDateOfBirth);
//
// Thread-safety: pure functions over immutable tables.
#ifndef EMPI_LINKAGE_COMPARISONS_H_
#define EMPI_LINKAGE_COMPARISONS_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/linkage/prepared_record.h"

namespace empi {

// The comparisons by index: into Comparisons(), the model's per-comparison
// arrays, and the 4-bit gamma fields of a pattern (GammaOf). Constants in a
// namespace of their own rather than an enum class, because every use is an
// index or a loop bound. Order is part of the stored model format: append
// only.
namespace comparison {
inline constexpr int kNhsNumber = 0;
inline constexpr int kFamilyName = 1;
inline constexpr int kGivenNames = 2;
inline constexpr int kDateOfBirth = 3;
// Postcode and address together: they are strongly correlated (the same
// address almost always has the same postcode), so as two comparisons
// their weights would count one household twice. Address alone decides
// where there is no postcode (FEBRL-style data, missing postcodes).
inline constexpr int kPostcode = 4;
inline constexpr int kSex = 5;
}  // namespace comparison
inline constexpr int kNumComparisons = 6;

struct ComparisonLevel {
  std::string_view label;  // "exact", "jaro_winkler >= 0.92", ...
  bool is_null = false;
  bool term_frequency_adjustment = false;
  // > 0: a marginal level, taken when part of the evidence is missing. Its m
  // and u are not trained but are the sums of those of levels 1 to
  // marginal_of (the levels it cannot tell apart), which is how
  // Fellegi-Sunter treats an unobserved sub-field. Marginal levels come
  // after every trained level of their comparison.
  int marginal_of = 0;
};

struct Comparison {
  std::string_view name;  // "nhs_number", "family_name", ...
  std::vector<ComparisonLevel> levels;
};

const std::array<Comparison, kNumComparisons>& Comparisons();

// Whether a comparison's level tells where a patient lives (postcode and
// address): withheld from every output about a restricted patient.
inline bool RevealsLocation(int c) { return c == comparison::kPostcode; }

// What outputs show for a withheld level.
inline constexpr std::string_view kWithheld = "withheld";

inline int GammaOf(uint32_t pattern, int comparison) { return static_cast<int>((pattern >> (4 * comparison)) & 0xF); }
inline uint32_t WithGamma(uint32_t pattern, int comparison, int gamma) {
  return (pattern & ~(0xFu << (4 * comparison))) | (static_cast<uint32_t>(gamma) << (4 * comparison));
}

// The packed gammas of (a, b). Symmetric: ComparePair(a, b) == ComparePair(b, a).
uint32_t ComparePair(const PreparedRecord& a, const PreparedRecord& b);

// Per-comparison level helpers, exposed for tests and explanations.
int CompareNhs(const PreparedRecord& a, const PreparedRecord& b);
int CompareFamily(const PreparedRecord& a, const PreparedRecord& b);
int CompareGiven(const PreparedRecord& a, const PreparedRecord& b);
// The same first two given names with the space between them lost or moved
// ("Anthonyemeka", or "Raymon Dlawrence" beside Raymond Lawrence): a
// keying slip, scored as a close spelling ("jaro_winkler >= 0.92"), and
// never a middle-name conflict or twins' names (safety.h).
bool GivenSpacedOtherwise(const PreparedRecord& a, const PreparedRecord& b);
// A nickname, or a first name that is the other's middle name, with one
// keying slip on top ("Haroold" and "Harry" by Harold; "Dabid" and "Dylan
// David"): two common errors in one field. Scored "jaro_winkler >= 0.80",
// weaker evidence than either error alone (a record of twins Mary and Marie
// mistyped "Mrie" stays closer to Marie), and never a conflict; still a
// twins' pair on one date of birth (safety.h) unless the person's other
// records explain it (ConflictExplainedByGroup, clustering.h).
bool GivenMisspeltForm(const PreparedRecord& a, const PreparedRecord& b);
int CompareDob(int32_t a, int32_t b);
// The records' dates of birth. A date that names no day (dob_impossible)
// is one slip or a day-and-month swap from the other's date, or missing:
// "1971-13-19" beside 1971-12-19 is a slip; beside 1950-02-02 it is no
// evidence either way (the true date is unknown). The same impossible date
// on both is a slip, not an exact date.
int CompareDates(const PreparedRecord& a, const PreparedRecord& b);
// 1 January and 1 July are how an unknown date of birth is estimated (an
// age guessed by an ambulance crew or a social worker).
inline bool EstimatedDate(int32_t yyyymmdd) {
  const int md = yyyymmdd % 10000;
  return md == 101 || md == 701;
}
int CompareSex(Sex a, Sex b);
// Postcode refined by the address: "same address" down to "postcode area".
int ComparePostcode(const PreparedRecord& a, const PreparedRecord& b);
// "address similar": Jaro-Winkler >= 0.90 (the same text with a few typing
// errors) or bigram Dice >= 0.80 (the same words with lines in another
// order, or spaces dropped or added; see matchers/bigram_dice.h).
bool AddressSimilar(std::string_view a, std::string_view b);

// Level indices referred to by name elsewhere (clustering rules, tests).
inline constexpr int kNhsExact = 1, kNhsNear = 2, kNhsDifferent = 3;
inline constexpr int kDobNull = 0, kDobExact = 1, kDobSwapped = 2, kDobSlip = 3, kDobElse = 5;
inline constexpr int kNameExact = 1;
inline constexpr int kFamilySwapped = 3, kFamilyClose = 4;
// Postcode units equal, an address missing on one side or both (objection
// forms and searches never carry one): "same address", "unit, address
// similar" and "unit, address different" cannot be told apart.
inline constexpr int kPostcodeUnitAddressUnknown = 10;
inline constexpr int kGivenNickname = 2, kGivenSwapped = 3, kGivenFirstMiddleSwapped = 4, kGivenClose = 5;
inline constexpr int kGivenElse = 9;

}  // namespace empi

#endif  // EMPI_LINKAGE_COMPARISONS_H_
