// Copyright EMPI developers.
//
// comparisons_reference.h: a deliberately naive twin of comparisons.cc,
// written from the level labels in Comparisons() rather than from the
// implementation: digits and dates are compared as text, character by
// character, and every rule is spelled out on its own. Tests compare it with
// ComparePair on many generated pairs.
//
//   uint32_t expected = testing_ref::ReferencePattern(a, b);
//
// Thread-safety: pure functions.
#ifndef EMPI_TESTS_ENGINE_LINKAGE_COMPARISONS_REFERENCE_H_
#define EMPI_TESTS_ENGINE_LINKAGE_COMPARISONS_REFERENCE_H_

#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/linkage/comparisons.h"
#include "engine/linkage/prepared_record.h"
#include "matchers/bigram_dice.h"
#include "matchers/jaro_winkler.h"
#include "matchers/name_equivalence.h"

namespace empi::testing_ref {

// Zero-padded decimal text of fixed width.
inline std::string Digits(uint64_t v, int width) {
  std::string s = std::to_string(v);
  return std::string(static_cast<size_t>(width) - s.size(), '0') + s;
}

// "one character different or adjacent characters transposed", by trying
// every single substitution's effect and every adjacent swap.
inline bool RefNearText(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || a == b) return false;
  int diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff += a[i] != b[i];
  if (diff == 1) return true;
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    std::string t = a;
    std::swap(t[i], t[i + 1]);
    if (t == b) return true;
  }
  return false;
}

// "one digit different or adjacent digits transposed" (x != y).
inline bool OneDigitOrTransposed(uint64_t x, uint64_t y) { return RefNearText(Digits(x, 20), Digits(y, 20)); }

inline int RefNhs(const PreparedRecord& a, const PreparedRecord& b) {
  // A relative's number is no evidence either way: null.
  if (a.nhs_relatives || b.nhs_relatives) return 0;
  // A number that failed its check, a slip from the other's: near.
  if (a.nhs_mistyped != 0 && b.nhs != 0 && OneDigitOrTransposed(a.nhs_mistyped, b.nhs)) return 2;
  if (b.nhs_mistyped != 0 && a.nhs != 0 && OneDigitOrTransposed(b.nhs_mistyped, a.nhs)) return 2;
  if (a.nhs == 0 || b.nhs == 0) return 0;  // null
  if (a.nhs == b.nhs) return 1;            // exact
  if (OneDigitOrTransposed(a.nhs, b.nhs)) return 2;
  return 3;  // different
}

// A record whose family and given names are the same word carries no
// evidence of which field a name was entered in.
inline bool RefFieldsDistinct(const PreparedRecord& a, const PreparedRecord& b) {
  if (a.family.empty() || a.given1.empty() || b.family.empty() || b.given1.empty()) return false;
  return a.family != a.given1 && b.family != b.given1;
}

// `x`'s family name is the other record's first given name (exactly or
// with Jaro-Winkler >= 0.92), or starts with its first and second given
// names written as one word, or has several parts of which the first is
// the other's first given name (Jaro-Winkler >= 0.92).
inline bool RefFamilyIsGiven(const PreparedRecord& x, const PreparedRecord& other) {
  const std::string& family = x.family;
  if (family == other.given1) return true;
  if (!other.given2.empty() && family.rfind(other.given1 + other.given2, 0) == 0) return true;
  const bool several_parts = x.family_first.size() < family.size();
  if (several_parts && JaroWinkler(x.family_first, other.given1) >= 0.92) return true;
  return JaroWinkler(family, other.given1) >= 0.92;
}

// The second half of a swap: as above, or the family field's first part is
// the other's first given name by the nickname table or one slip
// (NameEquivalence::Misspelt).
inline bool RefFamilyNearlyGiven(const PreparedRecord& x, const PreparedRecord& other) {
  const NameEquivalence& eq = NameEquivalence::Default();
  return RefFamilyIsGiven(x, other) ||
         (x.family_first.size() >= 2 && other.given1.size() >= 2 && eq.Equivalent(x.family_first, other.given1)) ||
         eq.Misspelt(x.family_first, other.given1);
}

// "given and family names swapped": one side's family name is (nearly) the
// other's given name and vice versa, one of the two directions at least
// by RefFamilyIsGiven.
inline bool RefSwapped(const PreparedRecord& a, const PreparedRecord& b) {
  return RefFieldsDistinct(a, b) && ((RefFamilyIsGiven(a, b) && RefFamilyNearlyGiven(b, a)) ||
                                     (RefFamilyIsGiven(b, a) && RefFamilyNearlyGiven(a, b)));
}

// "family name is the other's given name": in at least one direction, with
// the two names involved present and neither record holding one word in
// both fields.
inline bool RefHalfSwapped(const PreparedRecord& a, const PreparedRecord& b) {
  bool one_word = a.family == a.given1 || b.family == b.given1;
  bool a_moved = !a.family.empty() && !b.given1.empty() && RefFamilyIsGiven(a, b);
  bool b_moved = !b.family.empty() && !a.given1.empty() && RefFamilyIsGiven(b, a);
  return !one_word && (a_moved || b_moved);
}

inline bool RefPhonetic(uint32_t a, uint32_t a_alt, uint32_t b, uint32_t b_alt) {
  if (a == 0 || b == 0) return false;
  uint32_t ka[2] = {a, a_alt}, kb[2] = {b, b_alt};
  for (uint32_t x : ka)
    for (uint32_t y : kb)
      if (x != 0 && x == y) return true;
  return false;
}

inline int RefFamily(const PreparedRecord& a, const PreparedRecord& b) {
  if (a.family.empty() || b.family.empty()) return 0;
  if (a.family == b.family) return 1;
  // "one part of a multi-part name equal": at least one side has two parts.
  bool a_multi = a.family_first != a.family_last;
  bool b_multi = b.family_first != b.family_last;
  if (a_multi || b_multi) {
    std::string pa[2] = {a.family_first, a.family_last}, pb[2] = {b.family_first, b.family_last};
    for (const auto& x : pa)
      for (const auto& y : pb)
        if (x == y) return 2;
  }
  if (RefSwapped(a, b)) return 3;
  if (JaroWinkler(a.family, b.family) >= 0.92) return 4;
  if (RefHalfSwapped(a, b)) return 5;
  if (RefPhonetic(a.family_dm, a.family_dm_alt, b.family_dm, b.family_dm_alt)) return 6;
  if (JaroWinkler(a.family, b.family) >= 0.80) return 7;
  return 8;
}

inline int RefGiven(const PreparedRecord& a, const PreparedRecord& b) {
  if (a.given1.empty() || b.given1.empty()) return 0;
  if (a.given1 == b.given1) return 1;
  // The same first two names with the space lost or moved: a slip.
  if (a.given1 + a.given2 == b.given1 + b.given2) return 5;
  // Nicknames: initials are never nicknames.
  if (a.given1.size() >= 2 && b.given1.size() >= 2 && NameEquivalence::Default().Equivalent(a.given1, b.given1)) {
    return 2;
  }
  if (RefSwapped(a, b)) return 3;
  // "first and middle names swapped": one side's first name is the other's
  // middle name.
  if (!a.given2.empty() && a.given2 == b.given1) return 4;
  if (!b.given2.empty() && b.given2 == a.given1) return 4;
  if (JaroWinkler(a.given1, b.given1) >= 0.92) return 5;
  // A nickname or a swap with one keying slip on top, scored as a similar
  // spelling; "a slip" is the table's own definition.
  const NameEquivalence& eq = NameEquivalence::Default();
  if (eq.MisspeltEquivalent(a.given1, b.given1) || eq.MisspeltEquivalent(b.given1, a.given1)) return 8;
  if (eq.Misspelt(a.given2, b.given1)) return 8;
  if (eq.Misspelt(b.given2, a.given1)) return 8;
  if (RefPhonetic(a.given_dm, a.given_dm_alt, b.given_dm, b.given_dm_alt)) return 6;
  bool initial = a.given1.size() == 1 || b.given1.size() == 1;
  if (initial && a.given1[0] == b.given1[0]) return 7;
  if (JaroWinkler(a.given1, b.given1) >= 0.80) return 8;
  return 9;
}

inline int RefDob(int32_t x, int32_t y) {
  if (x == 0 || y == 0) return 0;
  if (x == y) return 1;
  std::string a = Digits(static_cast<uint64_t>(x), 8), b = Digits(static_cast<uint64_t>(y), 8);
  std::string ya = a.substr(0, 4), ma = a.substr(4, 2), da = a.substr(6, 2);
  std::string yb = b.substr(0, 4), mb = b.substr(4, 2), db = b.substr(6, 2);
  if (ya == yb && ma == db && da == mb) return 2;  // day and month swapped
  if (OneDigitOrTransposed(static_cast<uint64_t>(x), static_cast<uint64_t>(y))) return 3;
  // 1 January or 1 July on either side: a guessed age, within a year.
  const bool estimate = (ma == "01" && da == "01") || (ma == "07" && da == "01") || (mb == "01" && db == "01") ||
                        (mb == "07" && db == "01");
  if (estimate && std::abs(std::stoi(ya) - std::stoi(yb)) <= 1) return 0;
  if (ma == mb && da == db && std::abs(std::stoi(ya) - std::stoi(yb)) == 1) return 4;
  return 5;
}

// A date that names no day stands in for its record's date only as a keying
// slip or a swap of the other's; anything else about it is unknown.
inline int RefDates(const PreparedRecord& a, const PreparedRecord& b) {
  if (a.dob != 0 && b.dob != 0) return RefDob(a.dob, b.dob);
  const int level = RefDob(a.dob != 0 ? a.dob : a.dob_impossible, b.dob != 0 ? b.dob : b.dob_impossible);
  switch (level) {
    case 1: return 3;  // the same impossible date on both: a slip, not a date
    case 2:
    case 3: return level;
    default: return 0;
  }
}

inline int RefSex(Sex a, Sex b) {
  if (a == Sex::kUnknown || b == Sex::kUnknown) return 0;
  return a == b ? 1 : 2;
}

// Written from the level labels: every condition evaluated, then the first
// that holds wins.
inline int RefPostcode(const PreparedRecord& a, const PreparedRecord& b) {
  bool have_address = !a.address.empty() && !b.address.empty();
  bool have_postcode = !a.postcode_unit.empty() && !b.postcode_unit.empty();
  bool same_address = have_address && a.address == b.address;
  bool similar =
      have_address && (JaroWinkler(a.address, b.address) >= 0.90 || BigramDice(a.address, b.address) >= 0.80);
  bool unit = have_postcode && a.postcode_unit == b.postcode_unit;
  bool near = have_postcode && RefNearText(a.postcode_unit, b.postcode_unit);
  bool district_equal_or_missing =
      a.postcode_district == 0 || b.postcode_district == 0 || a.postcode_district == b.postcode_district;
  bool sector = have_postcode && a.postcode_sector != 0 && a.postcode_sector == b.postcode_sector;
  bool district = have_postcode && a.postcode_district != 0 && a.postcode_district == b.postcode_district;
  bool area = have_postcode && a.postcode_area != 0 && a.postcode_area == b.postcode_area;
  if (!have_address && !have_postcode) return 0;
  if (same_address) return 1;
  if (unit && !have_address) return 10;
  if (unit && similar) return 2;
  if (unit) return 3;
  if (similar && (district_equal_or_missing || near)) return 4;
  if (near) return 5;
  if (sector) return 6;
  if (district) return 7;
  if (area) return 8;
  return 9;
}

inline uint32_t ReferencePattern(const PreparedRecord& a, const PreparedRecord& b) {
  uint32_t p = 0;
  p = WithGamma(p, comparison::kNhsNumber, RefNhs(a, b));
  p = WithGamma(p, comparison::kFamilyName, RefFamily(a, b));
  p = WithGamma(p, comparison::kGivenNames, RefGiven(a, b));
  p = WithGamma(p, comparison::kDateOfBirth, RefDates(a, b));
  p = WithGamma(p, comparison::kSex, RefSex(a.sex, b.sex));
  p = WithGamma(p, comparison::kPostcode, RefPostcode(a, b));
  return p;
}

}  // namespace empi::testing_ref

#endif  // EMPI_TESTS_ENGINE_LINKAGE_COMPARISONS_REFERENCE_H_
