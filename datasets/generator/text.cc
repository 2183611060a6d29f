// Copyright EMPI developers.
#include "datasets/generator/text.h"

namespace empi::generator_internal {
namespace {

// ASCII bases of U+00C0..U+00FF and U+0100..U+017F; '*' marks a character
// handled specially or left alone.
constexpr std::string_view kFoldLatin1 = "AAAAAAACEEEEIIIIDNOOOOO*OUUUUYTsaaaaaaaceeeeiiiidnooooo*ouuuuyty";
constexpr std::string_view kFoldExtendedA =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiJjJjKkkLlLlLlLlLlNnNnNn"
    "nNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

bool IsUpper(char32_t c) {
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return true;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c % 2 == 0;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return c % 2 == 1;
  return c == 0x178;
}

bool IsLower(char32_t c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 0xDF && c <= 0xFF && c != 0xF7) return true;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c % 2 == 1;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return c % 2 == 0;
  return false;
}

char32_t Upper(char32_t c) {
  if (!IsLower(c)) return c;
  if (c < 0x80) return c - 32;
  if (c == 0xDF) return c;  // ß has no single-letter capital here
  if (c == 0xFF) return 0x178;
  if (c < 0x100) return c - 32;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c - 1;
  return c - 1;
}

char32_t Lower(char32_t c) {
  if (!IsUpper(c)) return c;
  if (c < 0x80) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c < 0x100) return c + 32;
  return c + 1;
}

// QWERTY neighbours of each lower-case letter.
constexpr const char* kAdjacent[26] = {
    "qwsz", "vghn", "xdfv", "serfcx", "wsdr", "drtgvc", "ftyhbv", "gyujnb", "ujko", "huikmn", "jiolm", "kop",  "njk",
    "bhjm", "iklp", "ol",   "wa",     "edft", "awedxz", "rfgy",   "yhji",   "cfgb", "qase",   "zsdc",  "tghu", "asx"};

char32_t AdjacentLetter(char32_t c, Rng& rng) {
  char32_t lower = Lower(c);
  if (lower < 'a' || lower > 'z') lower = 'a' + rng.Below(26);
  std::string_view adj = kAdjacent[lower - 'a'];
  char32_t out = static_cast<char32_t>(adj[rng.Below(adj.size())]);
  return IsUpper(c) ? Upper(out) : out;
}

}  // namespace

std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    char32_t c;
    int len;
    if (b < 0x80) {
      c = b;
      len = 1;
    } else if ((b >> 5) == 6) {
      c = b & 0x1F;
      len = 2;
    } else if ((b >> 4) == 14) {
      c = b & 0x0F;
      len = 3;
    } else {
      c = b & 0x07;
      len = 4;
    }
    for (int k = 1; k < len && i + k < s.size(); ++k) {
      c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    out.push_back(c);
    i += len;
  }
  return out;
}

std::string EncodeUtf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size() + 4);
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::string ToUpperUtf8(std::string_view s) {
  std::u32string u = DecodeUtf8(s);
  for (char32_t& c : u) c = Upper(c);
  return EncodeUtf8(u);
}

std::string ToLowerUtf8(std::string_view s) {
  std::u32string u = DecodeUtf8(s);
  for (char32_t& c : u) c = Lower(c);
  return EncodeUtf8(u);
}

bool HasNonAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

std::string FoldDiacritics(std::string_view s) {
  if (!HasNonAscii(s)) return std::string(s);
  std::string out;
  for (char32_t c : DecodeUtf8(s)) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c == 0xC6) {
      out += "AE";
    } else if (c == 0xE6) {
      out += "ae";
    } else if (c == 0xDF) {
      out += "ss";
    } else if (c == 0x152) {
      out += "OE";
    } else if (c == 0x153) {
      out += "oe";
    } else if (c == 0xD8) {
      out.push_back('O');
    } else if (c == 0xF8) {
      out.push_back('o');
    } else if (c >= 0xC0 && c <= 0xFF && kFoldLatin1[c - 0xC0] != '*') {
      out.push_back(kFoldLatin1[c - 0xC0]);
    } else if (c >= 0x100 && c <= 0x17F) {
      out.push_back(kFoldExtendedA[c - 0x100]);
    } else {
      out += EncodeUtf8(std::u32string_view(&c, 1));
    }
  }
  return out;
}

std::string MakeTypo(std::string_view s, Rng& rng) {
  std::u32string u = DecodeUtf8(s);
  if (u.size() < 2) return std::string(s) + "e";
  std::u32string original = u;
  for (int attempt = 0; attempt < 8 && u == original; ++attempt) {
    size_t pos = rng.Below(u.size());
    switch (rng.Below(4)) {
      case 0:  // insert a neighbour of the letter typed
        u.insert(u.begin() + pos + 1, AdjacentLetter(u[pos], rng));
        break;
      case 1:  // delete (never the first letter, which people rarely miss)
        u.erase(u.begin() + (pos == 0 ? 1 : pos));
        break;
      case 2: u[pos] = AdjacentLetter(u[pos], rng); break;
      default: {
        size_t p = pos + 1 < u.size() ? pos : pos - 1;
        std::swap(u[p], u[p + 1]);
        if (Lower(u[p]) == Lower(u[p + 1])) std::swap(u[p], u[p + 1]);
        // Keep the initial capital in place after swapping the first two.
        if (p == 0 && IsLower(u[0]) && IsUpper(u[1])) {
          char32_t a = u[0], b = u[1];
          u[0] = Upper(a);
          u[1] = Lower(b);
        }
        break;
      }
    }
  }
  return EncodeUtf8(u);
}

}  // namespace empi::generator_internal
