// Copyright EMPI developers.
//
// The generator's promises: valid unique NHS numbers, truth that covers
// every feed row, byte-identical output for a seed whatever the thread
// count, documented error rates, hard cases present and at their documented
// rates, clean records at --scale-errors 0, one date format per file, valid
// postcodes, adult ages.
#include "datasets/generator/generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/str_format.h"
#include "datasets/generator/tables.h"
#include "datasets/generator/text.h"
#include "gtest/gtest.h"
#include "matchers/nhs_number.h"

namespace empi {
namespace {

namespace fs = std::filesystem;
namespace gi = generator_internal;

const GeneratedPopulation& Population() {
  static const GeneratedPopulation* pop = [] {
    auto* p = new GeneratedPopulation;
    GeneratorOptions o;
    o.persons = 20000;
    o.seed = 42;
    EXPECT_TRUE(GeneratePopulation(o, p).ok());
    return p;
  }();
  return *pop;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// RFC 4180 rows of a file, header included.
std::vector<std::vector<std::string>> ReadCsv(const fs::path& p) {
  std::string text = ReadFile(p);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field.push_back(c);
    }
  }
  return rows;
}

class GeneratedFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("empi_generator_test_" + std::to_string(::getpid())));
    GeneratorOptions o;
    o.persons = 6000;
    o.seed = 7;
    o.threads = 2;
    o.progress = false;
    ASSERT_TRUE(Generate(o, dir_->string(), &summary_).ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static fs::path* dir_;
  static GeneratorSummary summary_;
};
fs::path* GeneratedFiles::dir_ = nullptr;
GeneratorSummary GeneratedFiles::summary_;

TEST(Generator, NhsNumbersValidUniqueAndRealistic) {
  std::set<std::string> seen;
  for (const TruePerson& p : Population().persons) {
    if (p.nhs_number.empty()) {
      ASSERT_FALSE(p.hard_cases.empty());
      EXPECT_TRUE(p.hard_cases[0] == "junk" || p.hard_cases.back() == "no_nhs_anywhere") << p.id;
      continue;
    }
    ASSERT_EQ(p.nhs_number.size(), 10u);
    EXPECT_TRUE(ParseNhsNumber(p.nhs_number).has_value()) << p.nhs_number;
    EXPECT_TRUE(p.nhs_number[0] == '4' || p.nhs_number[0] == '6') << p.nhs_number;
    EXPECT_TRUE(seen.insert(p.nhs_number).second) << "duplicate " << p.nhs_number;
  }
  EXPECT_GT(seen.size(), 19700u);
}

TEST(Generator, AgesAreAdultAndPyramidShaped) {
  int young = 0, forties = 0, oldest = 0;
  for (const TruePerson& p : Population().persons) {
    if (p.date_of_birth.empty()) continue;
    int y = std::stoi(p.date_of_birth.substr(0, 4));
    int m = std::stoi(p.date_of_birth.substr(5, 2));
    int d = std::stoi(p.date_of_birth.substr(8, 2));
    int age = 2025 - y - 1 + ((m == 1 && d == 1) ? 1 : 0);
    ASSERT_GE(age, 18) << p.date_of_birth;
    ASSERT_LE(age, 100) << p.date_of_birth;
    young += age < 30;
    forties += age >= 40 && age < 50;
    oldest += age >= 90;
  }
  EXPECT_GT(forties, 5 * oldest);
  EXPECT_GT(young, oldest);
  EXPECT_GT(oldest, 0);
}

// The regional brief: about 3.3 contributor records per person (3M persons,
// ~10M records); every person in exactly one GP feed plus 0 to 5 others,
// older people in more.
TEST(Generator, RecordsPerPersonMatchTheRegion) {
  const auto& pop = Population();
  std::map<std::string, SourceKind> kind;
  for (const auto& s : GeneratorSources()) kind[s.code] = s.kind;
  std::vector<std::set<std::string>> gp(pop.persons.size()), other(pop.persons.size());
  for (const GeneratedRecord& r : pop.records) {
    (kind.at(r.source) == SourceKind::kGp ? gp : other)[r.person].insert(r.source);
  }
  // Mean records per person by age band: 18-39, 40-64, 65-79, 80+.
  double records[4] = {}, persons[4] = {};
  std::vector<int> per_person(pop.persons.size());
  for (const GeneratedRecord& r : pop.records) per_person[r.person]++;
  for (uint64_t i = 0; i < pop.persons.size(); ++i) {
    const TruePerson& p = pop.persons[i];
    if (p.nhs_number.empty()) continue;  // junk: one record, no GP
    EXPECT_EQ(gp[i].size(), 1u) << p.id;
    EXPECT_LE(other[i].size(), 5u) << p.id;
    int age = 2024 - std::stoi(p.date_of_birth.substr(0, 4));
    int band = age < 40 ? 0 : age < 65 ? 1 : age < 80 ? 2 : 3;
    records[band] += per_person[i];
    persons[band] += 1;
  }
  const double mean = static_cast<double>(pop.records.size()) / pop.persons.size();
  EXPECT_GE(mean, 3.2);
  EXPECT_LE(mean, 3.4);
  for (int b = 1; b < 4; ++b) {
    EXPECT_GT(records[b] / persons[b], records[b - 1] / persons[b - 1] + 0.2) << "band " << b;
  }
}

TEST(Generator, NamesHaveLongTailAndDiversity) {
  std::map<std::string, int> surnames;
  int middle = 0, accented = 0, total = 0;
  for (const TruePerson& p : Population().persons) {
    if (p.nhs_number.empty()) continue;
    ++total;
    ++surnames[p.family_name];
    middle += p.given_names.find(' ') != std::string::npos;
    accented += gi::HasNonAscii(p.family_name + p.given_names);
  }
  EXPECT_GT(surnames.size(), 2000u);
  int top = 0;
  for (auto& [name, n] : surnames) top = std::max(top, n);
  EXPECT_LT(top, total / 25);
  for (const char* s : {"Smith", "Khan", "Singh", "Kaur", "Patel", "Nowak", "O'Brien", "Okafor", "Jones"}) {
    EXPECT_GT(surnames[s], 0) << s;
  }
  EXPECT_NEAR(middle / static_cast<double>(total), 0.5, 0.05);
  EXPECT_GT(accented, 50);
}

TEST(Generator, ErrorRatesMatchDocumentation) {
  const auto& sources = GeneratorSources();
  std::map<std::string, SourceKind> kind;
  for (const auto& s : sources) kind[s.code] = s.kind;
  // [kind][error] -> (eligible, flagged)
  std::map<std::pair<int, int>, std::pair<int, int>> counts;
  std::map<int, std::pair<int, int>> dups;  // kind -> (first records, duplicates)
  const auto& persons = Population().persons;
  for (const GeneratedRecord& r : Population().records) {
    const TruePerson& p = persons[r.person];
    if (p.nhs_number.empty()) continue;  // junk and no_nhs_anywhere
    int k = static_cast<int>(kind[r.source]);
    (r.duplicate ? dups[k].second : dups[k].first)++;
    for (int e = 0; e < kNumErrorKinds; ++e) {
      if (r.eligible & (1u << e)) {
        counts[{k, e}].first++;
        counts[{k, e}].second += (r.errors >> e) & 1;
      } else {
        ASSERT_EQ((r.errors >> e) & 1, 0u) << ErrorKindName(e);
      }
    }
    // What the flags say is what the record shows.
    EXPECT_EQ(r.nhs_number.empty(), (r.errors & (1u << error_kind::kNhsMissing)) != 0 || r.nhs_withheld);
    if (r.nhs_withheld) {
      EXPECT_EQ(r.eligible & ((1u << error_kind::kNhsMissing) | (1u << error_kind::kNhsMistyped) |
                              (1u << error_kind::kNhsRelative)),
                0u);
    }
    if (r.errors & (1u << error_kind::kNhsMistyped)) {
      EXPECT_NE(r.nhs_number, p.nhs_number);
      EXPECT_EQ(r.nhs_number.size(), 10u);
    } else if (r.errors & (1u << error_kind::kNhsRelative)) {
      EXPECT_NE(r.nhs_number, p.nhs_number);
      EXPECT_TRUE(ParseNhsNumber(r.nhs_number).has_value()) << r.nhs_number;
    } else if (!r.nhs_number.empty()) {
      EXPECT_EQ(r.nhs_number, p.nhs_number);
    }
    EXPECT_EQ(r.postcode.empty(), (r.errors & (1u << error_kind::kPostcodeMissing)) != 0);
    EXPECT_EQ(r.date_of_birth.empty(), (r.errors & (1u << error_kind::kDobMissing)) != 0);
    EXPECT_EQ(r.sex != "M" && r.sex != "F", (r.errors & (1u << error_kind::kSexUnknown)) != 0);
    if (r.errors & (1u << error_kind::kCaseNoise)) {
      EXPECT_TRUE(gi::ToUpperUtf8(r.family_name) == r.family_name || gi::ToLowerUtf8(r.family_name) == r.family_name);
    }
    const uint32_t dob_errors = (1u << error_kind::kDobDayMonthSwap) | (1u << error_kind::kDobDigitWrong) |
                                (1u << error_kind::kDobYearOff) | (1u << error_kind::kDobPlaceholder) |
                                (1u << error_kind::kDobMissing) | (1u << error_kind::kDobEstimated);
    const std::string iso = p.date_of_birth;
    if ((r.errors & dob_errors) == 0 && kind[r.source] != SourceKind::kGp) {
      // Same digits in some order of fields.
      std::string digits;
      for (char c : r.date_of_birth) {
        if (isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
      }
      std::string y = iso.substr(0, 4), m = iso.substr(5, 2), d = iso.substr(8, 2);
      EXPECT_TRUE(digits == y + m + d || digits == d + m + y) << r.date_of_birth << " vs " << iso;
    }
    if ((r.errors & ((1u << error_kind::kSexWrong) | (1u << error_kind::kSexUnknown))) == 0) {
      EXPECT_EQ(r.sex, std::string(1, p.sex));
    }
    if ((r.errors & ~((1u << error_kind::kNhsMissing) | (1u << error_kind::kNhsMistyped))) == 0 && !r.old_identity &&
        (r.eligible & (1u << error_kind::kPostcodeOutOfDate))) {
      EXPECT_EQ(r.family_name, p.family_name);
      EXPECT_EQ(r.given_names, p.given_names);
      EXPECT_EQ(r.postcode, p.postcode);
    }
  }
  for (int k = 0; k < kNumSourceKinds; ++k) {
    for (int e = 0; e < kNumErrorKinds; ++e) {
      auto [n, hits] = counts[{k, e}];
      if (n < 200) continue;  // too few eligible records to measure
      double expected = ErrorRate(static_cast<SourceKind>(k), e);
      double observed = static_cast<double>(hits) / n;
      double sd = std::sqrt(expected * (1 - expected) / n);
      EXPECT_NEAR(observed, expected, 5 * sd + 0.001) << "kind " << k << " error " << ErrorKindName(e) << " n=" << n;
    }
    auto [firsts, copies] = dups[k];
    if (k == static_cast<int>(SourceKind::kAcute) || k == static_cast<int>(SourceKind::kGp)) {
      // The hard-case errors are measured, not skipped for want of records.
      for (int e : {error_kind::kNhsRelative, error_kind::kDobEstimated, error_kind::kNamingConvention,
                    error_kind::kDoubleBarrelOrder}) {
        EXPECT_GE((counts[{k, e}].first), 200) << ErrorKindName(e);
      }
    }
    double expected = DuplicateRate(static_cast<SourceKind>(k));
    double sd = std::sqrt(expected * (1 - expected) / firsts);
    EXPECT_NEAR(static_cast<double>(copies) / firsts, expected, 5 * sd + 0.001) << "kind " << k;
  }
}

TEST(Generator, HardCasesPresentAndShapedAsDocumented) {
  const auto& pop = Population();
  std::map<std::string, std::vector<uint64_t>> cases;
  for (uint64_t i = 0; i < pop.persons.size(); ++i) {
    for (const auto& h : pop.persons[i].hard_cases) cases[h].push_back(i);
  }
  for (const char* h : {"twin", "parent_child_same_name", "common_name_close_dob", "junk", "marriage_name_change",
                        "duplicate_registration"}) {
    EXPECT_GE(cases[h].size(), 10u) << h;
  }
  std::map<uint64_t, int> records_per_person;
  for (const auto& r : pop.records) records_per_person[r.person]++;
  for (uint64_t i : cases["junk"]) {
    const TruePerson& p = pop.persons[i];
    EXPECT_EQ(records_per_person[i], 1);
    EXPECT_EQ(p.given_names, "UNKNOWN");
    EXPECT_TRUE(p.family_name == "UNKNOWN" || p.family_name == "PATIENT");
  }
  // Twins are made in adjacent pairs (after an optional parent).
  const auto& twins = cases["twin"];
  ASSERT_EQ(twins.size() % 2, 0u);
  for (size_t i = 0; i < twins.size(); i += 2) {
    const TruePerson& a = pop.persons[twins[i]];
    const TruePerson& b = pop.persons[twins[i + 1]];
    EXPECT_EQ(twins[i] + 1, twins[i + 1]);
    EXPECT_EQ(a.date_of_birth, b.date_of_birth);
    EXPECT_EQ(a.postcode, b.postcode);
    if (a.sex == b.sex) {
      EXPECT_EQ(a.family_name, b.family_name);
    }
    EXPECT_NE(a.given_names.substr(0, a.given_names.find(' ')), b.given_names.substr(0, b.given_names.find(' ')));
    EXPECT_NE(a.nhs_number, b.nhs_number);
  }
  const auto& same = cases["parent_child_same_name"];
  for (size_t i = 0; i < same.size(); i += 2) {
    const TruePerson& a = pop.persons[same[i]];
    const TruePerson& b = pop.persons[same[i + 1]];
    EXPECT_EQ(a.family_name, b.family_name);
    EXPECT_EQ(a.given_names.substr(0, a.given_names.find(' ')), b.given_names.substr(0, b.given_names.find(' ')));
    EXPECT_EQ(a.postcode, b.postcode);
    EXPECT_LT(a.date_of_birth, b.date_of_birth);
  }
  for (uint64_t i : cases["marriage_name_change"]) {
    const TruePerson& p = pop.persons[i];
    EXPECT_FALSE(p.maiden_name.empty());
    bool old_seen = false;
    for (const auto& r : pop.records) {
      if (r.person == i && r.old_identity) old_seen = true;
    }
    EXPECT_TRUE(old_seen);
  }
}

std::map<std::string, std::vector<uint64_t>> CasesOf(const GeneratedPopulation& pop) {
  std::map<std::string, std::vector<uint64_t>> cases;
  for (uint64_t i = 0; i < pop.persons.size(); ++i) {
    for (const auto& h : pop.persons[i].hard_cases) cases[h].push_back(i);
  }
  return cases;
}

// YYYY, MM, DD of a date in any of the three file formats; {0,0,0} if empty.
std::array<int, 3> ParseAnyDate(const std::string& s) {
  if (s.empty()) return {0, 0, 0};
  auto num = [&](size_t at, size_t n) { return std::stoi(s.substr(at, n)); };
  if (s.size() == 8) return {num(0, 4), num(4, 2), num(6, 2)};  // YYYYMMDD
  if (s[2] == '/') return {num(6, 4), num(3, 2), num(0, 2)};    // DD/MM/YYYY
  return {num(0, 4), num(5, 2), num(8, 2)};                     // YYYY-MM-DD
}

bool InCareHome(const TruePerson& p) {
  for (const auto& name : gi::CareHomeNames()) {
    if (p.address.rfind(name + ", ", 0) == 0) return true;
  }
  return false;
}

bool IsTitle(const std::string& s) { return s == "Kaur" || s == "Singh" || s == "Begum" || s == "Khatun"; }

constexpr uint32_t kOtherNameErrors = (1u << error_kind::kNameTypo) | (1u << error_kind::kCaseNoise) |
                                      (1u << error_kind::kNamesSwapped) | (1u << error_kind::kDiacriticsDropped) |
                                      (1u << error_kind::kDoubleBarrelCut);

// twin_no_nhs, relative_nhs_number, estimated_dob, sikh_muslim_naming,
// double_barrel_order, no_nhs_anywhere: present, and each record shows what
// its flags say; the truth still gives every record its own person.
TEST(Generator, SecondHardCasesShapedAsDocumented) {
  const auto& pop = Population();
  auto cases = CasesOf(pop);
  for (const char* h : {"twin_no_nhs", "relative_nhs_number", "estimated_dob", "sikh_muslim_naming",
                        "double_barrel_order", "no_nhs_anywhere"}) {
    EXPECT_GE(cases[h].size(), 5u) << h;
  }
  std::map<std::string, SourceKind> kind;
  for (const auto& s : GeneratorSources()) kind[s.code] = s.kind;
  std::map<uint64_t, std::vector<const GeneratedRecord*>> records_of;
  for (const auto& r : pop.records) records_of[r.person].push_back(&r);
  std::map<std::string, uint64_t> person_of_nhs;
  for (uint64_t i = 0; i < pop.persons.size(); ++i) {
    if (!pop.persons[i].nhs_number.empty()) person_of_nhs[pop.persons[i].nhs_number] = i;
  }
  auto has = [&](uint64_t i, const std::string& h) {
    const auto& v = pop.persons[i].hard_cases;
    return std::find(v.begin(), v.end(), h) != v.end();
  };

  // One twin of a pair; every record of that twin in the affected feeds
  // (the non-GP ones, or all) carries no NHS number, the other twin is
  // untouched by the pattern.
  const auto& twins = cases["twin"];
  std::set<uint64_t> twin_set(twins.begin(), twins.end());
  for (uint64_t i : cases["twin_no_nhs"]) {
    ASSERT_TRUE(twin_set.count(i)) << pop.persons[i].id;
    EXPECT_FALSE(pop.persons[i].nhs_number.empty());
    int withheld = 0, gp_withheld = 0, gp = 0, other_with_number = 0;
    for (const GeneratedRecord* r : records_of[i]) {
      const bool is_gp = kind[r->source] == SourceKind::kGp;
      gp += is_gp;
      if (r->nhs_withheld) {
        EXPECT_TRUE(r->nhs_number.empty());
        ++withheld;
        gp_withheld += is_gp;
      } else if (!is_gp) {
        ++other_with_number;
      }
    }
    EXPECT_GT(withheld, 0);
    EXPECT_EQ(other_with_number, 0) << "every non-GP record of the twin lacks the number";
    EXPECT_TRUE(gp_withheld == 0 || gp_withheld == gp);
  }
  for (size_t t = 0; t < twins.size(); t += 2) {
    EXPECT_FALSE(has(twins[t], "twin_no_nhs") && has(twins[t + 1], "twin_no_nhs")) << "at most one twin of a pair";
  }

  // A relative's number: valid, another person's, who lives at the same
  // address in the same household; the record still belongs to its own
  // person.
  int relative_records = 0;
  for (const auto& r : pop.records) {
    if ((r.errors & (1u << error_kind::kNhsRelative)) == 0) continue;
    ++relative_records;
    const TruePerson& p = pop.persons[r.person];
    ASSERT_TRUE(has(r.person, "relative_nhs_number"));
    ASSERT_TRUE(person_of_nhs.count(r.nhs_number)) << r.nhs_number;
    const uint64_t q = person_of_nhs[r.nhs_number];
    EXPECT_NE(q, r.person);
    EXPECT_EQ(pop.persons[q].address, p.address);
    EXPECT_LT(q > r.person ? q - r.person : r.person - q, 6u) << "same household";
    EXPECT_NE(kind[r.source], SourceKind::kGp);
  }
  for (uint64_t i : cases["relative_nhs_number"]) {
    bool any = false;
    for (const GeneratedRecord* r : records_of[i]) any |= (r->errors >> error_kind::kNhsRelative) & 1;
    EXPECT_TRUE(any);
  }
  EXPECT_GT(relative_records, 0);

  // An estimated date of birth: 1 January or 1 July of a year within five
  // of the truth.
  int july = 0, estimated = 0;
  for (const auto& r : pop.records) {
    if ((r.errors & (1u << error_kind::kDobEstimated)) == 0) continue;
    ++estimated;
    const TruePerson& p = pop.persons[r.person];
    EXPECT_TRUE(has(r.person, "estimated_dob"));
    auto [y, m, d] = ParseAnyDate(r.date_of_birth);
    EXPECT_EQ(d, 1) << r.date_of_birth;
    EXPECT_TRUE(m == 1 || m == 7) << r.date_of_birth;
    july += m == 7;
    EXPECT_LE(std::abs(y - std::stoi(p.date_of_birth.substr(0, 4))), 5) << r.date_of_birth;
    EXPECT_NE(ParseAnyDate(r.date_of_birth), ParseAnyDate(p.date_of_birth));
  }
  EXPECT_GT(estimated, 20);
  EXPECT_LT(july, estimated / 2);

  // Sikh and Muslim naming: the record carries the person's other form.
  std::map<std::string, int> forms;
  for (const auto& r : pop.records) {
    if ((r.errors & (1u << error_kind::kNamingConvention)) == 0) continue;
    const TruePerson& p = pop.persons[r.person];
    EXPECT_TRUE(has(r.person, "sikh_muslim_naming"));
    ASSERT_FALSE(p.other_family_name.empty());
    const bool truth_is_title = IsTitle(p.family_name);
    ASSERT_NE(truth_is_title, IsTitle(p.other_family_name)) << p.family_name;
    const std::string title = truth_is_title ? p.family_name : p.other_family_name;
    const std::string surname = truth_is_title ? p.other_family_name : p.family_name;
    if (r.errors & kOtherNameErrors) continue;
    std::istringstream words(r.given_names);
    std::string first, title_as_middle;
    words >> first >> title_as_middle;
    if (r.family_name == p.other_family_name) {
      ++forms["other"];
    } else if (r.family_name == surname && title_as_middle == title) {
      ++forms["title_as_middle"];
    } else if (r.family_name == title + " " + surname) {
      ++forms["both"];
      EXPECT_TRUE(title == "Kaur" || title == "Singh") << "both only for Sikh names";
    } else {
      ADD_FAILURE() << r.family_name << ", " << r.given_names << " for " << p.family_name << ", " << p.given_names
                    << " / " << p.other_family_name;
    }
  }
  EXPECT_GT(forms["other"], 20);
  EXPECT_GT(forms["title_as_middle"], 5);
  EXPECT_GT(forms["both"], 2);
  // Both directions and both communities: Kaur -> Sandhu, Sandhu -> Kaur,
  // Begum or Khatun -> husband's surname and back.
  int sikh_title_truth = 0, sikh_surname_truth = 0, muslim = 0;
  for (const TruePerson& p : pop.persons) {
    if (p.other_family_name.empty()) continue;
    if (p.family_name == "Kaur" || p.family_name == "Singh") ++sikh_title_truth;
    if (p.other_family_name == "Kaur" || p.other_family_name == "Singh") ++sikh_surname_truth;
    if (p.family_name == "Begum" || p.family_name == "Khatun" || p.other_family_name == "Begum" ||
        p.other_family_name == "Khatun") {
      ++muslim;
      EXPECT_EQ(p.sex, 'F');
    }
  }
  EXPECT_GT(sikh_title_truth, 20);
  EXPECT_GT(sikh_surname_truth, 20);
  EXPECT_GT(muslim, 20);

  // Double-barrelled surnames in the other order or without the hyphen.
  int reordered = 0;
  for (const auto& r : pop.records) {
    if ((r.errors & (1u << error_kind::kDoubleBarrelOrder)) == 0) continue;
    const TruePerson& p = pop.persons[r.person];
    EXPECT_TRUE(has(r.person, "double_barrel_order"));
    if (r.errors & (kOtherNameErrors | (1u << error_kind::kNamingConvention))) continue;
    const std::string family = r.old_identity ? p.maiden_name : p.family_name;
    const size_t h = family.find('-');
    ASSERT_NE(h, std::string::npos) << family;
    const std::string a = family.substr(0, h), b = family.substr(h + 1);
    EXPECT_TRUE(r.family_name == b + "-" + a || r.family_name == b + " " + a || r.family_name == a + " " + b)
        << r.family_name << " for " << family;
    ++reordered;
  }
  EXPECT_GT(reordered, 5);

  // No NHS number anywhere: not junk, not registered with a GP, seen at
  // least once, no record carries any number.
  for (uint64_t i : cases["no_nhs_anywhere"]) {
    const TruePerson& p = pop.persons[i];
    EXPECT_TRUE(p.nhs_number.empty());
    EXPECT_FALSE(has(i, "junk"));
    EXPECT_FALSE(p.date_of_birth.empty());
    ASSERT_FALSE(records_of[i].empty()) << p.id;
    for (const GeneratedRecord* r : records_of[i]) {
      EXPECT_TRUE(r->nhs_number.empty());
      EXPECT_NE(kind[r->source], SourceKind::kGp);
    }
  }
}

// The person-level rates, measured on 100k persons: one twin without an
// NHS number in a third of twin pairs; no NHS number anywhere for 1% of
// persons under 50 and 0.3% from 50 (care-home residents excepted).
TEST(Generator, PersonLevelHardCaseRates) {
  GeneratedPopulation pop;
  GeneratorOptions o;
  o.persons = 100000;
  o.seed = 11;
  ASSERT_TRUE(GeneratePopulation(o, &pop).ok());
  auto cases = CasesOf(pop);
  std::map<std::string, SourceKind> kind;
  for (const auto& s : GeneratorSources()) kind[s.code] = s.kind;
  // A pair's twin_no_nhs is listed only when the twin has a record in an
  // affected feed: always in every-feed mode (the GP record), almost always
  // in non-GP mode; so the expected share is a little under a third.
  const double pairs = cases["twin"].size() / 2.0;
  const double share = cases["twin_no_nhs"].size() / pairs;
  const double sd = std::sqrt(kTwinNoNhsShare * (1 - kTwinNoNhsShare) / pairs);
  EXPECT_NEAR(share, kTwinNoNhsShare * 0.98, 4 * sd) << pairs << " pairs";
  EXPECT_GT(pairs, 150);

  double n[2] = {}, hits[2] = {};
  std::set<uint64_t> none(cases["no_nhs_anywhere"].begin(), cases["no_nhs_anywhere"].end());
  std::set<uint64_t> junk(cases["junk"].begin(), cases["junk"].end());
  for (uint64_t i = 0; i < pop.persons.size(); ++i) {
    const TruePerson& p = pop.persons[i];
    if (junk.count(i)) continue;
    const bool in_home = InCareHome(p);
    if (in_home) {
      EXPECT_FALSE(none.count(i)) << p.id;
      continue;
    }
    const int age = 2024 - std::stoi(p.date_of_birth.substr(0, 4));
    n[age >= 50] += 1;
    hits[age >= 50] += none.count(i);
  }
  const double expected[2] = {kNoNhsRateUnder50, kNoNhsRate50Plus};
  for (int b = 0; b < 2; ++b) {
    const double sd_b = std::sqrt(expected[b] * (1 - expected[b]) / n[b]);
    EXPECT_NEAR(hits[b] / n[b], expected[b], 5 * sd_b) << "band " << b << " n=" << n[b];
  }
  const double overall = static_cast<double>(none.size()) / pop.persons.size();
  EXPECT_GE(overall, 0.005);
  EXPECT_LE(overall, 0.01);
}

// --scale-errors 0: the same persons (population structure does not
// scale), every record clean; no record-error hard case.
TEST(Generator, ScaleZeroGivesCleanRecordsOfTheSamePopulation) {
  GeneratedPopulation clean;
  GeneratorOptions o;
  o.persons = 20000;
  o.seed = 42;
  o.error_scale = 0;
  ASSERT_TRUE(GeneratePopulation(o, &clean).ok());
  const auto& pop = Population();
  ASSERT_EQ(clean.persons.size(), pop.persons.size());
  const std::set<std::string> structure = {"twin", "parent_child_same_name", "common_name_close_dob", "junk",
                                           "no_nhs_anywhere"};
  for (size_t i = 0; i < pop.persons.size(); ++i) {
    const TruePerson& a = pop.persons[i];
    const TruePerson& b = clean.persons[i];
    ASSERT_EQ(a.id, b.id);
    EXPECT_EQ(a.nhs_number, b.nhs_number);
    EXPECT_EQ(a.family_name, b.family_name);
    EXPECT_EQ(a.given_names, b.given_names);
    EXPECT_EQ(a.date_of_birth, b.date_of_birth);
    EXPECT_EQ(a.address, b.address);
    EXPECT_EQ(a.other_family_name, b.other_family_name);
    std::set<std::string> sa, sb;
    for (const auto& h : a.hard_cases)
      if (structure.count(h)) sa.insert(h);
    for (const auto& h : b.hard_cases) {
      if (structure.count(h))
        sb.insert(h);
      else
        EXPECT_EQ(h, "marriage_name_change") << b.id;
    }
    EXPECT_EQ(sa, sb) << a.id;
  }
  for (const GeneratedRecord& r : clean.records) {
    const TruePerson& p = clean.persons[r.person];
    EXPECT_EQ(r.errors, 0u);
    EXPECT_FALSE(r.nhs_withheld);
    EXPECT_FALSE(r.duplicate);
    if (!p.hard_cases.empty() && p.hard_cases[0] == "junk") continue;
    EXPECT_EQ(r.nhs_number, p.nhs_number);
    EXPECT_EQ(r.family_name, r.old_identity ? p.maiden_name : p.family_name);
    EXPECT_EQ(r.given_names, p.given_names);
    auto [y, m, d] = ParseAnyDate(r.date_of_birth);
    EXPECT_EQ(absl::StrFormat("%04d-%02d-%02d", y, m, d), p.date_of_birth);
    EXPECT_EQ(r.postcode, r.old_identity ? p.previous_postcode : p.postcode);
    EXPECT_EQ(r.sex, std::string(1, p.sex));
  }
}

TEST(Generator, PostcodesValidUnlessCorrupted) {
  std::set<std::string> districts;
  for (const auto& d : gi::Districts()) districts.insert(d.code);
  const std::regex format("([A-Z]{1,2}[0-9]{1,2}) [0-9][ABDEFGHJLNPQRSTUWXYZ]{2}");
  const uint32_t corrupt =
      (1u << error_kind::kPostcodeLower) | (1u << error_kind::kPostcodeNoSpace) | (1u << error_kind::kPostcodeMissing);
  int checked = 0;
  for (const auto& r : Population().records) {
    if ((r.errors & corrupt) != 0 || r.postcode.empty()) continue;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(r.postcode, m, format)) << r.postcode;
    EXPECT_TRUE(districts.count(m[1].str())) << r.postcode;
    ++checked;
  }
  EXPECT_GT(checked, 40000);
}

TEST(Generator, RejectsBadOptions) {
  GeneratedPopulation pop;
  GeneratorOptions o;
  o.persons = 0;
  EXPECT_EQ(GeneratePopulation(o, &pop).code(), absl::StatusCode::kInvalidArgument);
  o.persons = 10;
  o.error_scale = -1;
  EXPECT_EQ(GeneratePopulation(o, &pop).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(GeneratedFiles, TruthCoversEveryFeedRowAndNoMore) {
  std::set<std::pair<std::string, std::string>> feed_keys;
  for (const SourceInfo& s : GeneratorSources()) {
    auto rows = ReadCsv(*dir_ / (s.code + ".csv"));
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows[0], (std::vector<std::string>{"source", "record_id", "nhs_number", "family_name", "given_names",
                                                 "date_of_birth", "sex", "postcode", "address", "restricted"}));
    for (size_t i = 1; i < rows.size(); ++i) {
      ASSERT_EQ(rows[i].size(), 10u) << s.code << " row " << i;
      EXPECT_EQ(rows[i][0], s.code);
      EXPECT_TRUE(rows[i][9] == "0" || rows[i][9] == "1");
      EXPECT_TRUE(feed_keys.insert({rows[i][0], rows[i][1]}).second) << rows[i][1];
      for (const auto& f : rows[i]) {
        bool person_id = f.size() == 8 && f[0] == 'P' && f.find_first_not_of("0123456789", 1) == std::string::npos;
        EXPECT_FALSE(person_id) << "person id in feed: " << f;
      }
    }
  }
  auto truth = ReadCsv(*dir_ / "truth.csv");
  EXPECT_EQ(truth[0], (std::vector<std::string>{"source", "record_id", "person"}));
  std::set<std::pair<std::string, std::string>> truth_keys;
  for (size_t i = 1; i < truth.size(); ++i) {
    EXPECT_TRUE(truth_keys.insert({truth[i][0], truth[i][1]}).second);
  }
  EXPECT_EQ(feed_keys, truth_keys);
  EXPECT_EQ(feed_keys.size(), summary_.records);
}

TEST_F(GeneratedFiles, OneDateFormatPerFile) {
  const std::map<DateFormat, std::regex> formats = {
      {DateFormat::kIso, std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2}")},
      {DateFormat::kDayMonthYear, std::regex("[0-9]{2}/[0-9]{2}/[0-9]{4}")},
      {DateFormat::kCompact, std::regex("[0-9]{8}")}};
  std::set<DateFormat> used;
  for (const SourceInfo& s : GeneratorSources()) {
    auto rows = ReadCsv(*dir_ / (s.code + ".csv"));
    used.insert(s.date_format);
    for (size_t i = 1; i < rows.size(); ++i) {
      if (rows[i][5].empty()) continue;
      EXPECT_TRUE(std::regex_match(rows[i][5], formats.at(s.date_format))) << s.code << ": " << rows[i][5];
    }
  }
  EXPECT_EQ(used.size(), 3u);
}

TEST_F(GeneratedFiles, ObjectionsAndHardCasesFiles) {
  auto obj = ReadCsv(*dir_ / "objections.csv");
  auto obj_truth = ReadCsv(*dir_ / "objections_truth.csv");
  EXPECT_EQ(obj[0],
            (std::vector<std::string>{"nhs_number", "family_name", "given_names", "date_of_birth", "postcode"}));
  EXPECT_EQ(obj_truth[0], (std::vector<std::string>{"row", "person"}));
  ASSERT_EQ(obj.size(), obj_truth.size());
  EXPECT_NEAR(static_cast<double>(obj.size() - 1) / 6000, 0.02, 0.008);
  int with_nhs = 0;
  for (size_t i = 1; i < obj.size(); ++i) {
    EXPECT_EQ(obj_truth[i][0], std::to_string(i));
    with_nhs += !obj[i][0].empty();
  }
  EXPECT_NEAR(static_cast<double>(with_nhs) / (obj.size() - 1), 0.7, 0.12);
  auto hard = ReadCsv(*dir_ / "hard_cases.csv");
  EXPECT_EQ(hard[0], (std::vector<std::string>{"person", "hard_case"}));
  EXPECT_GT(hard.size(), 20u);
  EXPECT_TRUE(fs::exists(*dir_ / "manifest.json"));
}

// hard_cases.csv lists the new cases, manifest.json counts them, and a row
// that carries a relative's NHS number is still assigned to its own person
// in truth.csv.
TEST_F(GeneratedFiles, NewHardCasesListedCountedAndTrue) {
  std::map<std::string, int> listed;
  auto hard = ReadCsv(*dir_ / "hard_cases.csv");
  for (size_t i = 1; i < hard.size(); ++i) ++listed[hard[i][1]];
  for (const char* h : {"twin_no_nhs", "relative_nhs_number", "estimated_dob", "sikh_muslim_naming",
                        "double_barrel_order", "no_nhs_anywhere", "marriage_name_change"}) {
    EXPECT_GT(listed[h], 0) << h;
  }
  const std::string manifest = ReadFile(*dir_ / "manifest.json");
  for (const auto& [h, n] : listed) {
    EXPECT_NE(manifest.find(absl::StrFormat("\"%s\": %d", h, n)), std::string::npos) << h;
    EXPECT_EQ(summary_.hard_cases[h], static_cast<uint64_t>(n)) << h;
  }
  EXPECT_EQ(summary_.hard_cases.size(), listed.size());
  EXPECT_NE(manifest.find("\"no_nhs_anywhere_aged_18_49\": 0.01"), std::string::npos);
  EXPECT_NE(manifest.find("\"nhs_relative\""), std::string::npos);

  GeneratedPopulation pop;
  GeneratorOptions o;
  o.persons = 6000;
  o.seed = 7;
  ASSERT_TRUE(GeneratePopulation(o, &pop).ok());
  std::map<std::pair<std::string, std::string>, std::string> truth;
  auto rows = ReadCsv(*dir_ / "truth.csv");
  for (size_t i = 1; i < rows.size(); ++i) truth[{rows[i][0], rows[i][1]}] = rows[i][2];
  std::map<std::pair<std::string, std::string>, std::string> nhs_in_feed;
  for (const SourceInfo& s : GeneratorSources()) {
    auto feed = ReadCsv(*dir_ / (s.code + ".csv"));
    for (size_t i = 1; i < feed.size(); ++i) nhs_in_feed[{feed[i][0], feed[i][1]}] = feed[i][2];
  }
  int checked = 0;
  for (const GeneratedRecord& r : pop.records) {
    if ((r.errors & (1u << error_kind::kNhsRelative)) == 0) continue;
    const std::pair<std::string, std::string> key{r.source, r.record_id};
    EXPECT_EQ(truth[key], pop.persons[r.person].id);
    EXPECT_EQ(nhs_in_feed[key], r.nhs_number);
    EXPECT_NE(nhs_in_feed[key], pop.persons[r.person].nhs_number);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST_F(GeneratedFiles, SameSeedSameBytesWhateverTheThreads) {
  fs::path other = *dir_ / "again";
  GeneratorOptions o;
  o.persons = 6000;
  o.seed = 7;
  o.threads = 1;
  o.progress = false;
  ASSERT_TRUE(Generate(o, other.string(), nullptr).ok());
  for (const auto& entry : fs::directory_iterator(other)) {
    EXPECT_EQ(ReadFile(entry.path()), ReadFile(*dir_ / entry.path().filename())) << entry.path().filename();
  }
  // At another error scale too, with three threads against one.
  o.error_scale = 0.5;
  fs::path half1 = *dir_ / "half1", half3 = *dir_ / "half3";
  ASSERT_TRUE(Generate(o, half1.string(), nullptr).ok());
  o.threads = 3;
  ASSERT_TRUE(Generate(o, half3.string(), nullptr).ok());
  for (const auto& entry : fs::directory_iterator(half1)) {
    EXPECT_EQ(ReadFile(entry.path()), ReadFile(half3 / entry.path().filename())) << entry.path().filename();
  }
  EXPECT_NE(ReadFile(half1 / "RKB.csv"), ReadFile(*dir_ / "RKB.csv"));
  EXPECT_NE(ReadFile(half1 / "hard_cases.csv").find("no_nhs_anywhere"), std::string::npos);
  o.error_scale = 1;
  o.threads = 1;
  fs::path different = *dir_ / "different";
  o.seed = 8;
  ASSERT_TRUE(Generate(o, different.string(), nullptr).ok());
  EXPECT_NE(ReadFile(different / "truth.csv"), ReadFile(*dir_ / "truth.csv"));
  EXPECT_NE(ReadFile(different / "RKB.csv"), ReadFile(*dir_ / "RKB.csv"));
}

}  // namespace
}  // namespace empi

namespace empi {
namespace {

TEST(GeneratorText, CaseAndDiacritics) {
  EXPECT_EQ(generator_internal::ToUpperUtf8("Zoë Łukasik"), "ZOË ŁUKASIK");
  EXPECT_EQ(generator_internal::ToLowerUtf8("ŁUKASZ Siân"), "łukasz siân");
  EXPECT_EQ(generator_internal::FoldDiacritics("Łukasz Wiśniewski Zoltán Renée"), "Lukasz Wisniewski Zoltan Renee");
  generator_internal::Rng rng(1, 2);
  for (int i = 0; i < 200; ++i) {
    std::string t = generator_internal::MakeTypo("Małgorzata", rng);
    EXPECT_NE(t, "Małgorzata");
    EXPECT_EQ(generator_internal::EncodeUtf8(generator_internal::DecodeUtf8(t)), t);
  }
}

}  // namespace
}  // namespace empi
