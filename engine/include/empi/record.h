// Copyright EMPI developers.
//
// record.h: one contributor record, as a feed delivers it.
//
// A Record is keyed by (source, record_id): `source` is the contributor's
// code (a GP practice code, "RKB", "RYA", ...), `record_id` the contributor's
// own identifier. A record seen again under the same key replaces the stored
// one. Field values are kept exactly as delivered (after the feed reader has
// put date_of_birth into ISO form), so an invalid NHS number or a malformed
// postcode stays on the record and is reported; the matchers decide what
// counts as evidence.
//
//   empi::Record r;
//   r.source = "RKB";
//   r.record_id = "K1234567";
//   r.family_name = "Nowak";
//   r.given_names = "Łukasz Piotr";
//   r.date_of_birth = "1984-03-07";
//
// Thread-safety: a plain value type.
#ifndef EMPI_RECORD_H_
#define EMPI_RECORD_H_

#include <string>
#include <string_view>

namespace empi {

struct Record {
  std::string source;
  std::string record_id;
  std::string nhs_number;  // as delivered; may be empty or invalid
  std::string family_name;
  std::string given_names;    // first, then middle names, space separated
  std::string date_of_birth;  // ISO YYYY-MM-DD, or empty; raw text if unparseable
  std::string sex;            // as delivered: M, F, U, male, female, ...
  std::string postcode;       // as delivered
  std::string address;
  bool restricted = false;  // address must never be shown in any output

  // The storage key: source, a NUL byte, record_id.
  std::string Key() const;

  friend bool operator==(const Record&, const Record&) = default;
};

// Why `r` cannot be a record, naming the field and never its value: a NUL
// byte in any field (keys are NUL-separated), or a field longer than any
// real system writes. The limits are several times the NHS Data Dictionary's
// (a name 35 characters, an address line 35, a postcode 8), so a real record
// is never refused, while a hostile one (a name of two million letters) is
// refused before it is stored, compared or used as a blocking key. Empty if
// the fields are fine. The feed reader quarantines such a row; Ingest refuses
// it.
std::string FieldProblem(const Record& r);

// Whether `source` has the shape of an ODS GP practice code: an upper-case
// letter and five digits ("M82001"). Trusts have three characters ("RKB"),
// councils their own codes.
bool IsGpPracticeCode(std::string_view source);

// Splits a key made by Record::Key() back into (source, record_id).
// Returns false if `key` holds no NUL separator.
bool SplitRecordKey(std::string_view key, std::string_view* source, std::string_view* record_id);

}  // namespace empi

#endif  // EMPI_RECORD_H_
