// Copyright EMPI developers.
#include "engine/linkage/prepared_record.h"

#include <cctype>

#include "absl/strings/match.h"
#include "matchers/date_of_birth.h"
#include "matchers/name_equivalence.h"
#include "matchers/name_normalizer.h"
#include "matchers/nhs_number.h"
#include "matchers/phonetic.h"
#include "matchers/postcode.h"
#include "xxhash.h"

namespace empi {
namespace {

uint32_t Hash32(std::string_view s) {
  if (s.empty()) return 0;
  uint32_t h = static_cast<uint32_t>(XXH3_64bits(s.data(), s.size()));
  return h == 0 ? 1 : h;
}

Sex ParseSex(std::string_view s) {
  if (s.empty()) return Sex::kUnknown;
  char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  if (c == 'm' || c == '1') return Sex::kMale;
  if (c == 'f' || c == '2') return Sex::kFemale;
  return Sex::kUnknown;
}

// Digits only, for identifiers compared without NHS validation.
uint64_t ParseDigits(std::string_view s) {
  uint64_t v = 0;
  int n = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      if (++n > 18) return 0;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    } else if (c != ' ' && c != '-') {
      return 0;
    }
  }
  return v;
}

std::string NormalizeAddress(std::string_view raw) {
  std::string folded = FoldToAscii(raw);
  std::string out;
  out.reserve(folded.size());
  for (char c : folded) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// What a contributor writes when it has no address: NHS systems code it as
// a ZZ99 pseudo-postcode (ParsePostcode), the rest in words. A normalized
// address that is one of these, or begins with one of the phrases (a town
// after it is not an address), says nothing of where the patient lives and
// is shared by people unrelated to each other, so it is no evidence.
bool IsPlaceholderAddress(std::string_view address) {
  static constexpr std::string_view kWhole[] = {"nfa",
                                                "n f a",
                                                "na",
                                                "n a",
                                                "none",
                                                "unknown",
                                                "unk",
                                                "not known",
                                                "nk",
                                                "address unknown",
                                                "unknown address",
                                                "address not known",
                                                "no address",
                                                "no known address",
                                                "not stated",
                                                "not given",
                                                "not recorded",
                                                "not provided",
                                                "refused",
                                                "homeless",
                                                "no fixed abode",
                                                "no fixed address",
                                                "of no fixed abode"};
  static constexpr std::string_view kPhrases[] = {"no fixed abode ", "no fixed address ", "of no fixed abode ", "nfa ",
                                                  "homeless "};
  for (std::string_view w : kWhole) {
    if (address == w) return true;
  }
  for (std::string_view p : kPhrases) {
    if (address.starts_with(p)) return true;
  }
  return false;
}

// Given names a system took as one word, run together with the capital of
// the second kept ("StephanieMarie"): a space goes back where a capital
// follows a small letter and both sides have three letters or more. Not in
// "DeShawn", "LaToya" or "McKenzie"; not after "Mac", a name's own prefix.
std::string SeparateRunTogetherNames(std::string_view s) {
  auto lower = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
  };
  auto upper = [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; };
  std::string out;
  out.reserve(s.size() + 2);
  size_t word = 0;  // where the current run of letters began in s
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && upper(s[i]) && lower(s[i - 1])) {
      size_t end = i + 1;
      while (end < s.size() && lower(s[end])) ++end;
      std::string_view left = s.substr(word, i - word);
      if (left.size() >= 3 && end - i >= 3 &&
          !absl::EqualsIgnoreCase(absl::string_view(left.data(), left.size()), "mac")) {
        out += ' ';
        word = i;
      }
    } else if (!lower(s[i]) && !upper(s[i])) {
      word = i + 1;
    }
    out += s[i];
  }
  return out;
}

uint32_t HouseNumber(std::string_view address) {
  for (size_t i = 0; i < address.size();) {
    size_t end = address.find(' ', i);
    if (end == std::string_view::npos) end = address.size();
    if (std::isdigit(static_cast<unsigned char>(address[i]))) return Hash32(address.substr(i, end - i));
    i = end + 1;
  }
  return 0;
}

}  // namespace

uint32_t GivenNameKey(std::string_view token) { return Hash32(token) | 1; }

uint32_t PackKey(std::string_view key) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    v = (v << 8) | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0);
  }
  return v;
}

PreparedRecord PrepareRecord(const Record& r, const FieldConventions& conventions) {
  PreparedRecord p;
  p.source = Hash32(r.source);
  p.practice = IsGpPracticeCode(r.source);
  if (conventions.validate_nhs_number) {
    if (auto n = ParseNhsNumber(r.nhs_number)) {
      p.nhs = *n;
      p.nhs_validated = true;
    } else {
      p.nhs_mistyped = ParseDigits(r.nhs_number);
    }
  } else {
    p.nhs = ParseDigits(r.nhs_number);
  }
  if (auto d = ParseDate(r.date_of_birth, DateFormat::kIso); d && !IsPlaceholderDate(*d)) {
    p.dob = *d;
  } else if (!d) {
    p.dob_impossible = ParseImpossibleDate(r.date_of_birth).value_or(0);
  }
  p.sex = ParseSex(r.sex);

  NormalizedName family = NormalizeName(r.family_name);
  if (!family.empty()) {
    p.family = family.joined;
    p.family_first = family.tokens.front();
    p.family_last = family.tokens.back();
    DoubleMetaphoneKeys dm = DoubleMetaphone(p.family);
    p.family_dm = PackKey(dm.primary);
    p.family_dm_alt = PackKey(dm.alternate);
  }
  NormalizedName given = NormalizeName(SeparateRunTogetherNames(r.given_names));
  if (!given.empty()) {
    p.given1 = given.tokens[0];
    if (given.tokens.size() > 1) p.given2 = given.tokens[1];
    if (given.tokens.size() > 2) p.given3 = GivenNameKey(given.tokens[2]);
    DoubleMetaphoneKeys dm = DoubleMetaphone(p.given1);
    p.given_dm = PackKey(dm.primary);
    p.given_dm_alt = PackKey(dm.alternate);
    p.given_group = NameEquivalence::Default().CanonicalGroup(p.given1);
  }

  if (conventions.postcode_format == PostcodeFormat::kUk) {
    if (auto pc = ParsePostcode(r.postcode)) {
      p.postcode_unit = pc->unit;
      p.postcode_sector = Hash32(pc->sector);
      p.postcode_district = Hash32(pc->district);
      p.postcode_area = Hash32(pc->area);
    }
  } else {
    p.postcode_unit = NormalizeAddress(r.postcode);
  }
  p.address = NormalizeAddress(r.address);
  if (IsPlaceholderAddress(p.address)) p.address.clear();
  p.house_number = HouseNumber(p.address);
  return p;
}

}  // namespace empi
