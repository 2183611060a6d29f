// Copyright EMPI developers.
//
// prepared_record.h: a record reduced to the features matching compares.
//
// Preparing a record does every expensive step once (ICU normalisation,
// phonetic keys, NHS number and postcode validation, date parsing), so that
// scoring a pair only compares small strings and integers. Scoring runs on
// millions of candidate pairs; preparing runs once per record.
//
//   PreparedRecord p = PrepareRecord(record, FieldConventions{});
//
// Thread-safety: PrepareRecord is thread-safe; PreparedRecord is a value.
#ifndef EMPI_LINKAGE_PREPARED_RECORD_H_
#define EMPI_LINKAGE_PREPARED_RECORD_H_

#include <cstdint>
#include <string>

#include "empi/record.h"
#include "engine/feed/mapping.h"  // FieldConventions

namespace empi {

enum class Sex : uint8_t { kUnknown = 0, kMale = 1, kFemale = 2 };

struct PreparedRecord {
  uint32_t source = 0;         // hash of the contributor code; 0: none
  bool practice = false;       // the contributor is a GP practice (IsGpPracticeCode)
  uint64_t nhs = 0;            // 0: missing or invalid
  bool nhs_validated = false;  // nhs passed the modulus-11 check
  // Validating (FieldConventions): the digits of a number that failed the
  // check, a keying slip on somebody's number; never a number in itself.
  uint64_t nhs_mistyped = 0;
  // The number is a relative's (NumberIsARelatives, safety.h), judged among
  // the records carrying it: it is compared as missing, and its record's
  // person is not held to it. Set by whoever sees those records (the batch
  // link and relink, the real-time ingest, explanations); false until then.
  bool nhs_relatives = false;
  // A valid number the record's person is held to: not a relative's.
  bool OwnNumber() const { return nhs_validated && !nhs_relatives; }
  // The contributor recorded no number at all, neither valid nor mistyped.
  bool Unnumbered() const { return nhs == 0 && nhs_mistyped == 0; }
  int32_t dob = 0;  // yyyymmdd; 0: missing, unparseable or placeholder
  // No date of birth and no number of its own: the record has only what a
  // household shares (a name, often a family's, an address, a sex).
  bool HouseholdEvidenceOnly() const { return dob == 0 && (nhs == 0 || nhs_relatives); }
  Sex sex = Sex::kUnknown;
  // The digits of a date of birth that names no day ("1971-13-19": a keying
  // slip, ParseImpossibleDate); 0 otherwise. Compared only as one slip or a
  // day-and-month swap from the other record's date (CompareDates), never
  // as a date: not blocked on, and missing to every safety rule.
  int32_t dob_impossible = 0;
  std::string family;          // normalised family name, parts joined
  std::string family_first;    // first part of a multi-part family name
  std::string family_last;     // last part; equal to family_first for one part
  std::string given1, given2;  // first and second given name tokens
  uint32_t family_dm = 0;      // Double Metaphone primary of `family`, packed
  uint32_t family_dm_alt = 0;  // Double Metaphone alternate
  uint32_t given_dm = 0;       // Double Metaphone primary of `given1`
  uint32_t given_dm_alt = 0;
  uint32_t given_group = 0;   // NameEquivalence::CanonicalGroup(given1)
  uint32_t given3 = 0;        // GivenNameKey of the third given name token; 0: none
  std::string postcode_unit;  // "CV1 2AB", or the raw text when not UK
  uint32_t postcode_sector = 0, postcode_district = 0, postcode_area = 0;  // hashes, 0: none
  std::string address;  // folded to ASCII, lower case, single spaces; empty for "no fixed abode" and the like
  // Hash of the address's first token that starts with a digit (the house
  // or flat number, "12a"); 0: none.
  uint32_t house_number = 0;
  // Term frequencies (share of records with the same value), filled by
  // Model::Annotate; 0 until then. For a record whose two names are each
  // more common in the other's field (entered swapped), the larger of the
  // name's frequencies in either field.
  float family_tf = 0, given_tf = 0;
  // For a swap with another record (the same two names, which is the
  // family name unknown): the larger of the two names' frequencies as a
  // family name, and as a given name.
  float swap_family_tf = 0, swap_given_tf = 0;
  float dob_tf = 0;  // an estimated date's frequency (Model::dob_tf); 0 for any other
};

PreparedRecord PrepareRecord(const Record& r, const FieldConventions& conventions);

// Packs the first four characters of a phonetic key into an integer
// (0 for an empty key).
uint32_t PackKey(std::string_view key);
// A hash of one given name token, never 0 (PreparedRecord::given3): a
// third given name, kept only to be compared.
uint32_t GivenNameKey(std::string_view token);

}  // namespace empi

#endif  // EMPI_LINKAGE_PREPARED_RECORD_H_
