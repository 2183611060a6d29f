// Copyright EMPI developers.
//
// generator.h: a synthetic regional population with known truth, for
// testing and measuring record linkage (docs/generator.md).
//
// Adults aged 18 to 100 live in households (couples, parents with adult
// children, shared houses, care homes) at real postcode districts of
// Coventry & Warwickshire, Birmingham & Solihull and Herefordshire &
// Worcestershire. Each person is registered at one GP practice and appears
// in up to five other contributors' feeds (acute trusts, the mental health
// trust, council social care, the ambulance service), each record with the
// contributor's own id format, date format and documented error rates.
// Hard cases (twins, parent and child with the same name, namesakes born
// weeks apart, junk records, marriage name changes, duplicate registrations,
// a twin whose records lack the NHS number, a relative's NHS number on a
// record, estimated dates of birth, Sikh and Muslim naming conventions,
// double-barrelled surnames in either order, persons with no NHS number)
// are made on purpose and listed.
//
//   empi::GeneratorOptions options;
//   options.persons = 100000;
//   options.seed = 7;
//   empi::GeneratorSummary summary;
//   absl::Status s = empi::Generate(options, "/tmp/gen", &summary);
//
// Output is a function of (persons, seed, error_scale) only: the thread
// count changes the speed, never a byte.
//
// Thread-safety: Generate and GeneratePopulation may run concurrently with
// each other on different output directories; each uses its own threads.
#ifndef EMPI_DATASETS_GENERATOR_GENERATOR_H_
#define EMPI_DATASETS_GENERATOR_GENERATOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace empi {

struct GeneratorOptions {
  // Behaviour.
  // Number of persons in the population. Must be at least 1 and at most
  // 50,000,000. Default: 100000.
  uint64_t persons = 100000;
  // Seed of every random choice. Default: 1.
  uint64_t seed = 1;
  // Multiplies every documented error rate (0 gives clean records apart
  // from the hard cases; rates are capped at 1). Default: 1.
  double error_scale = 1.0;

  // Performance.
  // Worker threads; 0 means one per core. Default: 0.
  int threads = 0;
  // Show a progress line on stderr when stderr is a terminal. Default: true.
  bool progress = true;
};

struct GeneratorSummary {
  uint64_t persons = 0;
  uint64_t records = 0;
  std::map<std::string, uint64_t> records_per_source;
  uint64_t objections = 0;
  double seconds = 0;
  // Persons listed per hard case, as in hard_cases.csv and manifest.json.
  std::map<std::string, uint64_t> hard_cases;
};

// The kinds of contributor, which set the error rates.
enum class SourceKind { kGp, kAcute, kMentalHealth, kSocialCare, kAmbulance };
inline constexpr int kNumSourceKinds = 5;

enum class DateFormat { kIso, kDayMonthYear, kCompact };  // YYYY-MM-DD, DD/MM/YYYY, YYYYMMDD

struct SourceInfo {
  std::string code;  // "RKB", "M84001", "CWC-SC"
  std::string name;  // "University Hospitals Coventry and Warwickshire"
  SourceKind kind;
  DateFormat date_format;
};

// Every contributor the generator writes, in file order.
const std::vector<SourceInfo>& GeneratorSources();

// Record errors, as bit indices: a record carries a bit set of them. Do not
// renumber: the names appear in manifest.json and docs/generator.md.
namespace error_kind {
inline constexpr int kNhsMissing = 0;
inline constexpr int kNhsMistyped = 1;
inline constexpr int kNameTypo = 2;
inline constexpr int kNickname = 3;
inline constexpr int kDiacriticsDropped = 4;
inline constexpr int kCaseNoise = 5;
inline constexpr int kNamesSwapped = 6;
inline constexpr int kMiddleAsFirst = 7;
inline constexpr int kDoubleBarrelCut = 8;
inline constexpr int kDobDayMonthSwap = 9;
inline constexpr int kDobDigitWrong = 10;
inline constexpr int kDobYearOff = 11;
inline constexpr int kDobPlaceholder = 12;
inline constexpr int kDobMissing = 13;
inline constexpr int kPostcodeNoSpace = 14;
inline constexpr int kPostcodeLower = 15;
inline constexpr int kPostcodeOutOfDate = 16;
inline constexpr int kPostcodeMissing = 17;
inline constexpr int kSexWrong = 18;
inline constexpr int kSexUnknown = 19;
// Added with the second set of hard cases (docs/generator.md).
inline constexpr int kNhsRelative = 20;
inline constexpr int kDobEstimated = 21;
inline constexpr int kNamingConvention = 22;
inline constexpr int kDoubleBarrelOrder = 23;
}  // namespace error_kind
inline constexpr int kNumErrorKinds = 24;

// "nhs_missing", "name_typo", ...
std::string_view ErrorKindName(int kind);
// The documented per-record rate of an error for a kind of contributor,
// before error_scale. Errors marked conditional in docs/generator.md
// (nickname, diacritics_dropped, middle_as_first, double_barrel_cut,
// dob_day_month_swap, nhs_relative, naming_convention, double_barrel_order)
// apply at this rate only to records where they can happen (a name with a
// known variant, with diacritics, with a middle name, a double-barrelled
// surname, a day of 12 or less that differs from the month, a person living
// with a relative who has an NHS number, a Sikh or Muslim name with two
// forms, a double-barrelled surname not cut to one part).
double ErrorRate(SourceKind kind, int error);
// Rate of a second registration of the same person in one contributor.
double DuplicateRate(SourceKind kind);

// Person-level hard-case rates (docs/generator.md, "Hard cases").
// Share of twin pairs in which one twin's records carry no NHS number
// (half of those in the non-GP feeds only, half in every feed); a record
// error, so multiplied by error_scale.
inline constexpr double kTwinNoNhsShare = 1.0 / 3;
// Share of persons with no NHS number on any record and no GP registration
// (recent arrivals, overseas visitors), by age; care-home residents and
// junk persons excepted. Population structure: not scaled.
inline constexpr double kNoNhsRateUnder50 = 0.010;  // aged 18 to 49
inline constexpr double kNoNhsRate50Plus = 0.003;

// The truth about one person. Dates are ISO (YYYY-MM-DD).
struct TruePerson {
  std::string id;             // "P0000001"
  std::string nhs_number;     // empty for junk persons
  std::string family_name;    // current
  std::string given_names;    // first then middle names
  std::string date_of_birth;  // empty for junk persons
  char sex = 'U';
  std::string postcode;  // current, "CV1 2AB"
  std::string address;
  std::string previous_postcode;  // before the last move
  std::string previous_address;
  std::string maiden_name;  // set when a marriage changed the surname
  // Sikh and Muslim naming: the other family name some contributors write
  // ("Sandhu" for a Kaur, "Kaur" for a Sandhu, the husband's surname for a
  // Begum); empty when the person has one form only.
  std::string other_family_name;
  bool restricted = false;
  std::vector<std::string> hard_cases;
};

struct GeneratedRecord {
  std::string source;
  std::string record_id;
  uint64_t person = 0;  // index into GeneratedPopulation::persons
  std::string nhs_number, family_name, given_names;
  std::string date_of_birth;  // as written in the file (source's format)
  std::string sex, postcode, address;
  bool restricted = false;
  uint32_t errors = 0;        // bit (1 << error_kind::k...) per error applied
  uint32_t eligible = 0;      // bit per error that could apply to this record
  bool old_identity = false;  // carries the maiden name and previous address
  bool duplicate = false;     // the second registration in this source
  // twin_no_nhs: the NHS number is left off every record of this twin in
  // this kind of feed (not an nhs_missing error).
  bool nhs_withheld = false;
};

struct Objection {
  uint64_t person = 0;
  std::string nhs_number, family_name, given_names, date_of_birth, postcode;
};

struct GeneratedPopulation {
  std::vector<TruePerson> persons;
  std::vector<GeneratedRecord> records;  // in file order within each source
  std::vector<Objection> objections;     // in objections.csv row order
};

// Writes the feeds, truth.csv, hard_cases.csv, objections.csv,
// objections_truth.csv and manifest.json into out_dir (created if missing;
// existing files of those names are replaced). Returns InvalidArgument for
// bad options and Internal/Unavailable naming the file on I/O failure.
// `summary` may be null.
[[nodiscard]] absl::Status Generate(const GeneratorOptions& options, const std::string& out_dir,
                                    GeneratorSummary* summary);

// The same population, in memory, with each record's applied errors: for
// tests and benchmarks on small populations.
[[nodiscard]] absl::Status GeneratePopulation(const GeneratorOptions& options, GeneratedPopulation* out);

}  // namespace empi

#endif  // EMPI_DATASETS_GENERATOR_GENERATOR_H_
