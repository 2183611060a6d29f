// Copyright EMPI developers.
//
// postcode.h: UK postcodes.
//
// Accepts any case and spacing ("cv12ab", "CV1  2AB"), validates the format
// (outward code A9, A99, AA9, AA99, A9A, AA9A; inward code 9AA, with the
// letters the Royal Mail never uses in the inward code excluded) and
// decomposes it:
//   "CV1 2AB": area "CV", district "CV1", sector "CV1 2", unit "CV1 2AB".
// ZZ99 codes (the NHS "no fixed abode / not known" pseudo-postcodes) are
// placeholders: ParsePostcode returns nullopt with *placeholder set.
//
// Thread-safety: pure functions.
#ifndef EMPI_MATCHERS_POSTCODE_H_
#define EMPI_MATCHERS_POSTCODE_H_

#include <optional>
#include <string>
#include <string_view>

namespace empi {

struct Postcode {
  std::string area;      // "CV"
  std::string district;  // "CV1"
  std::string sector;    // "CV1 2"
  std::string unit;      // "CV1 2AB", the normalised full postcode
};

// Returns the decomposed postcode, or nullopt when `raw` is empty, not a
// valid UK postcode, or a placeholder; `*placeholder` (if given) is set to
// whether it was a placeholder.
std::optional<Postcode> ParsePostcode(std::string_view raw, bool* placeholder = nullptr);

}  // namespace empi

#endif  // EMPI_MATCHERS_POSTCODE_H_
