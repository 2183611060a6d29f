// Copyright EMPI developers.
//
// Format rules: Royal Mail Programmers' Guide / ONS postcode directory user
// guide. Outward code A9, A99, AA9, AA99, A9A, AA9A; inward code 9AA.
//   1st letter: not Q, V, X.          2nd letter: not I, J, Z.
//   3rd-position letter (A9A): A B C D E F G H J K P S T U W.
//   4th-position letter (AA9A): A B E H M N P R V W X Y.
//   Inward letters: not C I K M O V.
// Plus the Girobank special "GIR 0AA". ZZ99 pseudo-postcodes (NHS "no fixed
// abode / not known", e.g. "ZZ99 3VZ", "ZZ99 3WZ") are placeholders; they
// break the letter rules, so they are recognised first.
#include "matchers/postcode.h"

namespace empi {
namespace {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsLetter(char c) { return c >= 'A' && c <= 'Z'; }
inline bool OneOf(char c, std::string_view set) { return set.find(c) != std::string_view::npos; }

bool ValidOutward(std::string_view o) {
  if (o.size() < 2 || o.size() > 4 || !IsLetter(o[0]) || OneOf(o[0], "QVX")) {
    return false;
  }
  if (IsDigit(o[1])) {  // A9, A99, A9A
    if (o.size() == 2) return true;
    if (o.size() != 3) return false;
    return IsDigit(o[2]) || OneOf(o[2], "ABCDEFGHJKPSTUW");
  }
  // AA9, AA99, AA9A
  if (!IsLetter(o[1]) || OneOf(o[1], "IJZ") || o.size() < 3 || !IsDigit(o[2])) {
    return false;
  }
  if (o.size() == 3) return true;
  return IsDigit(o[3]) || OneOf(o[3], "ABEHMNPRVWXY");
}

bool ValidInward(std::string_view i) {
  return i.size() == 3 && IsDigit(i[0]) && IsLetter(i[1]) && IsLetter(i[2]) && !OneOf(i[1], "CIKMOV") &&
         !OneOf(i[2], "CIKMOV");
}

}  // namespace

std::optional<Postcode> ParsePostcode(std::string_view raw, bool* placeholder) {
  if (placeholder != nullptr) *placeholder = false;
  char buf[8];
  size_t n = 0;
  for (char c : raw) {
    if (c == ' ' || c == '\t') continue;
    if (n == sizeof(buf)) return std::nullopt;
    buf[n++] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  if (n < 5 || n > 7) return std::nullopt;
  std::string_view compact(buf, n);
  std::string_view outward = compact.substr(0, n - 3);
  std::string_view inward = compact.substr(n - 3);

  if (outward == "ZZ99" && IsDigit(inward[0]) && IsLetter(inward[1]) && IsLetter(inward[2])) {
    if (placeholder != nullptr) *placeholder = true;
    return std::nullopt;
  }
  bool giro = outward == "GIR" && inward == "0AA";
  if (!giro && (!ValidOutward(outward) || !ValidInward(inward))) {
    return std::nullopt;
  }
  Postcode p;
  size_t area_len = 0;
  while (area_len < outward.size() && IsLetter(outward[area_len])) ++area_len;
  if (giro) area_len = 3;
  p.area.assign(outward.substr(0, area_len));
  p.district.assign(outward);
  p.sector = p.district + ' ' + inward[0];
  p.unit = p.district + ' ' + std::string(inward);
  return p;
}

}  // namespace empi
