// Copyright EMPI developers.
#include "engine/linkage/comparisons.h"

#include <cstdlib>
#include <string>
#include <string_view>

#include "matchers/bigram_dice.h"
#include "matchers/jaro_winkler.h"
#include "matchers/name_equivalence.h"

namespace empi {
namespace {

// `x`'s family field holds (nearly) `other`'s given names: its first given
// name, or its given names written in it whole ("slack smith" for
// "slacksmith"; "Elsie Barbara Betty", whose parts start with the first
// two), or, for a family field of several parts, a first part that is
// nearly the first given name (the given names moved whole, one mistyped:
// "Barbraa Elsie" for "Barbara Elsie").
bool FamilyIsGivenOf(const PreparedRecord& x, const PreparedRecord& other) {
  const std::string& family = x.family;
  const std::string& g1 = other.given1;
  const std::string& g2 = other.given2;
  if (family == g1) return true;
  if (!g2.empty() && family.size() >= g1.size() + g2.size() && family.compare(0, g1.size(), g1) == 0 &&
      family.compare(g1.size(), g2.size(), g2) == 0) {
    return true;
  }
  if (x.family_first.size() < family.size() && JaroWinkler(x.family_first, g1) >= 0.92) return true;
  return JaroWinkler(family, g1) >= 0.92;
}

// Neither record has the same word in both name fields: such a record
// carries no evidence of which field a name was entered in. Checked on both
// sides so that the levels using it are symmetric in (a, b).
bool NameFieldsDistinct(const PreparedRecord& a, const PreparedRecord& b) {
  return !a.family.empty() && !a.given1.empty() && !b.family.empty() && !b.given1.empty() && a.family != a.given1 &&
         b.family != b.given1;
}

// FamilyIsGivenOf, or the first part of x's family field is other's first
// given name as a nickname or with one keying slip ("Alex" for Alexander,
// "Liss" for Lisa). Said only of the second half of a swap whose first half
// FamilyIsGivenOf is sure of. Given names moved in another order are not:
// twins Fatima Maryam and Samina Fatima share a name.
bool FamilyNearlyGivenOf(const PreparedRecord& x, const PreparedRecord& other) {
  if (FamilyIsGivenOf(x, other)) return true;
  const NameEquivalence& names = NameEquivalence::Default();
  const std::string& g1 = other.given1;
  return (x.family_first.size() > 1 && g1.size() > 1 && names.Equivalent(x.family_first, g1)) ||
         names.Misspelt(x.family_first, g1);
}

// Names were swapped between the given and family fields on one side
// (allowing a typing error in each, as swaps come from hurried entry, and a
// nickname in the field the given name went to).
bool NamesSwapped(const PreparedRecord& a, const PreparedRecord& b) {
  if (!NameFieldsDistinct(a, b)) return false;
  return FamilyIsGivenOf(a, b) ? FamilyNearlyGivenOf(b, a) : FamilyIsGivenOf(b, a) && FamilyNearlyGivenOf(a, b);
}

// One record's family name was entered as the other's given name, and the
// other name does not agree (replaced, too misspelt, or missing): a half
// swap. Only the two names involved need be present.
bool FamilyInOtherField(const PreparedRecord& a, const PreparedRecord& b) {
  auto moved = [](const PreparedRecord& x, const PreparedRecord& y) {
    return !x.family.empty() && !y.given1.empty() && x.family != x.given1 && y.family != y.given1 &&
           FamilyIsGivenOf(x, y);
  };
  return moved(a, b) || moved(b, a);
}

bool PhoneticEqual(uint32_t a, uint32_t a_alt, uint32_t b, uint32_t b_alt) {
  return a != 0 && b != 0 && (a == b || a == b_alt || a_alt == b || (a_alt == b_alt && a_alt != 0));
}

// Ten digits differing in one place, or in two adjacent places swapped.
bool NearDigits(uint64_t a, uint64_t b) {
  int diffs = 0, first = -1;
  int da[20], db[20];
  for (int i = 0; i < 20; ++i) {
    da[i] = static_cast<int>(a % 10);
    db[i] = static_cast<int>(b % 10);
    a /= 10;
    b /= 10;
  }
  for (int i = 0; i < 20; ++i) {
    if (da[i] != db[i]) {
      if (diffs == 0) first = i;
      ++diffs;
    }
  }
  if (diffs == 1) return true;
  return diffs == 2 && first + 1 < 20 && da[first] == db[first + 1] && da[first + 1] == db[first];
}

// Same length, one character different or two adjacent characters
// transposed: the commonest keying errors in a code such as a postcode.
bool NearText(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a == b) return false;
  size_t first = a.size(), diffs = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      if (diffs++ == 0) first = i;
      if (diffs > 2) return false;
    }
  }
  if (diffs == 1) return true;
  return first + 1 < a.size() && a[first] == b[first + 1] && a[first + 1] == b[first];
}

}  // namespace

bool AddressSimilar(std::string_view a, std::string_view b) {
  return JaroWinkler(a, b) >= 0.90 || BigramDice(a, b) >= 0.80;
}

const std::array<Comparison, kNumComparisons>& Comparisons() {
  static const std::array<Comparison, kNumComparisons> kComparisons = {{
      {"nhs_number", {{"null", true}, {"exact"}, {"one digit different or adjacent digits transposed"}, {"different"}}},
      {"family_name",
       {{"null", true},
        {"exact", false, true},
        {"one part of a multi-part name equal"},
        {"given and family names swapped"},
        {"jaro_winkler >= 0.92"},
        {"family name is the other's given name"},
        {"double metaphone equal"},
        {"jaro_winkler >= 0.80"},
        {"else"}}},
      {"given_names",
       {{"null", true},
        {"first given name exact", false, true},
        {"equivalent by nickname table"},
        {"given and family names swapped"},
        {"first and middle names swapped"},
        {"jaro_winkler >= 0.92"},
        {"double metaphone equal"},
        {"initial only"},
        {"jaro_winkler >= 0.80"},
        {"else"}}},
      {"date_of_birth",
       {{"null", true},
        {"exact"},
        {"day and month swapped"},
        {"one digit different or adjacent digits transposed"},
        {"year one apart"},
        {"else"}}},
      {"postcode",
       {{"null", true},
        {"same address"},
        {"postcode unit, address similar"},
        {"postcode unit"},
        {"address similar, postcode district equal, missing or one character different"},
        {"postcode one character different or adjacent characters transposed"},
        {"postcode sector"},
        {"postcode district"},
        {"postcode area"},
        {"else"},
        {"postcode unit, address unknown", false, false, /*marginal_of=*/3}}},
      {"sex", {{"null", true}, {"equal"}, {"different"}}},
  }};
  return kComparisons;
}

// a's number failed its check and is one keying slip from b's: b's number
// mistyped.
bool MistypedNumberOf(const PreparedRecord& a, const PreparedRecord& b) {
  return a.nhs_mistyped != 0 && b.nhs != 0 && NearDigits(a.nhs_mistyped, b.nhs);
}

int CompareNhs(const PreparedRecord& a, const PreparedRecord& b) {
  if (a.nhs_relatives || b.nhs_relatives) return 0;
  if (MistypedNumberOf(a, b) || MistypedNumberOf(b, a)) return kNhsNear;
  if (a.nhs == 0 || b.nhs == 0) return 0;
  if (a.nhs == b.nhs) return kNhsExact;
  if (NearDigits(a.nhs, b.nhs)) return kNhsNear;
  return kNhsDifferent;
}

int CompareFamily(const PreparedRecord& a, const PreparedRecord& b) {
  if (a.family.empty() || b.family.empty()) return 0;
  if (a.family == b.family) return 1;
  bool multi = a.family_first != a.family_last || b.family_first != b.family_last;
  if (multi && (a.family_first == b.family_first || a.family_first == b.family_last ||
                a.family_last == b.family_first || a.family_last == b.family_last)) {
    return 2;
  }
  if (NamesSwapped(a, b)) return 3;
  double jw = JaroWinkler(a.family, b.family);
  if (jw >= 0.92) return 4;
  if (FamilyInOtherField(a, b)) return 5;
  if (PhoneticEqual(a.family_dm, a.family_dm_alt, b.family_dm, b.family_dm_alt)) return 6;
  if (jw >= 0.80) return 7;
  return 8;
}

bool GivenMisspeltForm(const PreparedRecord& a, const PreparedRecord& b) {
  const NameEquivalence& names = NameEquivalence::Default();
  return names.MisspeltEquivalent(a.given1, b.given1) || names.Misspelt(a.given2, b.given1) ||
         names.Misspelt(b.given2, a.given1);
}

bool GivenSpacedOtherwise(const PreparedRecord& a, const PreparedRecord& b) {
  const size_t n = a.given1.size() + a.given2.size();
  if (a.given1 == b.given1 || n != b.given1.size() + b.given2.size()) return false;
  auto at = [](const PreparedRecord& r, size_t i) {
    return i < r.given1.size() ? r.given1[i] : r.given2[i - r.given1.size()];
  };
  for (size_t i = 0; i < n; ++i) {
    if (at(a, i) != at(b, i)) return false;
  }
  return true;
}

int CompareGiven(const PreparedRecord& a, const PreparedRecord& b) {
  if (a.given1.empty() || b.given1.empty()) return 0;
  if (a.given1 == b.given1) return 1;
  if (GivenSpacedOtherwise(a, b)) return kGivenClose;
  if (a.given1.size() > 1 && b.given1.size() > 1 && NameEquivalence::Default().Equivalent(a.given1, b.given1)) {
    return 2;
  }
  if (NamesSwapped(a, b)) return 3;
  if ((!a.given2.empty() && a.given2 == b.given1) || (!b.given2.empty() && b.given2 == a.given1)) {
    return 4;
  }
  double jw = JaroWinkler(a.given1, b.given1);
  if (jw >= 0.92) return 5;
  if (GivenMisspeltForm(a, b)) return 8;
  if (PhoneticEqual(a.given_dm, a.given_dm_alt, b.given_dm, b.given_dm_alt)) return 6;
  if ((a.given1.size() == 1 || b.given1.size() == 1) && a.given1[0] == b.given1[0]) return 7;
  if (jw >= 0.80) return 8;
  return 9;
}

int CompareDob(int32_t a, int32_t b) {
  if (a == 0 || b == 0) return 0;
  if (a == b) return 1;
  int ay = a / 10000, am = a / 100 % 100, ad = a % 100;
  int by = b / 10000, bm = b / 100 % 100, bd = b % 100;
  if (ay == by && am == bd && ad == bm) return 2;
  if (NearDigits(static_cast<uint64_t>(a), static_cast<uint64_t>(b))) return 3;
  // An estimated date says no more than the year, give or take one (an age
  // guessed): within that, it is no evidence either way.
  if ((EstimatedDate(a) || EstimatedDate(b)) && std::abs(ay - by) <= 1) return 0;
  if (am == bm && ad == bd && std::abs(ay - by) == 1) return 4;
  return 5;
}

int CompareDates(const PreparedRecord& a, const PreparedRecord& b) {
  if (a.dob != 0 && b.dob != 0) return CompareDob(a.dob, b.dob);
  const int32_t x = a.dob != 0 ? a.dob : a.dob_impossible;
  const int32_t y = b.dob != 0 ? b.dob : b.dob_impossible;
  if (x == 0 || y == 0) return kDobNull;
  const int level = CompareDob(x, y);
  if (level == kDobExact) return kDobSlip;
  return level == kDobSwapped || level == kDobSlip ? level : kDobNull;
}

int CompareSex(Sex a, Sex b) {
  if (a == Sex::kUnknown || b == Sex::kUnknown) return 0;
  return a == b ? 1 : 2;
}

int ComparePostcode(const PreparedRecord& a, const PreparedRecord& b) {
  const bool address = !a.address.empty() && !b.address.empty();
  const bool postcode = !a.postcode_unit.empty() && !b.postcode_unit.empty();
  if (!address && !postcode) return 0;
  if (address && a.address == b.address) return 1;
  const bool unit = postcode && a.postcode_unit == b.postcode_unit;
  const bool near = postcode && !unit && NearText(a.postcode_unit, b.postcode_unit);
  // Addresses are long strings: compare them only where the postcodes leave
  // the question open (same unit, same or unknown district, or a postcode
  // one keying error away).
  auto similar = [&] { return address && AddressSimilar(a.address, b.address); };
  if (unit) return !address ? kPostcodeUnitAddressUnknown : similar() ? 2 : 3;
  bool district_open =
      a.postcode_district == 0 || b.postcode_district == 0 || a.postcode_district == b.postcode_district;
  if ((district_open || near) && similar()) return 4;
  if (!postcode) return address ? 9 : 0;
  if (near) return 5;
  if (a.postcode_sector != 0 && a.postcode_sector == b.postcode_sector) return 6;
  if (a.postcode_district != 0 && a.postcode_district == b.postcode_district) return 7;
  if (a.postcode_area != 0 && a.postcode_area == b.postcode_area) return 8;
  return 9;
}

uint32_t ComparePair(const PreparedRecord& a, const PreparedRecord& b) {
  uint32_t p = 0;
  p |= static_cast<uint32_t>(CompareNhs(a, b)) << (4 * comparison::kNhsNumber);
  p |= static_cast<uint32_t>(CompareFamily(a, b)) << (4 * comparison::kFamilyName);
  p |= static_cast<uint32_t>(CompareGiven(a, b)) << (4 * comparison::kGivenNames);
  p |= static_cast<uint32_t>(CompareDates(a, b)) << (4 * comparison::kDateOfBirth);
  p |= static_cast<uint32_t>(ComparePostcode(a, b)) << (4 * comparison::kPostcode);
  p |= static_cast<uint32_t>(CompareSex(a.sex, b.sex)) << (4 * comparison::kSex);
  return p;
}

}  // namespace empi
