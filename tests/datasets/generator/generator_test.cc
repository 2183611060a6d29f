// Copyright EMPI developers.
//
// The generator's promises: valid unique NHS numbers, truth that covers
// every feed row, byte-identical output for a seed whatever the thread
// count, documented error rates, hard cases present, one date format per
// file, valid postcodes, adult ages.
#include "datasets/generator/generator.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

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
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("empi_generator_test_" + std::to_string(::getpid())));
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
      EXPECT_EQ(p.hard_cases[0], "junk");
      continue;
    }
    ASSERT_EQ(p.nhs_number.size(), 10u);
    EXPECT_TRUE(ParseNhsNumber(p.nhs_number).has_value()) << p.nhs_number;
    EXPECT_TRUE(p.nhs_number[0] == '4' || p.nhs_number[0] == '6') << p.nhs_number;
    EXPECT_TRUE(seen.insert(p.nhs_number).second) << "duplicate " << p.nhs_number;
  }
  EXPECT_GT(seen.size(), 19900u);
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
  for (const char* s : {"Smith", "Khan", "Singh", "Kaur", "Patel", "Nowak", "O'Brien", "Okafor",
                        "Jones"}) {
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
    if (p.nhs_number.empty()) continue;  // junk
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
    EXPECT_EQ(r.nhs_number.empty(), (r.errors & (1u << kNhsMissing)) != 0);
    if (r.errors & (1u << kNhsMistyped)) {
      EXPECT_NE(r.nhs_number, p.nhs_number);
      EXPECT_EQ(r.nhs_number.size(), 10u);
    } else if (!r.nhs_number.empty()) {
      EXPECT_EQ(r.nhs_number, p.nhs_number);
    }
    EXPECT_EQ(r.postcode.empty(), (r.errors & (1u << kPostcodeMissing)) != 0);
    EXPECT_EQ(r.date_of_birth.empty(), (r.errors & (1u << kDobMissing)) != 0);
    EXPECT_EQ(r.sex != "M" && r.sex != "F", (r.errors & (1u << kSexUnknown)) != 0);
    if (r.errors & (1u << kCaseNoise)) {
      EXPECT_TRUE(gi::ToUpperUtf8(r.family_name) == r.family_name ||
                  gi::ToLowerUtf8(r.family_name) == r.family_name);
    }
    const uint32_t dob_errors = (1u << kDobDayMonthSwap) | (1u << kDobDigitWrong) |
                                (1u << kDobYearOff) | (1u << kDobPlaceholder) |
                                (1u << kDobMissing);
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
    if ((r.errors & ((1u << kSexWrong) | (1u << kSexUnknown))) == 0) {
      EXPECT_EQ(r.sex, std::string(1, p.sex));
    }
    if ((r.errors & ~((1u << kNhsMissing) | (1u << kNhsMistyped))) == 0 && !r.old_identity &&
        (r.eligible & (1u << kPostcodeOutOfDate))) {
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
      EXPECT_NEAR(observed, expected, 5 * sd + 0.001)
          << "kind " << k << " error " << ErrorKindName(e) << " n=" << n;
    }
    auto [firsts, copies] = dups[k];
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
  for (const char* h : {"twin", "parent_child_same_name", "common_name_close_dob", "junk",
                        "marriage_name_change", "duplicate_registration"}) {
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
    EXPECT_NE(a.given_names.substr(0, a.given_names.find(' ')),
              b.given_names.substr(0, b.given_names.find(' ')));
    EXPECT_NE(a.nhs_number, b.nhs_number);
  }
  const auto& same = cases["parent_child_same_name"];
  for (size_t i = 0; i < same.size(); i += 2) {
    const TruePerson& a = pop.persons[same[i]];
    const TruePerson& b = pop.persons[same[i + 1]];
    EXPECT_EQ(a.family_name, b.family_name);
    EXPECT_EQ(a.given_names.substr(0, a.given_names.find(' ')),
              b.given_names.substr(0, b.given_names.find(' ')));
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

TEST(Generator, PostcodesValidUnlessCorrupted) {
  std::set<std::string> districts;
  for (const auto& d : gi::Districts()) districts.insert(d.code);
  const std::regex format("([A-Z]{1,2}[0-9]{1,2}) [0-9][ABDEFGHJLNPQRSTUWXYZ]{2}");
  const uint32_t corrupt = (1u << kPostcodeLower) | (1u << kPostcodeNoSpace) |
                           (1u << kPostcodeMissing);
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
    EXPECT_EQ(rows[0], (std::vector<std::string>{"source", "record_id", "nhs_number",
                                                  "family_name", "given_names", "date_of_birth",
                                                  "sex", "postcode", "address", "restricted"}));
    for (size_t i = 1; i < rows.size(); ++i) {
      ASSERT_EQ(rows[i].size(), 10u) << s.code << " row " << i;
      EXPECT_EQ(rows[i][0], s.code);
      EXPECT_TRUE(rows[i][9] == "0" || rows[i][9] == "1");
      EXPECT_TRUE(feed_keys.insert({rows[i][0], rows[i][1]}).second) << rows[i][1];
      for (const auto& f : rows[i]) {
        bool person_id = f.size() == 8 && f[0] == 'P' &&
                         f.find_first_not_of("0123456789", 1) == std::string::npos;
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
      EXPECT_TRUE(std::regex_match(rows[i][5], formats.at(s.date_format)))
          << s.code << ": " << rows[i][5];
    }
  }
  EXPECT_EQ(used.size(), 3u);
}

TEST_F(GeneratedFiles, ObjectionsAndHardCasesFiles) {
  auto obj = ReadCsv(*dir_ / "objections.csv");
  auto obj_truth = ReadCsv(*dir_ / "objections_truth.csv");
  EXPECT_EQ(obj[0], (std::vector<std::string>{"nhs_number", "family_name", "given_names",
                                               "date_of_birth", "postcode"}));
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

TEST_F(GeneratedFiles, SameSeedSameBytesWhateverTheThreads) {
  fs::path other = *dir_ / "again";
  GeneratorOptions o;
  o.persons = 6000;
  o.seed = 7;
  o.threads = 1;
  o.progress = false;
  ASSERT_TRUE(Generate(o, other.string(), nullptr).ok());
  for (const auto& entry : fs::directory_iterator(other)) {
    EXPECT_EQ(ReadFile(entry.path()), ReadFile(*dir_ / entry.path().filename()))
        << entry.path().filename();
  }
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
  EXPECT_EQ(generator_internal::FoldDiacritics("Łukasz Wiśniewski Zoltán Renée"),
            "Lukasz Wisniewski Zoltan Renee");
  generator_internal::Rng rng(1, 2);
  for (int i = 0; i < 200; ++i) {
    std::string t = generator_internal::MakeTypo("Małgorzata", rng);
    EXPECT_NE(t, "Małgorzata");
    EXPECT_EQ(generator_internal::EncodeUtf8(generator_internal::DecodeUtf8(t)), t);
  }
}

}  // namespace
}  // namespace empi
