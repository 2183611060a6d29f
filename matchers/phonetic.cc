// Copyright EMPI developers.
//
// Double Metaphone follows Lawrence Philips' original C++ (C/C++ Users
// Journal, June 2000) rule for rule, in the structure of its widely used
// Apache Commons Codec port; where the two differ (the final "J" of a word
// gets an empty alternate, not a space) the original wins.
#include "matchers/phonetic.h"

#include <initializer_list>

namespace empi {
namespace {

class DoubleMetaphoneEncoder {
 public:
  DoubleMetaphoneEncoder(std::string_view name, size_t max_length) : max_length_(max_length) {
    value_.reserve(name.size());
    for (char c : name) {
      value_.push_back((c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c);
    }
    length_ = static_cast<int>(value_.size());
    slavo_germanic_ = value_.find('W') != std::string::npos || value_.find('K') != std::string::npos ||
                      value_.find("CZ") != std::string::npos || value_.find("WITZ") != std::string::npos;
  }

  // The letter cases keep their compact layout.
  // clang-format off
  DoubleMetaphoneKeys Encode() {
    int i = 0;
    if (Contains(0, 2, {"GN", "KN", "PN", "WR", "PS"})) i = 1;  // silent start
    while (!Complete() && i < length_) {
      switch (value_[i]) {
        case 'A': case 'E': case 'I': case 'O': case 'U': case 'Y':
          if (i == 0) Add('A');
          ++i;
          break;
        case 'B': Add('P'); i += At(i + 1) == 'B' ? 2 : 1; break;
        case 'C': i = HandleC(i); break;
        case 'D': i = HandleD(i); break;
        case 'F': Add('F'); i += At(i + 1) == 'F' ? 2 : 1; break;
        case 'G': i = HandleG(i); break;
        case 'H': i = HandleH(i); break;
        case 'J': i = HandleJ(i); break;
        case 'K': Add('K'); i += At(i + 1) == 'K' ? 2 : 1; break;
        case 'L': i = HandleL(i); break;
        case 'M': Add('M'); i += ConditionM0(i) ? 2 : 1; break;
        case 'N': Add('N'); i += At(i + 1) == 'N' ? 2 : 1; break;
        case 'P': i = HandleP(i); break;
        case 'Q': Add('K'); i += At(i + 1) == 'Q' ? 2 : 1; break;
        case 'R': i = HandleR(i); break;
        case 'S': i = HandleS(i); break;
        case 'T': i = HandleT(i); break;
        case 'V': Add('F'); i += At(i + 1) == 'V' ? 2 : 1; break;
        case 'W': i = HandleW(i); break;
        case 'X': i = HandleX(i); break;
        case 'Z': i = HandleZ(i); break;
        default: ++i; break;
      }
    }
    return {std::move(primary_), std::move(alternate_)};
  }

 private:
  char At(int i) const { return i >= 0 && i < length_ ? value_[i] : '\0'; }
  static bool IsVowel(char c) {
    return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U' || c == 'Y';
  }
  // True when value_[start, start + len) equals one of `options`.
  bool Contains(int start, int len, std::initializer_list<std::string_view> options) const {
    if (start < 0 || start + len > length_) return false;
    std::string_view target(value_.data() + start, static_cast<size_t>(len));
    for (std::string_view o : options) {
      if (o == target) return true;
    }
    return false;
  }
  bool Complete() const {
    return primary_.size() >= max_length_ && alternate_.size() >= max_length_;
  }
  static void AddTo(std::string* out, std::string_view s, size_t max) {
    size_t room = max > out->size() ? max - out->size() : 0;
    out->append(s.substr(0, room));
  }
  void Add(std::string_view main, std::string_view alt) {
    AddTo(&primary_, main, max_length_);
    AddTo(&alternate_, alt, max_length_);
  }
  void Add(std::string_view both) { Add(both, both); }
  void Add(char c) { Add(std::string_view(&c, 1)); }
  void Add(char main, char alt) {
    Add(std::string_view(&main, 1), std::string_view(&alt, 1));
  }
  void AddPrimary(char c) { AddTo(&primary_, std::string_view(&c, 1), max_length_); }
  void AddAlternate(char c) { AddTo(&alternate_, std::string_view(&c, 1), max_length_); }

  bool ConditionC0(int i) const {
    if (Contains(i, 4, {"CHIA"})) return true;
    if (i <= 1) return false;
    if (IsVowel(At(i - 2))) return false;
    if (!Contains(i - 1, 3, {"ACH"})) return false;
    char c = At(i + 2);
    return (c != 'I' && c != 'E') || Contains(i - 2, 6, {"BACHER", "MACHER"});
  }
  bool ConditionCH0(int i) const {
    if (i != 0) return false;
    if (!Contains(i + 1, 5, {"HARAC", "HARIS"}) &&
        !Contains(i + 1, 3, {"HOR", "HYM", "HIA", "HEM"})) {
      return false;
    }
    return !Contains(0, 5, {"CHORE"});
  }
  bool ConditionCH1(int i) const {
    return Contains(0, 4, {"VAN ", "VON "}) || Contains(0, 3, {"SCH"}) ||
           Contains(i - 2, 6, {"ORCHES", "ARCHIT", "ORCHID"}) ||
           Contains(i + 2, 1, {"T", "S"}) ||
           ((Contains(i - 1, 1, {"A", "O", "U", "E"}) || i == 0) &&
            (Contains(i + 2, 1, {"L", "R", "N", "M", "B", "H", "F", "V", "W", " "}) ||
             i + 1 == length_ - 1));
  }
  bool ConditionL0(int i) const {
    if (i == length_ - 3 && Contains(i - 1, 4, {"ILLO", "ILLA", "ALLE"})) return true;
    return (Contains(length_ - 2, 2, {"AS", "OS"}) ||
            Contains(length_ - 1, 1, {"A", "O"})) &&
           Contains(i - 1, 4, {"ALLE"});
  }
  bool ConditionM0(int i) const {
    if (At(i + 1) == 'M') return true;
    return Contains(i - 1, 3, {"UMB"}) &&
           (i + 1 == length_ - 1 || Contains(i + 2, 2, {"ER"}));
  }

  int HandleC(int i) {
    if (ConditionC0(i)) {  // various Germanic
      Add('K');
      return i + 2;
    }
    if (i == 0 && Contains(i, 6, {"CAESAR"})) {
      Add('S');
      return i + 2;
    }
    if (Contains(i, 2, {"CH"})) return HandleCH(i);
    if (Contains(i, 2, {"CZ"}) && !Contains(i - 2, 4, {"WICZ"})) {  // Czerny
      Add('S', 'X');
      return i + 2;
    }
    if (Contains(i + 1, 3, {"CIA"})) {  // focaccia
      Add('X');
      return i + 3;
    }
    if (Contains(i, 2, {"CC"}) && !(i == 1 && At(0) == 'M')) return HandleCC(i);
    if (Contains(i, 2, {"CK", "CG", "CQ"})) {
      Add('K');
      return i + 2;
    }
    if (Contains(i, 2, {"CI", "CE", "CY"})) {  // Italian vs English
      if (Contains(i, 3, {"CIO", "CIE", "CIA"})) {
        Add('S', 'X');
      } else {
        Add('S');
      }
      return i + 2;
    }
    Add('K');
    if (Contains(i + 1, 2, {" C", " Q", " G"})) return i + 3;  // Mac Caffrey
    if (Contains(i + 1, 1, {"C", "K", "Q"}) && !Contains(i + 1, 2, {"CE", "CI"})) {
      return i + 2;
    }
    return i + 1;
  }

  int HandleCC(int i) {
    if (Contains(i + 2, 1, {"I", "E", "H"}) && !Contains(i + 2, 2, {"HU"})) {
      if ((i == 1 && At(i - 1) == 'A') || Contains(i - 1, 5, {"UCCEE", "UCCES"})) {
        Add("KS");  // accident, accede, succeed
      } else {
        Add('X');  // bacci, bertucci
      }
      return i + 3;
    }
    Add('K');  // Pierce's rule
    return i + 2;
  }

  int HandleCH(int i) {
    if (i > 0 && Contains(i, 4, {"CHAE"})) {  // Michael
      Add('K', 'X');
    } else if (ConditionCH0(i) || ConditionCH1(i)) {  // Greek roots, Germanic
      Add('K');
    } else if (i > 0) {
      if (Contains(0, 2, {"MC"})) {
        Add('K');
      } else {
        Add('X', 'K');
      }
    } else {
      Add('X');
    }
    return i + 2;
  }

  int HandleD(int i) {
    if (Contains(i, 2, {"DG"})) {
      if (Contains(i + 2, 1, {"I", "E", "Y"})) {  // edge
        Add('J');
        return i + 3;
      }
      Add("TK");  // Edgar
      return i + 2;
    }
    Add('T');
    return Contains(i, 2, {"DT", "DD"}) ? i + 2 : i + 1;
  }

  int HandleG(int i) {
    if (At(i + 1) == 'H') return HandleGH(i);
    if (At(i + 1) == 'N') {
      if (i == 1 && IsVowel(At(0)) && !slavo_germanic_) {
        Add("KN", "N");
      } else if (!Contains(i + 2, 2, {"EY"}) && At(i + 1) != 'Y' && !slavo_germanic_) {
        Add("N", "KN");
      } else {
        Add("KN");
      }
      return i + 2;
    }
    if (Contains(i + 1, 2, {"LI"}) && !slavo_germanic_) {  // tagliaro
      Add("KL", "L");
      return i + 2;
    }
    if (i == 0 && (At(i + 1) == 'Y' ||
                   Contains(i + 1, 2, {"ES", "EP", "EB", "EL", "EY", "IB", "IL", "IN",
                                       "IE", "EI", "ER"}))) {
      Add('K', 'J');  // -ges-, -gep-, -gel-, -gie- at the start
      return i + 2;
    }
    if ((Contains(i + 1, 2, {"ER"}) || At(i + 1) == 'Y') &&
        !Contains(0, 6, {"DANGER", "RANGER", "MANGER"}) &&
        !Contains(i - 1, 1, {"E", "I"}) && !Contains(i - 1, 3, {"RGY", "OGY"})) {
      Add('K', 'J');  // -ger-, -gy-
      return i + 2;
    }
    if (Contains(i + 1, 1, {"E", "I", "Y"}) || Contains(i - 1, 4, {"AGGI", "OGGI"})) {
      if (Contains(0, 4, {"VAN ", "VON "}) || Contains(0, 3, {"SCH"}) ||
          Contains(i + 1, 2, {"ET"})) {
        Add('K');  // obviously Germanic
      } else if (Contains(i + 1, 3, {"IER"})) {
        Add('J');
      } else {
        Add('J', 'K');
      }
      return i + 2;
    }
    Add('K');
    return At(i + 1) == 'G' ? i + 2 : i + 1;
  }

  int HandleGH(int i) {
    if (i > 0 && !IsVowel(At(i - 1))) {
      Add('K');
      return i + 2;
    }
    if (i == 0) {  // ghislane, ghiradelli
      Add(At(i + 2) == 'I' ? 'J' : 'K');
      return i + 2;
    }
    // Parker's rule (with refinements): hugh, bough, broughton.
    if ((i > 1 && Contains(i - 2, 1, {"B", "H", "D"})) ||
        (i > 2 && Contains(i - 3, 1, {"B", "H", "D"})) ||
        (i > 3 && Contains(i - 4, 1, {"B", "H"}))) {
      return i + 2;
    }
    if (i > 2 && At(i - 1) == 'U' && Contains(i - 3, 1, {"C", "G", "L", "R", "T"})) {
      Add('F');  // laugh, McLaughlin, cough, gough, rough, tough
    } else if (i > 0 && At(i - 1) != 'I') {
      Add('K');
    }
    return i + 2;
  }

  int HandleH(int i) {
    // Kept only when first or after a vowel, and before a vowel.
    if ((i == 0 || IsVowel(At(i - 1))) && IsVowel(At(i + 1))) {
      Add('H');
      return i + 2;
    }
    return i + 1;
  }

  int HandleJ(int i) {
    if (Contains(i, 4, {"JOSE"}) || Contains(0, 4, {"SAN "})) {  // Spanish
      if ((i == 0 && At(i + 4) == ' ') || length_ == 4 || Contains(0, 4, {"SAN "})) {
        Add('H');
      } else {
        Add('J', 'H');
      }
      return i + 1;
    }
    if (i == 0 && !Contains(i, 4, {"JOSE"})) {
      Add('J', 'A');  // Yankelovich / Jankelowicz
    } else if (IsVowel(At(i - 1)) && !slavo_germanic_ &&
               (At(i + 1) == 'A' || At(i + 1) == 'O')) {
      Add('J', 'H');  // Spanish pronunciation of e.g. bajador
    } else if (i == length_ - 1) {
      Add("J", "");
    } else if (!Contains(i + 1, 1, {"L", "T", "K", "S", "N", "M", "B", "Z"}) &&
               !Contains(i - 1, 1, {"S", "K", "L"})) {
      Add('J');
    }
    return At(i + 1) == 'J' ? i + 2 : i + 1;
  }

  int HandleL(int i) {
    if (At(i + 1) == 'L') {
      if (ConditionL0(i)) {  // Spanish, e.g. cabrillo, gallegos
        AddPrimary('L');
      } else {
        Add('L');
      }
      return i + 2;
    }
    Add('L');
    return i + 1;
  }

  int HandleP(int i) {
    if (At(i + 1) == 'H') {
      Add('F');
      return i + 2;
    }
    Add('P');
    return Contains(i + 1, 1, {"P", "B"}) ? i + 2 : i + 1;
  }

  int HandleR(int i) {
    // French, e.g. rogier, but exclude hochmeier.
    if (i == length_ - 1 && !slavo_germanic_ && Contains(i - 2, 2, {"IE"}) &&
        !Contains(i - 4, 2, {"ME", "MA"})) {
      AddAlternate('R');
    } else {
      Add('R');
    }
    return At(i + 1) == 'R' ? i + 2 : i + 1;
  }

  int HandleS(int i) {
    if (Contains(i - 1, 3, {"ISL", "YSL"})) return i + 1;  // island, carlisle
    if (i == 0 && Contains(i, 5, {"SUGAR"})) {
      Add('X', 'S');
      return i + 1;
    }
    if (Contains(i, 2, {"SH"})) {
      Add(Contains(i + 1, 4, {"HEIM", "HOEK", "HOLM", "HOLZ"}) ? 'S' : 'X');
      return i + 2;
    }
    if (Contains(i, 3, {"SIO", "SIA"}) || Contains(i, 4, {"SIAN"})) {
      if (slavo_germanic_) {
        Add('S');
      } else {
        Add('S', 'X');
      }
      return i + 3;
    }
    // German and anglicisations (smith / schmidt, snider / schneider) and
    // Slavic -sz-.
    if ((i == 0 && Contains(i + 1, 1, {"M", "N", "L", "W"})) ||
        Contains(i + 1, 1, {"Z"})) {
      Add('S', 'X');
      return Contains(i + 1, 1, {"Z"}) ? i + 2 : i + 1;
    }
    if (Contains(i, 2, {"SC"})) return HandleSC(i);
    if (i == length_ - 1 && Contains(i - 2, 2, {"AI", "OI"})) {
      AddAlternate('S');  // French, e.g. resnais, artois
    } else {
      Add('S');
    }
    return Contains(i + 1, 1, {"S", "Z"}) ? i + 2 : i + 1;
  }

  int HandleSC(int i) {
    if (At(i + 2) == 'H') {  // Schlesinger's rule
      if (Contains(i + 3, 2, {"OO", "ER", "EN", "UY", "ED", "EM"})) {
        if (Contains(i + 3, 2, {"ER", "EN"})) {
          Add("X", "SK");  // schermerhorn, schenker
        } else {
          Add("SK");  // school, schooner
        }
      } else if (i == 0 && !IsVowel(At(3)) && At(3) != 'W') {
        Add('X', 'S');
      } else {
        Add('X');
      }
    } else if (Contains(i + 2, 1, {"I", "E", "Y"})) {
      Add('S');
    } else {
      Add("SK");
    }
    return i + 3;
  }

  int HandleT(int i) {
    if (Contains(i, 4, {"TION"}) || Contains(i, 3, {"TIA", "TCH"})) {
      Add('X');
      return i + 3;
    }
    if (Contains(i, 2, {"TH"}) || Contains(i, 3, {"TTH"})) {
      // thomas, thames, or Germanic
      if (Contains(i + 2, 2, {"OM", "AM"}) || Contains(0, 4, {"VAN ", "VON "}) ||
          Contains(0, 3, {"SCH"})) {
        Add('T');
      } else {
        Add('0', 'T');
      }
      return i + 2;
    }
    Add('T');
    return Contains(i + 1, 1, {"T", "D"}) ? i + 2 : i + 1;
  }

  int HandleW(int i) {
    if (Contains(i, 2, {"WR"})) {
      Add('R');
      return i + 2;
    }
    if (i == 0 && (IsVowel(At(i + 1)) || Contains(i, 2, {"WH"}))) {
      if (IsVowel(At(i + 1))) {
        Add('A', 'F');  // Wasserman / Vasserman
      } else {
        Add('A');  // Uomo / Womo
      }
      return i + 1;
    }
    if ((i == length_ - 1 && IsVowel(At(i - 1))) ||
        Contains(i - 1, 5, {"EWSKI", "EWSKY", "OWSKI", "OWSKY"}) ||
        Contains(0, 3, {"SCH"})) {
      AddAlternate('F');  // Arnow / Arnoff
      return i + 1;
    }
    if (Contains(i, 4, {"WICZ", "WITZ"})) {  // Polish, e.g. filipowicz
      Add("TS", "FX");
      return i + 4;
    }
    return i + 1;
  }

  int HandleX(int i) {
    if (i == 0) {
      Add('S');
      return i + 1;
    }
    // French, e.g. breaux
    if (!(i == length_ - 1 &&
          (Contains(i - 3, 3, {"IAU", "EAU"}) || Contains(i - 2, 2, {"AU", "OU"})))) {
      Add("KS");
    }
    return Contains(i + 1, 1, {"C", "X"}) ? i + 2 : i + 1;
  }

  int HandleZ(int i) {
    if (At(i + 1) == 'H') {  // Chinese pinyin, e.g. zhao
      Add('J');
      return i + 2;
    }
    if (Contains(i + 1, 2, {"ZO", "ZI", "ZA"}) ||
        (slavo_germanic_ && i > 0 && At(i - 1) != 'T')) {
      Add("S", "TS");
    } else {
      Add('S');
    }
    return At(i + 1) == 'Z' ? i + 2 : i + 1;
  }

  std::string value_;
  int length_ = 0;
  size_t max_length_;
  bool slavo_germanic_ = false;
  std::string primary_;
  std::string alternate_;
  // clang-format on
};

inline bool IsNysiisVowel(char c) { return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U'; }

// clang-format off
char SoundexCode(char c) {
  switch (c) {
    case 'B': case 'F': case 'P': case 'V': return '1';
    case 'C': case 'G': case 'J': case 'K': case 'Q': case 'S': case 'X': case 'Z':
      return '2';
    case 'D': case 'T': return '3';
    case 'L': return '4';
    case 'M': case 'N': return '5';
    case 'R': return '6';
    default: return '0';  // vowels, H, W, Y: no code
  }
}

// clang-format on

// Upper-case letters of `name`; everything else dropped.
std::string Letters(std::string_view name) {
  std::string s;
  s.reserve(name.size());
  for (char c : name) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c >= 'A' && c <= 'Z') s.push_back(c);
  }
  return s;
}

}  // namespace

DoubleMetaphoneKeys DoubleMetaphone(std::string_view name, size_t max_length) {
  return DoubleMetaphoneEncoder(name, max_length).Encode();
}

// NYSIIS as in Taft (1970), in the rule order of the Apache Commons Codec
// implementation, without the six-character truncation.
std::string Nysiis(std::string_view name) {
  std::string s = Letters(name);
  if (s.empty()) return s;
  auto starts = [&s](std::string_view p) { return s.compare(0, p.size(), p) == 0; };
  auto ends = [&s](std::string_view p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  // First characters: MAC -> MCC, KN -> NN, K -> C, PH/PF -> FF, SCH -> SSS.
  if (starts("MAC")) {
    s.replace(0, 3, "MCC");
  } else if (starts("KN")) {
    s.replace(0, 2, "NN");
  } else if (starts("K")) {
    s[0] = 'C';
  } else if (starts("PH") || starts("PF")) {
    s.replace(0, 2, "FF");
  } else if (starts("SCH")) {
    s.replace(0, 3, "SSS");
  }
  // Last characters: EE/IE -> Y, DT/RT/RD/NT/ND -> D.
  if (ends("EE") || ends("IE")) {
    s.replace(s.size() - 2, 2, "Y");
  } else if (ends("DT") || ends("RT") || ends("RD") || ends("NT") || ends("ND")) {
    s.replace(s.size() - 2, 2, "D");
  }
  std::string key(1, s[0]);
  const size_t len = s.size();
  for (size_t i = 1; i < len; ++i) {
    const char prev = s[i - 1], curr = s[i];
    const char next = i + 1 < len ? s[i + 1] : ' ';
    const char after = i + 2 < len ? s[i + 2] : ' ';
    if (curr == 'E' && next == 'V') {
      s[i] = 'A';
      s[i + 1] = 'F';
    } else if (IsNysiisVowel(curr)) {
      s[i] = 'A';
    } else if (curr == 'Q') {
      s[i] = 'G';
    } else if (curr == 'Z') {
      s[i] = 'S';
    } else if (curr == 'M') {
      s[i] = 'N';
    } else if (curr == 'K') {
      if (next == 'N') {
        s[i] = 'N';
        s[i + 1] = 'N';
      } else {
        s[i] = 'C';
      }
    } else if (curr == 'S' && next == 'C' && after == 'H') {
      s[i] = s[i + 1] = s[i + 2] = 'S';
    } else if (curr == 'P' && next == 'H') {
      s[i] = s[i + 1] = 'F';
    } else if (curr == 'H' && (!IsNysiisVowel(prev) || !IsNysiisVowel(next))) {
      s[i] = prev;
    } else if (curr == 'W' && IsNysiisVowel(prev)) {
      s[i] = prev;
    }
    if (s[i] != s[i - 1]) key.push_back(s[i]);
  }
  if (key.size() > 1) {
    if (key.back() == 'S') key.pop_back();
    if (key.size() > 2 && key[key.size() - 2] == 'A' && key.back() == 'Y') {
      key.erase(key.size() - 2, 1);
    }
    if (key.size() > 1 && key.back() == 'A') key.pop_back();
  }
  return key;
}

std::string Soundex(std::string_view name) {
  std::string s = Letters(name);
  if (s.empty()) return s;
  std::string key(1, s[0]);
  char last = SoundexCode(s[0]);
  for (size_t i = 1; i < s.size() && key.size() < 4; ++i) {
    char c = s[i];
    if (c == 'H' || c == 'W') continue;  // do not separate equal codes
    char code = SoundexCode(c);
    if (code != '0' && code != last) key.push_back(code);
    last = code;
  }
  key.resize(4, '0');
  return key;
}

}  // namespace empi
