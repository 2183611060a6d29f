// Copyright EMPI developers.
//
// The population is made in fixed chunks of kChunkPersons persons; chunk c
// draws every choice from Rng(seed, c), so output does not depend on how
// chunks are spread over threads. NHS numbers and record ids are keyed
// permutations of the person index, so they are unique without counters.
// Chunks are generated in parallel and written in order (TBB pipeline).
#include "datasets/generator/generator.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/csv.h"
#include "datasets/generator/random.h"
#include "datasets/generator/tables.h"
#include "datasets/generator/text.h"
#include "matchers/nhs_number.h"
#include "nlohmann/json.hpp"
#include "tbb/global_control.h"
#include "tbb/parallel_pipeline.h"

namespace empi {
namespace {

using generator_internal::Community;
using generator_internal::District;
using generator_internal::Permutation;
using generator_internal::Region;
using generator_internal::Rng;
using generator_internal::WeightedIndex;
namespace gi = generator_internal;

constexpr uint64_t kChunkPersons = 2048;
constexpr uint64_t kMaxPersons = 50'000'000;
constexpr int kReferenceYear = 2025;  // ages are taken on 1 January 2025
constexpr std::string_view kUnitLetters = "ABDEFGHJLNPQRSTUWXYZ";
constexpr std::string_view kFeedHeader =
    "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,"
    "postcode,address,restricted\n";

// ---------------------------------------------------------------- dates

struct Date {
  int y = 0, m = 0, d = 0;
  bool empty() const { return y == 0; }
  friend bool operator==(const Date&, const Date&) = default;
};

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}
bool Valid(const Date& d) { return d.y >= 1800 && d.m >= 1 && d.m <= 12 && d.d >= 1 && d.d <= DaysInMonth(d.y, d.m); }

// Days since 1970-01-01 (H. Hinnant's civil calendar algorithms).
int64_t DaysFromCivil(const Date& date) {
  int y = date.y - (date.m <= 2);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (date.m + (date.m > 2 ? -3 : 9)) + 2) / 5 + date.d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}
Date CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Date{static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

std::string FormatDate(const Date& d, DateFormat f) {
  if (d.empty()) return "";
  char buf[16];
  switch (f) {
    case DateFormat::kIso: std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", d.y, d.m, d.d); break;
    case DateFormat::kDayMonthYear: std::snprintf(buf, sizeof(buf), "%02d/%02d/%04d", d.d, d.m, d.y); break;
    case DateFormat::kCompact: std::snprintf(buf, sizeof(buf), "%04d%02d%02d", d.y, d.m, d.d); break;
  }
  return buf;
}

constexpr Date kPlaceholderDob{1900, 1, 1};

// ---------------------------------------------------------------- sources

struct SourceSpec {
  const char* code;
  const char* name;
  SourceKind kind;
  DateFormat format;
  const char* id_prefix;
  int id_digits;  // minimum; grows with the population
};

constexpr SourceSpec kHospitalSpecs[] = {
    {"RKB", "University Hospitals Coventry and Warwickshire", SourceKind::kAcute, DateFormat::kDayMonthYear, "K", 7},
    {"RLT", "George Eliot Hospital", SourceKind::kAcute, DateFormat::kCompact, "N", 7},
    {"RJC", "South Warwickshire University", SourceKind::kAcute, DateFormat::kIso, "SW", 7},
    {"RRK", "University Hospitals Birmingham", SourceKind::kAcute, DateFormat::kDayMonthYear, "RRK", 8},
    {"RWP", "Worcestershire Acute Hospitals", SourceKind::kAcute, DateFormat::kIso, "WA", 7},
    {"RYG", "Coventry and Warwickshire Partnership", SourceKind::kMentalHealth, DateFormat::kCompact, "MH", 8},
    {"CWC-SC", "Coventry City Council social care", SourceKind::kSocialCare, DateFormat::kDayMonthYear, "SC", 8},
    {"WCC-SC", "Warwickshire County Council social care", SourceKind::kSocialCare, DateFormat::kIso, "WSC", 7},
    {"BCC-SC", "Birmingham City Council social care", SourceKind::kSocialCare, DateFormat::kDayMonthYear, "BSC", 7},
    {"RYA", "West Midlands Ambulance Service", SourceKind::kAmbulance, DateFormat::kCompact, "RYA-", 6},
};
// Indices into the hospitals and councils after the GP practices.
namespace hospital {
inline constexpr int kRkb = 0;
inline constexpr int kRlt = 1;
inline constexpr int kRjc = 2;
inline constexpr int kRrk = 3;
inline constexpr int kRwp = 4;
inline constexpr int kRyg = 5;
inline constexpr int kCwcSc = 6;
inline constexpr int kWccSc = 7;
inline constexpr int kBccSc = 8;
inline constexpr int kRya = 9;
}  // namespace hospital
constexpr int kNumAcute = 5;

struct SourceTables {
  std::vector<SourceInfo> info;
  std::vector<std::string> id_prefix;
  std::vector<int> id_min_digits;
  int num_gp = 0;
};

const SourceTables& Sources() {
  static const SourceTables* t = [] {
    auto* t = new SourceTables;
    int i = 0;
    for (const auto& p : gi::Practices()) {
      t->info.push_back({p.code, "GP practice " + p.code, SourceKind::kGp,
                         i % 2 == 0 ? DateFormat::kIso : DateFormat::kDayMonthYear});
      t->id_prefix.push_back("");
      t->id_min_digits.push_back(7);
      ++i;
    }
    t->num_gp = i;
    for (const auto& s : kHospitalSpecs) {
      t->info.push_back({s.code, s.name, s.kind, s.format});
      t->id_prefix.push_back(s.id_prefix);
      t->id_min_digits.push_back(s.id_digits);
    }
    return t;
  }();
  return *t;
}

// ---------------------------------------------------------------- rates

// Rows: error_kind; columns: GP, acute, mental health, social care, ambulance.
constexpr double kRates[kNumErrorKinds][kNumSourceKinds] = {
    {0.005, 0.03, 0.05, 0.20, 0.35},     // nhs_missing
    {0.002, 0.008, 0.01, 0.02, 0.03},    // nhs_mistyped
    {0.01, 0.03, 0.03, 0.05, 0.08},      // name_typo
    {0.02, 0.05, 0.06, 0.10, 0.15},      // nickname (conditional)
    {0.30, 0.60, 0.60, 0.70, 0.80},      // diacritics_dropped (conditional)
    {0.01, 0.10, 0.05, 0.10, 0.20},      // case_noise
    {0.002, 0.005, 0.005, 0.01, 0.02},   // names_swapped
    {0.01, 0.02, 0.02, 0.03, 0.05},      // middle_as_first (conditional)
    {0.10, 0.25, 0.25, 0.30, 0.40},      // double_barrel_cut (conditional)
    {0.003, 0.01, 0.01, 0.02, 0.03},     // dob_day_month_swap (conditional)
    {0.002, 0.005, 0.005, 0.01, 0.02},   // dob_digit_wrong
    {0.002, 0.005, 0.005, 0.01, 0.02},   // dob_year_off
    {0.001, 0.003, 0.005, 0.01, 0.03},   // dob_placeholder
    {0.001, 0.005, 0.005, 0.02, 0.06},   // dob_missing
    {0.01, 0.05, 0.05, 0.10, 0.15},      // postcode_no_space
    {0.005, 0.02, 0.02, 0.05, 0.10},     // postcode_lower
    {0.01, 0.04, 0.04, 0.05, 0.08},      // postcode_out_of_date
    {0.002, 0.01, 0.01, 0.03, 0.12},     // postcode_missing
    {0.001, 0.003, 0.003, 0.005, 0.01},  // sex_wrong
    {0.002, 0.01, 0.02, 0.03, 0.08},     // sex_unknown
    // A household member's NHS number (conditional: lives with a relative
    // who has one). GP records are traced against the national register.
    {0.0, 0.002, 0.002, 0.005, 0.003},  // nhs_relative
    // 1 January (or 1 July) of a guessed year, for a patient who cannot say.
    {0.0005, 0.003, 0.002, 0.002, 0.008},  // dob_estimated
    // The other form of a Sikh or Muslim name (conditional: has two forms).
    {0.05, 0.30, 0.30, 0.35, 0.40},  // naming_convention
    // Double-barrelled parts reversed or unhyphenated (conditional).
    {0.02, 0.08, 0.08, 0.10, 0.12},  // double_barrel_order
};
constexpr double kDuplicateRates[kNumSourceKinds] = {0.005, 0.015, 0.01, 0.02, 0.02};

constexpr std::string_view kErrorNames[kNumErrorKinds] = {
    "nhs_missing",     "nhs_mistyped",         "name_typo",         "nickname",           "diacritics_dropped",
    "case_noise",      "names_swapped",        "middle_as_first",   "double_barrel_cut",  "dob_day_month_swap",
    "dob_digit_wrong", "dob_year_off",         "dob_placeholder",   "dob_missing",        "postcode_no_space",
    "postcode_lower",  "postcode_out_of_date", "postcode_missing",  "sex_wrong",          "sex_unknown",
    "nhs_relative",    "dob_estimated",        "naming_convention", "double_barrel_order"};

// ---------------------------------------------------------------- context

// Approximate mid-2022 England and Wales population (thousands) by
// five-year band starting at 15, 20, ..., 95; spread evenly within a band.
constexpr double kBandPopulation[] = {3300, 3600, 3900, 4000, 3950, 3800, 3700, 4000, 4050,
                                      3600, 3150, 3050, 2350, 1650, 1100, 560,  180};

// Share of each community among residents of each region (approximate,
// Census 2021 ethnic and country-of-birth mix).
constexpr double kCommunityMix[gi::kNumRegions][gi::kNumCommunities] = {
    // British Irish Welsh Muslim Sikh Hindu Polish African Caribbean Chinese
    {0.66, 0.03, 0.02, 0.06, 0.05, 0.05, 0.05, 0.05, 0.02, 0.01},    // Cov & Warks
    {0.50, 0.03, 0.01, 0.20, 0.04, 0.03, 0.04, 0.05, 0.06, 0.04},    // Birmingham
    {0.83, 0.02, 0.05, 0.02, 0.01, 0.01, 0.04, 0.01, 0.005, 0.005},  // Hereford & Worcs
};

// Common names given to unrelated namesakes born weeks apart.
struct Namesake {
  const char* given;
  const char* family;
  char sex;
  Community community;
};
constexpr Namesake kNamesakes[] = {
    {"Mohammed", "Khan", 'M', Community::kSouthAsianMuslim},
    {"Muhammad", "Hussain", 'M', Community::kSouthAsianMuslim},
    {"Mohammed", "Ali", 'M', Community::kSouthAsianMuslim},
    {"Fatima", "Begum", 'F', Community::kSouthAsianMuslim},
    {"Gurpreet", "Singh", 'M', Community::kSikh},
    {"John", "Smith", 'M', Community::kBritish},
    {"David", "Jones", 'M', Community::kBritish},
    {"Sarah", "Smith", 'F', Community::kBritish},
    {"Margaret", "Jones", 'F', Community::kBritish},
    {"Piotr", "Nowak", 'M', Community::kPolish},
};

struct Context {
  explicit Context(const GeneratorOptions& o) : options(o), n(o.persons) {
    const SourceTables& st = Sources();
    uint64_t key = gi::Mix(o.seed, 0x1d5);
    for (size_t s = 0; s < st.info.size(); ++s) {
      // Slots are dup * n + person, so the id space must hold 2n.
      int digits = st.id_min_digits[s];
      uint64_t space = 1;
      for (int i = 0; i < digits; ++i) space *= 10;
      const bool ambulance = s == static_cast<size_t>(st.num_gp + hospital::kRya);
      uint64_t mult = ambulance ? 7 : 1;  // ambulance ids also encode a year
      while (space * mult < 2 * n) {
        space *= 10;
        ++digits;
      }
      id_digits.push_back(digits);
      id_perm.emplace_back(space * mult, gi::Mix(key, s));
    }
    nhs_perm = std::make_unique<Permutation>(100'000'000, gi::Mix(o.seed, 0x2b5));
    std::vector<double> ages;
    for (int a = 18; a <= 100; ++a) {
      int band = std::min<int>((a - 15) / 5, std::size(kBandPopulation) - 1);
      ages.push_back(kBandPopulation[band] / (band == 16 ? 6 : 5));
    }
    age_weights = WeightedIndex(ages);
    for (int r = 0; r < gi::kNumRegions; ++r) {
      std::vector<double> w;
      for (const District& d : gi::Districts()) {
        w.push_back(static_cast<int>(d.region) == r ? d.weight : 0.0);
      }
      districts_in_region[r] = WeightedIndex(w);
      community[r] = WeightedIndex(std::vector<double>(std::begin(kCommunityMix[r]), std::end(kCommunityMix[r])));
      for (size_t p = 0; p < gi::Practices().size(); ++p) {
        if (static_cast<int>(gi::Practices()[p].region) == r) practices_in_region[r].push_back(p);
      }
    }
    // Birmingham & Solihull and Black Country districts hold about 45% of
    // the residents, Coventry & Warwickshire 35%, Hereford & Worcester 20%.
    region = WeightedIndex({0.35, 0.45, 0.20});
    for (int c = 0; c < gi::kNumCommunities; ++c) {
      // Minority communities' surnames are more concentrated (Khan, Singh).
      surname[c] = Zipf(gi::Surnames(static_cast<Community>(c)).size(), c == 0 ? 15 : 4);
    }
    tail_count = gi::SurnamePrefixes().size() * gi::SurnameSuffixes().size() * (1 + gi::SurnameMiddles().size());
    tail = Zipf(tail_count, 40);
    tail_perm = std::make_unique<Permutation>(tail_count, 0x7a11);
  }

  static WeightedIndex Zipf(size_t n, double offset) {
    std::vector<double> w(n);
    for (size_t r = 0; r < n; ++r) w[r] = 1.0 / (static_cast<double>(r) + offset);
    return WeightedIndex(w);
  }

  // Weighted index for a ranked given-name list, built on first use per
  // list; lists are few and fixed so a small cache under a lock is enough.
  const WeightedIndex& GivenWeights(const std::vector<std::string>* list) const {
    std::lock_guard<std::mutex> lock(given_mu);
    auto it = given.find(list);
    if (it == given.end()) it = given.emplace(list, Zipf(list->size(), 3)).first;
    return it->second;
  }

  double Rate(SourceKind k, int e) const { return std::min(1.0, kRates[e][static_cast<int>(k)] * options.error_scale); }

  GeneratorOptions options;
  uint64_t n;
  std::vector<int> id_digits;
  std::vector<Permutation> id_perm;
  std::unique_ptr<Permutation> nhs_perm;
  WeightedIndex age_weights;
  WeightedIndex region;
  WeightedIndex districts_in_region[gi::kNumRegions];
  WeightedIndex community[gi::kNumRegions];
  std::vector<size_t> practices_in_region[gi::kNumRegions];
  WeightedIndex surname[gi::kNumCommunities];
  size_t tail_count;
  WeightedIndex tail;
  std::unique_ptr<Permutation> tail_perm;
  mutable std::mutex given_mu;
  mutable std::map<const std::vector<std::string>*, WeightedIndex> given;
};

std::string NhsNumberFor(const Context& ctx, uint64_t index) {
  // Eight permuted digits after a leading 4 or 6; for any tail at most one
  // of the two leads lacks a check digit (their weighted sums differ mod 11),
  // so the other is used and numbers stay unique.
  uint64_t x = (*ctx.nhs_perm)(index);
  // Room for any uint64_t (the compiler cannot see that x < 10^8); only
  // the first nine characters are used.
  char nine[24];
  std::snprintf(nine, sizeof(nine), "4%08llu", static_cast<unsigned long long>(x));
  if ((gi::Mix(x, 46) & 1) != 0) nine[0] = '6';
  if (NhsCheckDigit(std::string_view(nine, 9)) < 0) nine[0] = nine[0] == '4' ? '6' : '4';
  return std::string(nine, 9) + static_cast<char>('0' + NhsCheckDigit(std::string_view(nine, 9)));
}

std::string RecordId(const Context& ctx, size_t source, uint64_t person, int dup) {
  const SourceTables& st = Sources();
  uint64_t v = ctx.id_perm[source](static_cast<uint64_t>(dup) * ctx.n + person);
  const int digits = ctx.id_digits[source];
  char buf[40];
  if (source == static_cast<size_t>(st.num_gp + hospital::kRya)) {
    std::snprintf(buf, sizeof(buf), "RYA-%d-%0*llu", 2018 + static_cast<int>(v % 7), digits,
                  static_cast<unsigned long long>(v / 7));
    return buf;
  }
  std::snprintf(buf, sizeof(buf), "%s%0*llu", st.id_prefix[source].c_str(), digits, static_cast<unsigned long long>(v));
  return buf;
}

// ---------------------------------------------------------------- people

struct Address {
  std::string postcode;  // "CV32 5AB"
  std::string line;      // "12 Station Road, Leamington Spa"
  size_t district = 0;
  Region region = Region::kCoventryWarwickshire;
};

struct Person {
  TruePerson truth;
  uint64_t index = 0;
  Community community = Community::kBritish;
  Date dob;
  std::string first;
  std::vector<std::string> middles;
  Address home, previous;
  size_t practice = 0;
  bool junk = false;
  bool care_home = false;
  // Relatives in the same household (chunk-local indices): spouse,
  // parents, children, twin. Households never cross a chunk.
  std::vector<size_t> kin;
  // Sikh and Muslim naming: the religious name or title (Kaur, Singh,
  // Begum, Khatun) and the family surname, set only when the person has
  // both; truth.family_name is one of them.
  std::string title, surname;
  bool no_nhs = false;  // no_nhs_anywhere
  // twin_no_nhs: the feeds that leave the NHS number off this twin's records.
  enum class Withheld { kNone, kNonGp, kAll } withheld = Withheld::kNone;
};

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

std::string PolishGendered(const std::string& surname, char sex) {
  auto ends = [&](std::string_view s) {
    return surname.size() > s.size() && surname.compare(surname.size() - s.size(), s.size(), s) == 0;
  };
  if (sex == 'F' && (ends("ski") || ends("cki"))) return surname.substr(0, surname.size() - 1) + "a";
  if (sex == 'M' && (ends("ska") || ends("cka"))) return surname.substr(0, surname.size() - 1) + "i";
  return surname;
}

struct ChunkData {
  std::vector<Person> persons;
  std::vector<GeneratedRecord> records;
  std::vector<Objection> objections;
  // Formatted output (only when writing files).
  std::vector<std::string> feed_text;
  std::string truth_text, hard_text;
};

class ChunkGenerator {
 public:
  ChunkGenerator(const Context& ctx, uint64_t chunk)
      : ctx_(ctx),
        rng_(ctx.options.seed, chunk),
        base_(chunk * kChunkPersons),
        count_(std::min<uint64_t>(kChunkPersons, ctx.n - chunk * kChunkPersons)) {}

  void Run(ChunkData* out) {
    out_ = out;
    out->persons.reserve(count_);
    while (out->persons.size() < count_) MakeHousehold();
    // no_nhs_anywhere: recent arrivals and overseas visitors, mostly young
    // adults. Decided before any record is made, since a relative's
    // record may borrow a number.
    for (Person& p : out->persons) {
      if (p.junk) continue;
      const double u = rng_.Uniform();
      const int age = kReferenceYear - 1 - p.dob.y;
      p.no_nhs = !p.care_home && u < (age < 50 ? kNoNhsRateUnder50 : kNoNhsRate50Plus);
    }
    for (Person& p : out->persons) EmitRecords(p);
    for (Person& p : out->persons) {
      if (!p.junk && rng_.Bernoulli(0.02)) EmitObjection(p);
    }
  }

 private:
  size_t Remaining() const { return count_ - out_->persons.size(); }

  Address RandomAddress(Region region) {
    Address a;
    a.region = region;
    a.district = ctx_.districts_in_region[static_cast<int>(region)].Sample(rng_);
    const District& d = gi::Districts()[a.district];
    a.postcode = absl::StrCat(d.code, " ", rng_.Below(10), std::string(1, kUnitLetters[rng_.Below(20)]),
                              std::string(1, kUnitLetters[rng_.Below(20)]));
    // One street per postcode unit, as in life.
    const auto& streets = gi::StreetNames();
    const std::string& street = streets[Fnv1a(a.postcode) % streets.size()];
    int number = 1 + static_cast<int>(rng_.Below(rng_.Bernoulli(0.7) ? 120 : 400));
    if (rng_.Bernoulli(0.12)) {
      a.line = absl::StrCat("Flat ", 1 + rng_.Below(24), ", ", number, " ", street, ", ", d.town);
    } else {
      a.line = absl::StrCat(number, " ", street, ", ", d.town);
    }
    return a;
  }

  Address HomeAddress() { return RandomAddress(static_cast<Region>(ctx_.region.Sample(rng_))); }

  int SampleAge(int lo, int hi) {
    for (int attempt = 0; attempt < 64; ++attempt) {
      int a = 18 + static_cast<int>(ctx_.age_weights.Sample(rng_));
      if (a >= lo && a <= hi) return a;
    }
    return rng_.UniformInt(lo, hi);
  }

  Date DobForAge(int age) {
    int y = kReferenceYear - 1 - age;
    int m = rng_.UniformInt(1, 12);
    return Date{y, m, rng_.UniformInt(1, DaysInMonth(y, m))};
  }

  Community CommunityFor(Region r) { return static_cast<Community>(ctx_.community[static_cast<int>(r)].Sample(rng_)); }

  std::string SyntheticSurname() {
    uint64_t k = (*ctx_.tail_perm)(ctx_.tail.Sample(rng_));
    const auto& pre = gi::SurnamePrefixes();
    const auto& mid = gi::SurnameMiddles();
    const auto& suf = gi::SurnameSuffixes();
    std::string s = pre[k % pre.size()];
    k /= pre.size();
    size_t m = k % (mid.size() + 1);
    k /= mid.size() + 1;
    if (m > 0) s += mid[m - 1];
    return s + suf[k % suf.size()];
  }

  static bool HasTail(Community c) {
    return c == Community::kBritish || c == Community::kIrish || c == Community::kWelsh;
  }

  std::string OneSurname(Community c) {
    if (HasTail(c) && rng_.Bernoulli(0.35)) return SyntheticSurname();
    const auto& list = gi::Surnames(c);
    return list[ctx_.surname[static_cast<int>(c)].Sample(rng_)];
  }

  // A family surname; 1.5% of British, Irish and Welsh families join two
  // (Chadanhurst-Smith), besides the double-barrelled names in the lists.
  std::string Surname(Community c) {
    std::string s = OneSurname(c);
    if (HasTail(c) && rng_.Bernoulli(0.015) && s.find('-') == std::string::npos) {
      std::string second = OneSurname(c);
      if (second != s && second.find('-') == std::string::npos) s += "-" + second;
    }
    return s;
  }

  static bool IsTitle(std::string_view s) {
    return s == "Kaur" || s == "Singh" || s == "Begum" || s == "Khatun" || s == "Bibi";
  }

  // A surname of community `c` that is not Kaur, Singh, Begum, Khatun or
  // Bibi: the household's when it has one.
  std::string FamilySurname(Community c) {
    if (!kin_family_.empty() && !IsTitle(kin_family_)) return kin_family_;
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::string s = OneSurname(c);
      if (!IsTitle(s)) return s;
    }
    return c == Community::kSikh ? "Sandhu" : "Khan";
  }

  // Sikh and Muslim naming conventions (docs/generator.md): a Sikh uses
  // Kaur or Singh and usually a family surname too, either of which a
  // contributor may write as the family name; a Muslim woman may be
  // Begum or Khatun in one system and carry her husband's or family's
  // surname in another.
  void NamingForms(Person& p, int age) {
    const std::string& family = p.truth.family_name;
    if (p.community == Community::kSikh) {
      const std::string title = p.truth.sex == 'F' ? "Kaur" : "Singh";
      if (family == title) {
        std::string s = FamilySurname(Community::kSikh);
        if (rng_.Bernoulli(0.75)) {
          p.title = title;
          p.surname = std::move(s);
        }
      } else if (!IsTitle(family) && rng_.Bernoulli(0.8)) {
        p.title = title;
        p.surname = family;
      }
    } else if (p.community == Community::kSouthAsianMuslim && p.truth.sex == 'F') {
      if (family == "Begum" || family == "Khatun") {
        std::string s = FamilySurname(Community::kSouthAsianMuslim);
        if (!kin_family_.empty() || rng_.Bernoulli(0.5)) {
          p.title = family;
          p.surname = std::move(s);
        }
      } else if (!IsTitle(family) && age >= 20 && rng_.Bernoulli(0.15)) {
        p.title = rng_.Bernoulli(0.75) ? "Begum" : "Khatun";
        p.surname = family;
      }
    }
    if (!p.title.empty()) {
      p.truth.other_family_name = family == p.title ? p.surname : p.title;
    }
  }

  // Marks persons [first, end of chunk) as one family.
  void Kin(size_t first) {
    auto& persons = out_->persons;
    for (size_t i = first; i < persons.size(); ++i) {
      for (size_t j = first; j < persons.size(); ++j) {
        if (i != j) persons[i].kin.push_back(j);
      }
    }
  }

  // The surname a person of this community and sex uses, given the
  // family's: Sikh men and women often use Singh and Kaur, Polish surnames
  // take the feminine -ska form.
  std::string PersonalSurname(const std::string& family, Community c, char sex) {
    if (c == Community::kSikh && (rng_.Bernoulli(0.4) || family == "Singh" || family == "Kaur")) {
      return sex == 'F' ? "Kaur" : "Singh";
    }
    if (c == Community::kSouthAsianMuslim && sex == 'F' && rng_.Bernoulli(0.16)) {
      return rng_.Bernoulli(0.75) ? "Begum" : "Khatun";
    }
    if (c == Community::kPolish) return PolishGendered(family, sex);
    return family;
  }

  std::string GivenName(Community c, char sex, int year, std::string_view avoid = "") {
    const auto& list = gi::GivenNames(c, sex, year);
    const WeightedIndex& w = ctx_.GivenWeights(&list);
    for (int attempt = 0; attempt < 8; ++attempt) {
      const std::string& g = list[w.Sample(rng_)];
      if (g != avoid) return g;
    }
    return list[0] == avoid ? list[1] : list[0];
  }

  Person& AddPerson(Community c, char sex, const Date& dob, const std::string& family, const Address& home,
                    size_t practice) {
    Person& p = out_->persons.emplace_back();
    p.index = base_ + out_->persons.size() - 1;
    p.community = c;
    p.truth.sex = sex;
    p.dob = dob;
    p.first = GivenName(c, sex, dob.y);
    if (rng_.Bernoulli(0.5)) {
      p.middles.push_back(GivenName(rng_.Bernoulli(0.85) ? c : Community::kBritish, sex, dob.y, p.first));
      if (rng_.Bernoulli(0.1)) p.middles.push_back(GivenName(c, sex, dob.y, p.middles[0]));
    }
    p.truth.family_name = family;
    p.home = home;
    p.previous = RandomAddress(rng_.Bernoulli(0.8) ? home.region : static_cast<Region>(ctx_.region.Sample(rng_)));
    p.practice = rng_.Bernoulli(0.9) ? practice : PracticeFor(home.region);
    p.truth.restricted = rng_.Bernoulli(0.002);
    NamingForms(p, kReferenceYear - 1 - dob.y);
    return p;
  }

  size_t PracticeFor(Region r) {
    const auto& list = ctx_.practices_in_region[static_cast<int>(r)];
    return list[rng_.Below(list.size())];
  }

  char RandomSex() { return rng_.Bernoulli(0.5) ? 'M' : 'F'; }

  void MakeHousehold() {
    const size_t left = Remaining();
    kin_family_.clear();
    double u = rng_.Uniform();
    if (left >= 45 && u < 0.006) return CareHome();
    if (left >= 6) {
      if (u < 0.010) return Twins();
      if (u < 0.014) return ParentChildSameName();
      if (u < 0.017) return Namesakes();
      if (u < 0.021) return Junk();
      if (u < 0.09) return SharedHouse(std::min<size_t>(left, 3 + rng_.Below(3)));
      if (u < 0.27) return Family();
      if (u < 0.62) return Couple();
    }
    Single();
  }

  void Single() {
    Address home = HomeAddress();
    Community c = CommunityFor(home.region);
    char sex = RandomSex();
    AddPerson(c, sex, DobForAge(SampleAge(18, 100)), PersonalSurname(Surname(c), c, sex), home,
              PracticeFor(home.region));
  }

  void SharedHouse(size_t n) {
    Address home = HomeAddress();
    size_t practice = PracticeFor(home.region);
    for (size_t i = 0; i < n; ++i) {
      Community c = CommunityFor(home.region);
      char sex = RandomSex();
      AddPerson(c, sex, DobForAge(SampleAge(19, 35)), PersonalSurname(Surname(c), c, sex), home, practice);
    }
  }

  // A couple sharing the husband's surname in most cases. Some wives
  // married recently: their older records carry the maiden name and the
  // address they lived at before.
  void Couple() {
    Address home = HomeAddress();
    Community c = CommunityFor(home.region);
    size_t practice = PracticeFor(home.region);
    std::string family = Surname(c);
    kin_family_ = family;
    const size_t first = out_->persons.size();
    int age = SampleAge(20, 96);
    AddPerson(c, 'M', DobForAge(age), PersonalSurname(family, c, 'M'), home, practice);
    int age2 = std::clamp(age + rng_.UniformInt(-6, 4), 18, 100);
    bool shared = rng_.Bernoulli(0.8);
    std::string her = shared ? PersonalSurname(family, c, 'F') : PersonalSurname(Surname(c), c, 'F');
    Person& b = AddPerson(c, 'F', DobForAge(age2), her, home, practice);
    if (shared && age2 < 60 && rng_.Bernoulli(0.25)) {
      b.truth.maiden_name = PersonalSurname(Surname(c), c, 'F');
      if (b.truth.maiden_name == b.truth.family_name) b.truth.maiden_name.clear();
    }
    Kin(first);
  }

  // One or two parents with one to three adult children.
  void Family() {
    Address home = HomeAddress();
    Community c = CommunityFor(home.region);
    size_t practice = PracticeFor(home.region);
    std::string family = Surname(c);
    kin_family_ = family;
    const size_t first = out_->persons.size();
    int children = 1 + static_cast<int>(rng_.Below(3));
    int eldest = SampleAge(18, 45);
    int parent_age = std::min(100, eldest + rng_.UniformInt(20, 38));
    bool two_parents = rng_.Bernoulli(0.6);
    bool father = two_parents || rng_.Bernoulli(0.3);
    if (father) {
      AddPerson(c, 'M', DobForAge(parent_age), PersonalSurname(family, c, 'M'), home, practice);
    }
    if (two_parents || !father) {
      AddPerson(c, 'F', DobForAge(std::clamp(parent_age + rng_.UniformInt(-5, 3), 38, 100)),
                PersonalSurname(family, c, 'F'), home, practice);
    }
    for (int i = 0; i < children && Remaining() > 0; ++i) {
      int age = std::max(18, eldest - i * rng_.UniformInt(1, 4));
      char sex = RandomSex();
      AddPerson(c, sex, DobForAge(age), PersonalSurname(family, c, sex), home, practice);
    }
    Kin(first);
  }

  void CareHome() {
    Region region = static_cast<Region>(ctx_.region.Sample(rng_));
    Address site = RandomAddress(region);
    const auto& homes = gi::CareHomeNames();
    std::string name = homes[rng_.Below(homes.size())];
    site.line = absl::StrCat(name, ", ", site.line.substr(site.line.find_first_of("0123456789")));
    size_t practice = PracticeFor(region);
    int residents = rng_.UniformInt(15, 40);
    for (int i = 0; i < residents; ++i) {
      Community c = CommunityFor(region);
      char sex = rng_.Bernoulli(0.7) ? 'F' : 'M';
      Person& p = AddPerson(c, sex, DobForAge(SampleAge(70, 100)), PersonalSurname(Surname(c), c, sex), site, practice);
      p.care_home = true;
      p.practice = practice;
    }
  }

  void Twins() {
    Address home = HomeAddress();
    Community c = CommunityFor(home.region);
    size_t practice = PracticeFor(home.region);
    std::string family = Surname(c);
    kin_family_ = family;
    const size_t first = out_->persons.size();
    int age = SampleAge(18, 45);
    Date dob = DobForAge(age);
    if (rng_.Bernoulli(0.4)) {
      AddPerson(c, 'F', DobForAge(std::min(100, age + rng_.UniformInt(20, 38))), PersonalSurname(family, c, 'F'), home,
                practice);
    }
    char sex1 = RandomSex();
    char sex2 = rng_.Bernoulli(0.6) ? sex1 : (sex1 == 'M' ? 'F' : 'M');
    std::string family1 = PersonalSurname(family, c, sex1);
    std::string family2 = sex2 == sex1 ? family1 : PersonalSurname(family, c, sex2);
    AddPerson(c, sex1, dob, family1, home, practice);
    const size_t ia = out_->persons.size() - 1;
    Person& b = AddPerson(c, sex2, dob, family2, home, practice);
    Person& a2 = out_->persons[ia];
    if (sex1 == sex2 && rng_.Bernoulli(0.3)) {
      const auto& pairs = gi::SimilarNamePairs(sex1);
      const auto& pair = pairs[rng_.Below(pairs.size())];
      a2.first = pair.first;
      b.first = pair.second;
    } else if (a2.first == b.first) {
      b.first = GivenName(c, sex2, dob.y, a2.first);
    }
    b.practice = a2.practice;
    a2.truth.hard_cases.push_back("twin");
    b.truth.hard_cases.push_back("twin");
    // twin_no_nhs: in a third of pairs one twin's records carry no NHS
    // number (a record error, so scaled; the draws are made whatever the
    // scale so that the population itself does not change with it).
    const double u = rng_.Uniform();
    const bool second = rng_.Bernoulli(0.5);
    const bool all_feeds = rng_.Bernoulli(0.5);
    if (u < std::min(1.0, kTwinNoNhsShare * ctx_.options.error_scale)) {
      (second ? b : a2).withheld = all_feeds ? Person::Withheld::kAll : Person::Withheld::kNonGp;
    }
    Kin(first);
  }

  void ParentChildSameName() {
    Address home = HomeAddress();
    Community c = CommunityFor(home.region);
    size_t practice = PracticeFor(home.region);
    char sex = rng_.Bernoulli(0.8) ? 'M' : 'F';
    std::string family = PersonalSurname(Surname(c), c, sex);
    kin_family_ = family;
    const size_t first = out_->persons.size();
    int child_age = SampleAge(18, 50);
    int parent_age = std::min(100, child_age + rng_.UniformInt(19, 40));
    AddPerson(c, sex, DobForAge(parent_age), family, home, practice);
    const size_t ip = out_->persons.size() - 1;
    Person& child = AddPerson(c, sex, DobForAge(child_age), family, home, practice);
    Person& parent = out_->persons[ip];
    child.first = parent.first;
    child.middles = rng_.Bernoulli(0.5) ? parent.middles : std::vector<std::string>{};
    child.practice = parent.practice;
    parent.truth.hard_cases.push_back("parent_child_same_name");
    child.truth.hard_cases.push_back("parent_child_same_name");
    Kin(first);
  }

  void Namesakes() {
    const Namesake& ns = kNamesakes[rng_.Below(std::size(kNamesakes))];
    Date dob = DobForAge(SampleAge(18, 80));
    for (int i = 0; i < 2; ++i) {
      Address home = HomeAddress();
      Date d = i == 0 ? dob : CivilFromDays(DaysFromCivil(dob) + rng_.UniformInt(1, 42));
      Person& p = AddPerson(ns.community, ns.sex, d, ns.family, home, PracticeFor(home.region));
      p.first = ns.given;
      p.truth.hard_cases.push_back("common_name_close_dob");
    }
  }

  void Junk() {
    Person& p = out_->persons.emplace_back();
    p.index = base_ + out_->persons.size() - 1;
    p.junk = true;
    p.truth.family_name = rng_.Bernoulli(0.5) ? "PATIENT" : "UNKNOWN";
    p.first = "UNKNOWN";
    p.truth.sex = 'U';
    p.home = HomeAddress();
    p.truth.hard_cases.push_back("junk");
  }

  // ------------------------------------------------------------ records

  // The acute trust that serves `p`'s district.
  static int LocalAcute(const Person& p) {
    const District& d = gi::Districts()[p.home.district];
    switch (p.home.region) {
      case Region::kCoventryWarwickshire: {
        int num = std::atoi(d.code.c_str() + 2);
        bool cv = d.code.rfind("CV", 0) == 0;
        return cv && (num <= 7 || (num >= 21 && num <= 23)) ? hospital::kRkb
               : cv && num >= 9 && num <= 13                ? hospital::kRlt
                                                            : hospital::kRjc;
      }
      case Region::kBirminghamSolihull: return hospital::kRrk;
      default: return hospital::kRwp;
    }
  }

  // The non-GP feeds `p` appears in: 0 to 5, about 2.3 on average and more
  // with age, so that with the GP record and duplicate registrations a
  // person has ~3.3 records (the regional brief: 3M adults, ~10M records).
  // docs/generator.md lists the probabilities.
  std::vector<size_t> ChooseSources(const Person& p) {
    const SourceTables& st = Sources();
    const size_t h = st.num_gp;
    std::vector<size_t> out;
    const int age = kReferenceYear - 1 - p.dob.y;
    const double f = (age - 18) / 82.0;
    const District& d = gi::Districts()[p.home.district];
    const int local = LocalAcute(p);
    for (int a = 0; a < kNumAcute; ++a) {
      double prob = a == local ? 0.75 + 0.2 * f : 0.12 + 0.2 * f;
      if (rng_.Bernoulli(prob)) out.push_back(h + a);
    }
    if (rng_.Bernoulli(p.home.region == Region::kCoventryWarwickshire ? 0.15 + 0.15 * f : 0.04 + 0.04 * f)) {
      out.push_back(h + hospital::kRyg);
    }
    int council = -1;
    if (p.home.region == Region::kCoventryWarwickshire) {
      council = d.coventry ? hospital::kCwcSc : hospital::kWccSc;
    } else if (d.town == "Birmingham") {
      council = hospital::kBccSc;
    }
    double sc = p.care_home ? 0.95 : age >= 80 ? 0.5 : age >= 65 ? 0.2 : 0.05;
    if (council >= 0 && rng_.Bernoulli(sc)) out.push_back(h + council);
    if (rng_.Bernoulli(p.care_home ? 0.8 : 0.35 + 0.55 * std::pow(f, 1.5))) out.push_back(h + hospital::kRya);
    while (out.size() > 5) out.erase(out.begin() + rng_.Below(out.size()));
    return out;
  }

  void EmitRecords(Person& p) {
    const SourceTables& st = Sources();
    p.truth.id = absl::StrFormat("P%07llu", static_cast<unsigned long long>(p.index + 1));
    if (p.junk) return EmitJunk(p);
    if (!p.no_nhs) p.truth.nhs_number = NhsNumberFor(ctx_, p.index);
    p.truth.given_names = GivenNames(p.first, p.middles);
    p.truth.date_of_birth = FormatDate(p.dob, DateFormat::kIso);
    p.truth.postcode = p.home.postcode;
    p.truth.address = p.home.line;
    p.truth.previous_postcode = p.previous.postcode;
    p.truth.previous_address = p.previous.line;
    std::vector<size_t> sources = ChooseSources(p);
    if (p.no_nhs) {
      // Not registered with a GP (registration would allocate a number);
      // seen at least once, by the local acute trust.
      if (sources.empty()) sources.push_back(st.num_gp + LocalAcute(p));
    } else {
      sources.insert(sources.begin(), p.practice);
    }
    const size_t first_record = out_->records.size();
    bool any_dup = false, any_old = false;
    for (size_t s : sources) {
      const SourceKind kind = st.info[s].kind;
      const int copies =
          rng_.Bernoulli(std::min(1.0, kDuplicateRates[static_cast<int>(kind)] * ctx_.options.error_scale)) ? 2 : 1;
      for (int dup = 0; dup < copies; ++dup) {
        bool old = !p.truth.maiden_name.empty() && kind != SourceKind::kGp && rng_.Bernoulli(0.5);
        any_old |= old;
        any_dup |= dup > 0;
        MakeRecord(p, s, dup, old);
      }
    }
    if (any_old) p.truth.hard_cases.push_back("marriage_name_change");
    if (!p.truth.maiden_name.empty() && !any_old) p.truth.maiden_name.clear();
    if (any_dup) p.truth.hard_cases.push_back("duplicate_registration");
    uint32_t errors = 0;
    bool withheld = false;
    for (size_t i = first_record; i < out_->records.size(); ++i) {
      errors |= out_->records[i].errors;
      withheld |= out_->records[i].nhs_withheld;
    }
    if (withheld) p.truth.hard_cases.push_back("twin_no_nhs");
    if (errors & (1u << error_kind::kNhsRelative)) p.truth.hard_cases.push_back("relative_nhs_number");
    if (errors & (1u << error_kind::kDobEstimated)) p.truth.hard_cases.push_back("estimated_dob");
    if (errors & (1u << error_kind::kNamingConvention)) p.truth.hard_cases.push_back("sikh_muslim_naming");
    if (errors & (1u << error_kind::kDoubleBarrelOrder)) p.truth.hard_cases.push_back("double_barrel_order");
    if (p.no_nhs) p.truth.hard_cases.push_back("no_nhs_anywhere");
  }

  // 1 January (sometimes 1 July) of a year guessed within five years.
  Date EstimatedDob(const Date& d) {
    const int year = std::min(d.y + rng_.UniformInt(-5, 5), kReferenceYear - 17);
    Date e{year, rng_.Bernoulli(0.85) ? 1 : 7, 1};
    if (e == d) e.m = e.m == 1 ? 7 : 1;
    return e;
  }

  // The NHS number of a relative living with `p`, or empty if none has one.
  std::string RelativeNhsNumber(const Person& p) {
    std::vector<uint64_t> with_number;
    for (size_t k : p.kin) {
      const Person& q = out_->persons[k];
      if (!q.junk && !q.no_nhs) with_number.push_back(q.index);
    }
    if (with_number.empty()) return "";
    return NhsNumberFor(ctx_, with_number[rng_.Below(with_number.size())]);
  }

  static std::string GivenNames(const std::string& first, const std::vector<std::string>& middles) {
    std::string s = first;
    for (const auto& m : middles) absl::StrAppend(&s, " ", m);
    return s;
  }

  void EmitJunk(Person& p) {
    const SourceTables& st = Sources();
    size_t s = st.num_gp + (rng_.Bernoulli(0.6) ? uint64_t{hospital::kRya} : rng_.Below(kNumAcute));
    GeneratedRecord& r = out_->records.emplace_back();
    r.source = st.info[s].code;
    r.record_id = RecordId(ctx_, s, p.index, 0);
    r.person = p.index;
    r.family_name = p.truth.family_name;
    r.given_names = p.first;
    p.truth.given_names = p.first;
    r.date_of_birth = rng_.Bernoulli(0.7) ? FormatDate(kPlaceholderDob, st.info[s].date_format) : "";
    r.sex = rng_.Bernoulli(0.5) ? "U" : "";
    if (rng_.Bernoulli(0.5)) r.postcode = p.home.postcode;
  }

  std::string MistypeNhs(const std::string& nhs) {
    std::string s = nhs;
    std::vector<int> pairs;
    for (int i = 0; i + 1 < 10; ++i) {
      if (s[i] != s[i + 1]) pairs.push_back(i);
    }
    if (rng_.Bernoulli(0.5) && !pairs.empty()) {
      int i = pairs[rng_.Below(pairs.size())];
      std::swap(s[i], s[i + 1]);
    } else {
      int i = static_cast<int>(rng_.Below(10));
      s[i] = static_cast<char>('0' + (s[i] - '0' + 1 + rng_.Below(9)) % 10);
    }
    return s;
  }

  Date WrongDigit(const Date& d) {
    static constexpr int kPositions[] = {2, 3, 4, 5, 6, 7};  // YYYYMMDD, not the century
    for (int attempt = 0; attempt < 20; ++attempt) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%04d%02d%02d", d.y, d.m, d.d);
      int pos = kPositions[rng_.Below(6)];
      buf[pos] = static_cast<char>('0' + (buf[pos] - '0' + 1 + rng_.Below(9)) % 10);
      Date e{std::atoi(std::string(buf, 4).c_str()), std::atoi(std::string(buf + 4, 2).c_str()),
             std::atoi(std::string(buf + 6, 2).c_str())};
      if (Valid(e) && !(e == d)) return e;
    }
    return Date{d.y % 10 == 9 ? d.y - 1 : d.y + 1, d.m, std::min(d.d, 28)};
  }

  // Draws one of `n` mutually exclusive errors with the given rates (their
  // sum capped at 1); returns the index or -1.
  int Categorical(std::initializer_list<double> rates) {
    double u = rng_.Uniform(), acc = 0;
    int i = 0;
    for (double r : rates) {
      acc += r;
      if (u < acc) return i;
      ++i;
    }
    return -1;
  }

  static void Flag(GeneratedRecord* r, int e) { r->errors |= 1u << e; }
  static void Eligible(GeneratedRecord* r, int e) { r->eligible |= 1u << e; }

  void MakeRecord(const Person& p, size_t s, int dup, bool old) {
    const SourceInfo& info = Sources().info[s];
    GeneratedRecord& r = out_->records.emplace_back();
    r.source = info.code;
    r.record_id = RecordId(ctx_, s, p.index, dup);
    r.person = p.index;
    r.restricted = p.truth.restricted;
    r.old_identity = old;
    r.duplicate = dup > 0;
    for (int e :
         {error_kind::kNhsMissing, error_kind::kNhsMistyped, error_kind::kNameTypo, error_kind::kCaseNoise,
          error_kind::kNamesSwapped, error_kind::kDobDigitWrong, error_kind::kDobYearOff, error_kind::kDobPlaceholder,
          error_kind::kDobMissing, error_kind::kPostcodeMissing, error_kind::kSexWrong, error_kind::kSexUnknown}) {
      Eligible(&r, e);
    }
    // One draw after another, in this order: a population depends on it.
    WriteNhsNumber(p, info.kind, &r);
    WriteNames(p, info.kind, old, &r);
    WriteDateOfBirth(p, info, &r);
    WriteAddress(p, info.kind, old, &r);
    WriteSex(p, info.kind, &r);
  }

  // NHS number: none to write (no_nhs_anywhere, or withheld for
  // twin_no_nhs), else missing / mistyped / a relative's / right.
  void WriteNhsNumber(const Person& p, SourceKind k, GeneratedRecord* r) {
    const bool withheld =
        p.withheld == Person::Withheld::kAll || (p.withheld == Person::Withheld::kNonGp && k != SourceKind::kGp);
    r->nhs_withheld = withheld && !p.no_nhs;
    const bool has_nhs = !p.no_nhs && !withheld;
    const bool has_relative = has_nhs && std::any_of(p.kin.begin(), p.kin.end(), [&](size_t i) {
                                return !out_->persons[i].no_nhs && !out_->persons[i].junk;
                              });
    if (!has_nhs) r->eligible &= ~((1u << error_kind::kNhsMissing) | (1u << error_kind::kNhsMistyped));
    if (has_relative) Eligible(r, error_kind::kNhsRelative);
    const int nhs_error = Categorical({ctx_.Rate(k, error_kind::kNhsMissing), ctx_.Rate(k, error_kind::kNhsMistyped),
                                       has_relative ? ctx_.Rate(k, error_kind::kNhsRelative) : 0.0});
    if (!has_nhs) {
      // Nothing to write.
    } else if (nhs_error == 0) {
      Flag(r, error_kind::kNhsMissing);
    } else if (nhs_error == 1) {
      Flag(r, error_kind::kNhsMistyped);
      r->nhs_number = MistypeNhs(p.truth.nhs_number);
    } else if (nhs_error == 2) {
      Flag(r, error_kind::kNhsRelative);
      r->nhs_number = RelativeNhsNumber(p);
    } else {
      r->nhs_number = p.truth.nhs_number;
    }
  }

  // Family and given names: the person's, as this contributor writes them.
  void WriteNames(const Person& p, SourceKind k, bool old, GeneratedRecord* r) {
    auto rate = [&](int e) { return ctx_.Rate(k, e); };
    std::string first = p.first;
    std::vector<std::string> middles = p.middles;
    const auto& variants = gi::NameVariants(first);
    if (!variants.empty()) Eligible(r, error_kind::kNickname);
    if (!variants.empty() && rng_.Bernoulli(rate(error_kind::kNickname))) {
      Flag(r, error_kind::kNickname);
      first = variants[rng_.Below(variants.size())];
    }
    if (!middles.empty()) Eligible(r, error_kind::kMiddleAsFirst);
    if (!middles.empty() && rng_.Bernoulli(rate(error_kind::kMiddleAsFirst))) {
      Flag(r, error_kind::kMiddleAsFirst);
      first = middles[0];
      middles.erase(middles.begin());
    }
    std::string family = FamilyNameAsWritten(p, k, old, r, &middles);
    if (rng_.Bernoulli(rate(error_kind::kNameTypo))) {
      Flag(r, error_kind::kNameTypo);
      if (rng_.Bernoulli(0.5))
        family = gi::MakeTypo(family, rng_);
      else
        first = gi::MakeTypo(first, rng_);
    }
    std::string given = GivenNames(first, middles);
    if (rng_.Bernoulli(rate(error_kind::kNamesSwapped))) {
      Flag(r, error_kind::kNamesSwapped);
      std::swap(family, given);
    }
    const bool accented = gi::HasNonAscii(family) || gi::HasNonAscii(given);
    if (accented) Eligible(r, error_kind::kDiacriticsDropped);
    if (accented && rng_.Bernoulli(rate(error_kind::kDiacriticsDropped))) {
      Flag(r, error_kind::kDiacriticsDropped);
      family = gi::FoldDiacritics(family);
      given = gi::FoldDiacritics(given);
    }
    if (rng_.Bernoulli(rate(error_kind::kCaseNoise))) {
      Flag(r, error_kind::kCaseNoise);
      bool upper = rng_.Bernoulli(0.7);
      family = upper ? gi::ToUpperUtf8(family) : gi::ToLowerUtf8(family);
      given = upper ? gi::ToUpperUtf8(given) : gi::ToLowerUtf8(given);
    }
    r->family_name = std::move(family);
    r->given_names = std::move(given);
  }

  // The family name before typos and case: the maiden name on an old
  // identity; a naming convention's other form (which may move the title
  // into *middles); a double-barrelled name cut or reordered.
  std::string FamilyNameAsWritten(const Person& p, SourceKind k, bool old, GeneratedRecord* r,
                                  std::vector<std::string>* middles) {
    auto rate = [&](int e) { return ctx_.Rate(k, e); };
    std::string family = old ? p.truth.maiden_name : p.truth.family_name;
    if (!p.title.empty() && !old) Eligible(r, error_kind::kNamingConvention);
    if (!p.title.empty() && !old && rng_.Bernoulli(rate(error_kind::kNamingConvention))) {
      // The other form: "Harpreet Kaur" <-> "Harpreet Sandhu"; or the title
      // kept as a middle name, "Harpreet Kaur" + "Sandhu"; or (Sikh) both
      // in the family name, "Kaur Sandhu".
      Flag(r, error_kind::kNamingConvention);
      const double u = rng_.Uniform();
      if (u < 0.55) {
        family = family == p.title ? p.surname : p.title;
      } else if (u < 0.8 || p.community != Community::kSikh) {
        family = p.surname;
        middles->insert(middles->begin(), p.title);
      } else {
        family = p.title + " " + p.surname;
      }
    }
    if (family.find('-') != std::string::npos) Eligible(r, error_kind::kDoubleBarrelCut);
    if (family.find('-') != std::string::npos && rng_.Bernoulli(rate(error_kind::kDoubleBarrelCut))) {
      Flag(r, error_kind::kDoubleBarrelCut);
      std::vector<std::string> parts = absl::StrSplit(family, '-');
      std::vector<std::string> usable;
      for (auto& part : parts) {
        if (part.size() > 2) usable.push_back(part);
      }
      family = usable[rng_.Below(usable.size())];
    }
    if (const size_t hyphen = family.find('-'); hyphen != std::string::npos && hyphen > 2 &&
                                                family.size() - hyphen > 3 &&
                                                family.find('-', hyphen + 1) == std::string::npos) {
      // Smith-Jones written Jones-Smith, Jones Smith or Smith Jones.
      Eligible(r, error_kind::kDoubleBarrelOrder);
      if (rng_.Bernoulli(rate(error_kind::kDoubleBarrelOrder))) {
        Flag(r, error_kind::kDoubleBarrelOrder);
        const std::string a = family.substr(0, hyphen), b = family.substr(hyphen + 1);
        const double u = rng_.Uniform();
        family = u < 0.5 ? b + "-" + a : u < 0.75 ? b + " " + a : a + " " + b;
      }
    }
    return family;
  }

  void WriteDateOfBirth(const Person& p, const SourceInfo& info, GeneratedRecord* r) {
    auto rate = [&](int e) { return ctx_.Rate(info.kind, e); };
    Date dob = p.dob;
    if (dob.d <= 12 && dob.d != dob.m) Eligible(r, error_kind::kDobDayMonthSwap);
    Eligible(r, error_kind::kDobEstimated);
    switch (Categorical({rate(error_kind::kDobDayMonthSwap), rate(error_kind::kDobDigitWrong),
                         rate(error_kind::kDobYearOff), rate(error_kind::kDobPlaceholder),
                         rate(error_kind::kDobMissing), rate(error_kind::kDobEstimated)})) {
      case 0:
        if (dob.d <= 12 && dob.d != dob.m) {
          Flag(r, error_kind::kDobDayMonthSwap);
          std::swap(dob.d, dob.m);
        }
        break;
      case 1:
        Flag(r, error_kind::kDobDigitWrong);
        dob = WrongDigit(dob);
        break;
      case 2:
        Flag(r, error_kind::kDobYearOff);
        dob.y += rng_.Bernoulli(0.5) ? 1 : -1;
        dob.d = std::min(dob.d, DaysInMonth(dob.y, dob.m));
        break;
      case 3:
        Flag(r, error_kind::kDobPlaceholder);
        dob = kPlaceholderDob;
        break;
      case 4:
        Flag(r, error_kind::kDobMissing);
        dob = Date{};
        break;
      case 5:
        Flag(r, error_kind::kDobEstimated);
        dob = EstimatedDob(dob);
        break;
      default: break;
    }
    r->date_of_birth = FormatDate(dob, info.date_format);
  }

  // Postcode and address: the previous home on an old identity, or when
  // the contributor has not heard of a move.
  void WriteAddress(const Person& p, SourceKind k, bool old, GeneratedRecord* r) {
    auto rate = [&](int e) { return ctx_.Rate(k, e); };
    const Address* addr = old ? &p.previous : &p.home;
    if (!old) Eligible(r, error_kind::kPostcodeOutOfDate);
    if (!old && rng_.Bernoulli(rate(error_kind::kPostcodeOutOfDate))) {
      Flag(r, error_kind::kPostcodeOutOfDate);
      addr = &p.previous;
    }
    r->address = addr->line;
    if (rng_.Bernoulli(rate(error_kind::kPostcodeMissing))) {
      Flag(r, error_kind::kPostcodeMissing);
      return;
    }
    Eligible(r, error_kind::kPostcodeNoSpace);
    Eligible(r, error_kind::kPostcodeLower);
    r->postcode = addr->postcode;
    if (rng_.Bernoulli(rate(error_kind::kPostcodeNoSpace))) {
      Flag(r, error_kind::kPostcodeNoSpace);
      r->postcode.erase(r->postcode.find(' '), 1);
    }
    if (rng_.Bernoulli(rate(error_kind::kPostcodeLower))) {
      Flag(r, error_kind::kPostcodeLower);
      r->postcode = gi::ToLowerUtf8(r->postcode);
    }
  }

  void WriteSex(const Person& p, SourceKind k, GeneratedRecord* r) {
    switch (Categorical({ctx_.Rate(k, error_kind::kSexWrong), ctx_.Rate(k, error_kind::kSexUnknown)})) {
      case 0:
        Flag(r, error_kind::kSexWrong);
        r->sex = p.truth.sex == 'M' ? "F" : "M";
        break;
      case 1:
        Flag(r, error_kind::kSexUnknown);
        r->sex = rng_.Bernoulli(0.5) ? "U" : "";
        break;
      default: r->sex = std::string(1, p.truth.sex);
    }
  }

  void EmitObjection(const Person& p) {
    Objection& o = out_->objections.emplace_back();
    o.person = p.index;
    if (rng_.Bernoulli(0.7)) o.nhs_number = p.truth.nhs_number;
    o.family_name = p.truth.family_name;
    std::string first = p.first;
    const auto& variants = gi::NameVariants(first);
    if (!variants.empty() && rng_.Bernoulli(0.15)) first = variants[rng_.Below(variants.size())];
    o.given_names = rng_.Bernoulli(0.6) ? GivenNames(first, p.middles) : first;
    o.date_of_birth = p.truth.date_of_birth;
    o.postcode = p.truth.postcode;
  }

  const Context& ctx_;
  Rng rng_;
  uint64_t base_, count_;
  ChunkData* out_ = nullptr;
  // The surname of the family household being made (empty otherwise).
  std::string kin_family_;
};

// ---------------------------------------------------------------- output

void AppendCsvRow(std::string* out, std::initializer_list<std::string_view> fields) {
  bool first = true;
  for (std::string_view f : fields) {
    if (!first) out->push_back(',');
    first = false;
    AppendCsvField(f, out);
  }
  out->push_back('\n');
}

void FormatChunk(ChunkData* c) {
  const SourceTables& st = Sources();
  std::map<std::string_view, size_t> index;
  for (size_t i = 0; i < st.info.size(); ++i) index[st.info[i].code] = i;
  c->feed_text.assign(st.info.size(), {});
  std::vector<const std::string*> person_id(c->persons.size());
  const uint64_t base = c->persons.empty() ? 0 : c->persons[0].index;
  for (const GeneratedRecord& r : c->records) {
    std::string* out = &c->feed_text[index[r.source]];
    AppendCsvRow(out, {r.source, r.record_id, r.nhs_number, r.family_name, r.given_names, r.date_of_birth, r.sex,
                       r.postcode, r.address, r.restricted ? "1" : "0"});
    AppendCsvRow(&c->truth_text, {r.source, r.record_id, c->persons[r.person - base].truth.id});
  }
  for (const Person& p : c->persons) {
    for (const auto& h : p.truth.hard_cases) AppendCsvRow(&c->hard_text, {p.truth.id, h});
  }
}

class OutFile {
 public:
  absl::Status Open(const std::filesystem::path& path) {
    path_ = path.string();
    f_ = std::fopen(path_.c_str(), "wb");
    if (f_ == nullptr) return absl::UnavailableError(absl::StrCat("cannot create ", path_));
    buf_ = std::make_unique<char[]>(kBuf);
    std::setvbuf(f_, buf_.get(), _IOFBF, kBuf);
    return absl::OkStatus();
  }
  absl::Status Write(std::string_view s) {
    if (!s.empty() && std::fwrite(s.data(), 1, s.size(), f_) != s.size()) {
      return absl::UnavailableError(absl::StrCat("write failed: ", path_));
    }
    return absl::OkStatus();
  }
  absl::Status Close() {
    if (f_ == nullptr) return absl::OkStatus();
    int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) return absl::UnavailableError(absl::StrCat("write failed: ", path_));
    return absl::OkStatus();
  }
  ~OutFile() {
    if (f_ != nullptr) std::fclose(f_);
  }

 private:
  static constexpr size_t kBuf = 1 << 22;
  std::string path_;
  std::FILE* f_ = nullptr;
  std::unique_ptr<char[]> buf_;
};

absl::Status CheckOptions(const GeneratorOptions& o) {
  if (o.persons < 1 || o.persons > kMaxPersons) {
    return absl::InvalidArgumentError(
        absl::StrCat("--persons must be between 1 and ", kMaxPersons, ", got ", o.persons));
  }
  if (!(o.error_scale >= 0) || o.error_scale > 100) {
    return absl::InvalidArgumentError("--scale-errors must be between 0 and 100");
  }
  if (o.threads < 0) return absl::InvalidArgumentError("--threads must be 0 or more");
  return absl::OkStatus();
}

std::string_view DateFormatName(DateFormat f) {
  switch (f) {
    case DateFormat::kIso: return "YYYY-MM-DD";
    case DateFormat::kDayMonthYear: return "DD/MM/YYYY";
    case DateFormat::kCompact: return "YYYYMMDD";
  }
  return "";
}

std::string_view KindName(SourceKind k) {
  static constexpr std::string_view kNames[] = {"gp", "acute", "mental_health", "social_care", "ambulance"};
  return kNames[static_cast<int>(k)];
}

}  // namespace

const std::vector<SourceInfo>& GeneratorSources() { return Sources().info; }

std::string_view ErrorKindName(int kind) { return kind >= 0 && kind < kNumErrorKinds ? kErrorNames[kind] : ""; }

double ErrorRate(SourceKind kind, int error) { return kRates[error][static_cast<int>(kind)]; }
double DuplicateRate(SourceKind kind) { return kDuplicateRates[static_cast<int>(kind)]; }

absl::Status GeneratePopulation(const GeneratorOptions& options, GeneratedPopulation* out) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  Context ctx(options);
  out->persons.clear();
  out->records.clear();
  out->objections.clear();
  const uint64_t chunks = (options.persons + kChunkPersons - 1) / kChunkPersons;
  for (uint64_t c = 0; c < chunks; ++c) {
    ChunkData data;
    ChunkGenerator(ctx, c).Run(&data);
    for (Person& p : data.persons) out->persons.push_back(std::move(p.truth));
    for (auto& r : data.records) out->records.push_back(std::move(r));
    for (auto& o : data.objections) out->objections.push_back(std::move(o));
  }
  // File order: by source, then generation order.
  std::map<std::string, size_t> order;
  for (size_t i = 0; i < GeneratorSources().size(); ++i) order[GeneratorSources()[i].code] = i;
  std::stable_sort(out->records.begin(), out->records.end(), [&](const GeneratedRecord& a, const GeneratedRecord& b) {
    return order[a.source] < order[b.source];
  });
  return absl::OkStatus();
}

absl::Status Generate(const GeneratorOptions& options, const std::string& out_dir, GeneratorSummary* summary) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create directory ", out_dir, ": ", ec.message()));
  const std::filesystem::path dir(out_dir);
  const SourceTables& st = Sources();
  std::vector<OutFile> feeds(st.info.size());
  for (size_t i = 0; i < st.info.size(); ++i) {
    if (auto s = feeds[i].Open(dir / (st.info[i].code + ".csv")); !s.ok()) return s;
    if (auto s = feeds[i].Write(kFeedHeader); !s.ok()) return s;
  }
  OutFile truth, hard, objections, objections_truth;
  for (auto [f, name, header] :
       {std::tuple{&truth, "truth.csv", "source,record_id,person\n"},
        std::tuple{&hard, "hard_cases.csv", "person,hard_case\n"},
        std::tuple{&objections, "objections.csv", "nhs_number,family_name,given_names,date_of_birth,postcode\n"},
        std::tuple{&objections_truth, "objections_truth.csv", "row,person\n"}}) {
    if (auto s = f->Open(dir / name); !s.ok()) return s;
    if (auto s = f->Write(header); !s.ok()) return s;
  }

  Context ctx(options);
  const uint64_t chunks = (options.persons + kChunkPersons - 1) / kChunkPersons;
  std::unique_ptr<tbb::global_control> limit;
  if (options.threads > 0) {
    limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, options.threads);
  }
  const bool show_progress = options.progress && isatty(STDERR_FILENO);
  GeneratorSummary sum;
  std::map<std::string, uint64_t> hard_counts;
  absl::Status status;
  uint64_t next_chunk = 0, persons_done = 0, objection_row = 0;
  auto last_report = start;
  const int tokens =
      4 * std::max(1, options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency()));
  tbb::parallel_pipeline(
      tokens,
      tbb::make_filter<void, uint64_t>(tbb::filter_mode::serial_in_order,
                                       [&](tbb::flow_control& fc) -> uint64_t {
                                         if (next_chunk >= chunks) {
                                           fc.stop();
                                           return 0;
                                         }
                                         return next_chunk++;
                                       }) &
          tbb::make_filter<uint64_t, std::shared_ptr<ChunkData>>(tbb::filter_mode::parallel,
                                                                 [&](uint64_t c) {
                                                                   auto data = std::make_shared<ChunkData>();
                                                                   ChunkGenerator(ctx, c).Run(data.get());
                                                                   FormatChunk(data.get());
                                                                   return data;
                                                                 }) &
          tbb::make_filter<std::shared_ptr<ChunkData>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<ChunkData> data) {
                if (!status.ok()) return;
                for (size_t i = 0; i < feeds.size() && status.ok(); ++i) {
                  status = feeds[i].Write(data->feed_text[i]);
                }
                if (status.ok()) status = truth.Write(data->truth_text);
                if (status.ok()) status = hard.Write(data->hard_text);
                std::string rows, rows_truth;
                const uint64_t base = data->persons[0].index;
                for (const Objection& o : data->objections) {
                  AppendCsvRow(&rows, {o.nhs_number, o.family_name, o.given_names, o.date_of_birth, o.postcode});
                  absl::StrAppend(&rows_truth, ++objection_row, ",", data->persons[o.person - base].truth.id, "\n");
                }
                if (status.ok()) status = objections.Write(rows);
                if (status.ok()) status = objections_truth.Write(rows_truth);
                for (const auto& r : data->records) ++sum.records_per_source[r.source];
                for (const auto& p : data->persons) {
                  for (const auto& h : p.truth.hard_cases) ++hard_counts[h];
                }
                sum.records += data->records.size();
                persons_done += data->persons.size();
                auto now = std::chrono::steady_clock::now();
                if (show_progress &&
                    (now - last_report > std::chrono::milliseconds(500) || persons_done == options.persons)) {
                  last_report = now;
                  double secs = std::chrono::duration<double>(now - start).count();
                  double rate = persons_done / std::max(secs, 1e-9);
                  std::fprintf(stderr, "\rempi generate: %llu/%llu persons, %.0f/s, %.0f s left   ",
                               static_cast<unsigned long long>(persons_done),
                               static_cast<unsigned long long>(options.persons), rate,
                               (options.persons - persons_done) / std::max(rate, 1.0));
                  if (persons_done == options.persons) std::fprintf(stderr, "\n");
                }
              }));
  if (!status.ok()) return status;
  sum.persons = options.persons;
  sum.objections = objection_row;

  nlohmann::ordered_json manifest;
  manifest["generator"] = "empi generate";
  manifest["persons"] = options.persons;
  manifest["seed"] = options.seed;
  manifest["error_scale"] = options.error_scale;
  manifest["reference_date"] = "2025-01-01";
  manifest["records"] = sum.records;
  manifest["objections"] = sum.objections;
  for (const SourceInfo& s : st.info) {
    manifest["sources"].push_back({{"source", s.code},
                                   {"name", s.name},
                                   {"kind", KindName(s.kind)},
                                   {"date_format", DateFormatName(s.date_format)},
                                   {"records", sum.records_per_source[s.code]}});
  }
  for (int k = 0; k < kNumSourceKinds; ++k) {
    auto& rates = manifest["rates"][std::string(KindName(static_cast<SourceKind>(k)))];
    for (int e = 0; e < kNumErrorKinds; ++e) {
      rates[std::string(kErrorNames[e])] = std::min(1.0, kRates[e][k] * options.error_scale);
    }
    rates["duplicate_registration"] = std::min(1.0, kDuplicateRates[k] * options.error_scale);
  }
  manifest["hard_cases"] = hard_counts;
  sum.hard_cases = hard_counts;
  // Person-level hard-case rates; the per-record ones are under "rates".
  manifest["hard_case_rates"] = {
      {"twin_no_nhs_share_of_twin_pairs", std::min(1.0, kTwinNoNhsShare * options.error_scale)},
      {"no_nhs_anywhere_aged_18_49", kNoNhsRateUnder50},
      {"no_nhs_anywhere_aged_50_plus", kNoNhsRate50Plus}};
  OutFile mf;
  if (auto s = mf.Open(dir / "manifest.json"); !s.ok()) return s;
  if (auto s = mf.Write(manifest.dump(2) + "\n"); !s.ok()) return s;
  for (OutFile* f : {&mf, &truth, &hard, &objections, &objections_truth}) {
    if (auto s = f->Close(); !s.ok()) return s;
  }
  for (auto& f : feeds) {
    if (auto s = f.Close(); !s.ok()) return s;
  }
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (summary != nullptr) *summary = std::move(sum);
  return absl::OkStatus();
}

}  // namespace empi
