// Copyright EMPI developers.
#include "matchers/name_normalizer.h"

#include <array>
#include <memory>

#include "unicode/normalizer2.h"
#include "unicode/translit.h"
#include "unicode/unistr.h"
#include "unicode/utypes.h"

namespace empi {
namespace {

// Leading titles and trailing suffixes. They are removed only while another
// token remains, so a family name that happens to be "Lord" or "Sir" is kept.
// clang-format off
constexpr std::array<std::string_view, 18> kTitles = {
    "mr",  "mrs",  "miss", "ms",   "mx",   "dr",   "prof", "rev",  "revd",
    "sir", "dame", "lord", "lady", "mstr", "fr",   "sr",   "capt", "cllr"};
constexpr std::array<std::string_view, 10> kSuffixes = {
    "jr", "jnr", "junior", "sr", "snr", "senior", "ii", "iii", "iv", "esq"};

// Normalised forms that mean "no name was given".
constexpr std::array<std::string_view, 52> kPlaceholders = {
    "unknown",      "unk",         "unkn",        "nk",
    "notknown",     "notgiven",    "notstated",   "notrecorded",
    "notprovided",  "x",           "xx",          "xxx",
    "xxxx",         "baby",        "babyboy",     "babygirl",
    "babyof",       "infant",      "newborn",     "stillborn",
    "test",         "testpatient", "testing",     "testtest",
    "dummy",        "patient",     "unknownpatient", "unknownmale",
    "unknownfemale", "nfa",        "noname",      "nonamegiven",
    "anon",         "anonymous",   "unnamed",     "none",
    "null",         "missing",     "tba",         "tbc",
    "unidentified", "johndoe",     "janedoe",     "fake",
    "mr",           "mrs",         "ms",          "miss",
    "mx",           "dr",          "void",        "notapplicable"};
// clang-format on

template <size_t N>
bool In(const std::array<std::string_view, N>& list, std::string_view s) {
  for (std::string_view x : list) {
    if (x == s) return true;
  }
  return false;
}

inline bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

inline char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

// One ICU pipeline per thread: NFKC, case folding, any script to Latin,
// Latin to ASCII. ICU transliterators are not thread-safe, hence per thread.
class Folder {
 public:
  Folder() {
    UErrorCode status = U_ZERO_ERROR;
    transliterator_.reset(
        icu::Transliterator::createInstance("NFKC; Any-Latin; Latin-ASCII; Lower", UTRANS_FORWARD, status));
    if (U_FAILURE(status)) transliterator_.reset();
    status = U_ZERO_ERROR;
    nfkc_ = icu::Normalizer2::getNFKCCasefoldInstance(status);
    if (U_FAILURE(status)) nfkc_ = nullptr;
    status = U_ZERO_ERROR;
    nfd_ = icu::Normalizer2::getNFDInstance(status);
    if (U_FAILURE(status)) nfd_ = nullptr;
  }

  // Lower-case text whose non-ASCII characters could not be transliterated
  // are left in place; callers treat them as separators.
  std::string Fold(std::string_view utf8) {
    icu::UnicodeString text =
        icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
    if (nfkc_ != nullptr) {
      UErrorCode status = U_ZERO_ERROR;
      icu::UnicodeString folded = nfkc_->normalize(text, status);
      if (U_SUCCESS(status)) text = folded;
    }
    std::string out;
    if (FoldLatin(text, &out)) return out;
    if (transliterator_ != nullptr) transliterator_->transliterate(text);
    out.clear();
    text.toUTF8String(out);
    return out;
  }

 private:
  // Fast path for case-folded Latin text, which is most non-ASCII names
  // (Łukasz, Siân, Zoë): decompose, drop combining marks and map the few
  // letters that do not decompose. Equivalent to Latin-ASCII on these
  // characters, and about ten times cheaper than the transliterator. Returns
  // false, leaving *out unspecified, for anything else.
  bool FoldLatin(const icu::UnicodeString& folded, std::string* out) const {
    if (nfd_ == nullptr) return false;
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString text = nfd_->normalize(folded, status);
    if (U_FAILURE(status)) return false;
    out->clear();
    out->reserve(static_cast<size_t>(text.length()));
    for (int32_t i = 0; i < text.length(); ++i) {
      char16_t c = text.charAt(i);
      if (c < 0x80) {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (c >= 0x0300 && c <= 0x036F) continue;  // combining marks
      const char* ascii = nullptr;
      // clang-format off
      switch (c) {
        case 0x00E6: ascii = "ae"; break;  // æ
        case 0x00F0: ascii = "d"; break;   // ð
        case 0x00F8: ascii = "o"; break;   // ø
        case 0x00FE: ascii = "th"; break;  // þ
        case 0x0111: ascii = "d"; break;   // đ
        case 0x0127: ascii = "h"; break;   // ħ
        case 0x0131: ascii = "i"; break;   // dotless i
        case 0x0142: ascii = "l"; break;   // ł
        case 0x0153: ascii = "oe"; break;  // œ
        case 0x00A0: ascii = " "; break;   // no-break space
        case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014:
        case 0x2015: ascii = "-"; break;
        case 0x2018: case 0x2019: case 0x02BC: ascii = "'"; break;
        default: return false;
      }
      // clang-format on
      out->append(ascii);
    }
    return true;
  }

  std::unique_ptr<icu::Transliterator> transliterator_;
  const icu::Normalizer2* nfkc_ = nullptr;
  const icu::Normalizer2* nfd_ = nullptr;
};

std::string IcuFold(std::string_view utf8) {
  thread_local Folder folder;
  return folder.Fold(utf8);
}

inline bool IsApostrophe(char c) { return c == '\'' || c == '`'; }

// Splits lower-cased ASCII (after folding) into a-z tokens. Apostrophes
// join the letters either side; every other non-letter separates.
void Tokenize(std::string_view text, std::vector<std::string>* tokens) {
  std::string current;
  for (char raw : text) {
    char c = LowerAscii(raw);
    if (c >= 'a' && c <= 'z') {
      current.push_back(c);
    } else if (IsApostrophe(c)) {
      continue;
    } else if (!current.empty()) {
      tokens->push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens->push_back(std::move(current));
}

}  // namespace

bool IsPlaceholderName(std::string_view joined) {
  if (joined.empty()) return true;
  if (In(kPlaceholders, joined)) return true;
  // A run of one repeated letter ("aaa", "zzzz") is keyboard filler.
  if (joined.size() >= 3 && joined.find_first_not_of(joined[0]) == std::string_view::npos) {
    return true;
  }
  return false;
}

NormalizedName NormalizeName(std::string_view utf8) {
  NormalizedName result;
  std::vector<std::string>& tokens = result.tokens;
  if (IsAscii(utf8)) {
    Tokenize(utf8, &tokens);
  } else {
    Tokenize(IcuFold(utf8), &tokens);
  }
  size_t begin = 0, end = tokens.size();
  while (end - begin > 1 && In(kTitles, tokens[begin])) ++begin;
  while (end - begin > 1 && In(kSuffixes, tokens[end - 1])) --end;
  if (begin > 0 || end < tokens.size()) {
    tokens = std::vector<std::string>(std::make_move_iterator(tokens.begin() + begin),
                                      std::make_move_iterator(tokens.begin() + end));
  }
  size_t total = 0;
  for (const std::string& t : tokens) total += t.size();
  result.joined.reserve(total);
  for (const std::string& t : tokens) result.joined += t;
  if (IsPlaceholderName(result.joined)) return NormalizedName();
  return result;
}

std::string FoldToAscii(std::string_view utf8) {
  std::string out;
  if (IsAscii(utf8)) {
    out.assign(utf8);
  } else {
    out = IcuFold(utf8);
    // Anything ICU could not spell in ASCII becomes a space, never a byte
    // that downstream ASCII code would misread.
    std::string ascii;
    ascii.reserve(out.size());
    bool in_non_ascii = false;
    for (unsigned char c : out) {
      if (c < 0x80) {
        ascii.push_back(static_cast<char>(c));
        in_non_ascii = false;
      } else if (!in_non_ascii) {
        ascii.push_back(' ');
        in_non_ascii = true;
      }
    }
    out = std::move(ascii);
  }
  for (char& c : out) c = LowerAscii(c);
  return out;
}

}  // namespace empi
