// Copyright EMPI developers.
//
// linkage_test_util.h: synthetic records for the linkage tests: persons
// drawn from small pools of names, dates and postcodes, each with noisy
// copies (typos, given/family swaps, nicknames, day/month swaps, digit
// errors, moved house within a sector or district), so every comparison
// level is exercised.
//
//   RecordGenerator gen(/*seed=*/7);
//   Record truth = gen.Person();
//   Record copy = gen.Noisy(truth);
//
// Thread-safety: a RecordGenerator is not thread-safe.
#ifndef EMPI_TESTS_ENGINE_LINKAGE_LINKAGE_TEST_UTIL_H_
#define EMPI_TESTS_ENGINE_LINKAGE_LINKAGE_TEST_UTIL_H_

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "empi/record.h"
#include "matchers/nhs_number.h"

namespace empi::testing_linkage {

inline const std::vector<std::string>& FamilyPool() {
  static const std::vector<std::string> k = {
      "Smith",    "Smyth",  "Smithe",  "Jones",    "Smith-Jones",  "Taylor",   "Brown",  "Browne",
      "Williams", "Wilson", "Johnson", "Davies",   "Davis",        "Robinson", "Wright", "Thompson",
      "Thomson",  "Evans",  "Walker",  "White",    "Roberts",      "Green",    "Hall",   "Wood",
      "Jackson",  "Clarke", "Clark",   "O'Brien",  "Van der Berg", "Thomas",   "Lee",    "Ali",
      "Khan",     "Begum",  "Nowak",   "Kowalski", "Anne",         "James",    "Mary"};
  return k;
}

inline const std::vector<std::string>& GivenPool() {
  static const std::vector<std::string> k = {
      "William",  "Bill",   "Billy",  "Robert", "Bob",  "Elizabeth", "Liz", "Beth",      "Margaret",
      "Peggy",    "John",   "Jon",    "Jack",   "Mary", "Thomas",    "Tom", "Catherine", "Katherine",
      "Kathryn",  "James",  "Jim",    "Ann",    "Anne", "Anna",      "Lee", "Smith",     "Mohammed",
      "Muhammad", "Lukasz", "Sophie", "Sofia",  "J",    "M",         "T"};
  return k;
}

inline const std::vector<std::string>& PostcodePool() {
  static const std::vector<std::string> k = {"CV1 2AB", "CV1 2AD", "CV1 2XY",  "CV1 3XY",  "CV2 1AA", "CV3 4BB",
                                             "B1 1AA",  "B1 2BB",  "B2 4QA",   "LS1 1UR",  "LS6 2AB", "LS6 3CD",
                                             "M1 1AE",  "M14 5RT", "SW1A 1AA", "SW1A 2AA", "EC1A 1BB"};
  return k;
}

inline const std::vector<std::string>& StreetPool() {
  static const std::vector<std::string> k = {"High Street", "Station Road", "Church Lane",
                                             "Park Avenue", "Mill Road",    "Victoria Street"};
  return k;
}

class RecordGenerator {
 public:
  explicit RecordGenerator(uint64_t seed) : rng_(seed) {}

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Uniform(0, static_cast<int>(v.size()) - 1))];
  }

  // A valid ten-digit NHS number.
  std::string NhsNumber() {
    for (;;) {
      std::string nine;
      for (int i = 0; i < 9; ++i) nine.push_back(static_cast<char>('0' + Uniform(0, 9)));
      int check = NhsCheckDigit(nine);
      if (check < 0) continue;
      std::string ten = nine + static_cast<char>('0' + check);
      if (ParseNhsNumber(ten)) return ten;
    }
  }

  std::string Date() {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", Uniform(1930, 2015), Uniform(1, 12), Uniform(1, 28));
    return buf;
  }

  // A fresh person with every field filled (some left empty at random).
  Record Person() {
    Record r;
    r.source = Chance(0.5) ? "RKB" : "RLT";
    r.record_id = "P" + std::to_string(next_id_++);
    r.nhs_number = Chance(0.8) ? NhsNumber() : "";
    r.family_name = Pick(FamilyPool());
    r.given_names = Pick(GivenPool());
    if (Chance(0.3)) r.given_names += " " + Pick(GivenPool());
    if (Chance(0.03)) r.given_names = r.family_name;  // "Thomas Thomas"
    r.date_of_birth = Chance(0.95) ? Date() : "";
    r.sex = Chance(0.45) ? "M" : Chance(0.9) ? "F" : "";
    r.postcode = Chance(0.9) ? Pick(PostcodePool()) : "";
    r.address = Chance(0.8) ? std::to_string(Uniform(1, 60)) + " " + Pick(StreetPool()) : "";
    return r;
  }

  // A typing error: substitution, deletion, insertion or transposition.
  std::string Typo(std::string s) {
    if (s.size() < 2) return s;
    size_t i = static_cast<size_t>(Uniform(0, static_cast<int>(s.size()) - 2));
    switch (Uniform(0, 3)) {
      case 0: s[i] = static_cast<char>('a' + Uniform(0, 25)); break;
      case 1: s.erase(i, 1); break;
      case 2: s.insert(i, 1, static_cast<char>('a' + Uniform(0, 25))); break;
      default: std::swap(s[i], s[i + 1]); break;
    }
    return s;
  }

  // Another contributor's copy of `r`, with errors.
  Record Noisy(const Record& r) {
    Record c = r;
    c.source = Chance(0.5) ? "RJC" : "RYA";
    c.record_id = "N" + std::to_string(next_id_++);
    if (Chance(0.15)) c.family_name = Typo(c.family_name);
    if (Chance(0.15)) c.given_names = Typo(c.given_names);
    if (Chance(0.08)) std::swap(c.family_name, c.given_names);
    if (Chance(0.08)) c.given_names = Pick(GivenPool());  // maybe a nickname
    if (Chance(0.05) && !c.given_names.empty()) c.given_names = c.given_names.substr(0, 1);
    if (Chance(0.05)) c.family_name = Pick(FamilyPool());  // married
    if (Chance(0.1)) c.nhs_number = "";
    if (Chance(0.1) && c.nhs_number.size() == 10) {
      // One digit wrong or two adjacent digits transposed: invalid under
      // the check digit, so only compared when NHS validation is off.
      size_t i = static_cast<size_t>(Uniform(0, 8));
      if (Chance(0.5))
        std::swap(c.nhs_number[i], c.nhs_number[i + 1]);
      else
        c.nhs_number[i] = static_cast<char>('0' + (c.nhs_number[i] - '0' + 1) % 10);
    }
    if (c.date_of_birth.size() == 10) {
      if (Chance(0.08)) {  // day and month swapped
        std::string d = c.date_of_birth;
        c.date_of_birth = d.substr(0, 5) + d.substr(8, 2) + "-" + d.substr(5, 2);
      } else if (Chance(0.08)) {  // one digit wrong
        static const size_t kPos[] = {2, 3, 6, 9};
        size_t i = kPos[Uniform(0, 3)];
        c.date_of_birth[i] = static_cast<char>('0' + (c.date_of_birth[i] - '0' + 1) % 10);
      } else if (Chance(0.05)) {  // year one apart
        int y = std::stoi(c.date_of_birth.substr(0, 4)) + (Chance(0.5) ? 1 : -1);
        c.date_of_birth = std::to_string(y) + c.date_of_birth.substr(4);
      }
    }
    if (Chance(0.15)) c.postcode = Pick(PostcodePool());
    if (Chance(0.1)) c.sex = "";
    if (Chance(0.03)) c.family_name = "";
    if (Chance(0.03)) c.given_names = "Unknown";  // a placeholder: no name
    if (Chance(0.15) && !c.address.empty()) c.address = Typo(c.address);
    return c;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  uint64_t next_id_ = 1;
};

// How TwoContributorFeed's RLT copies differ from the RKB records.
struct SecondCopies {
  // RecordGenerator::Noisy; otherwise the given names carry a typo on
  // every second patient.
  bool noisy = false;
  // > 0: the NHS number is missing on every drop_nhs_every-th patient.
  int drop_nhs_every = 0;
};

// Patients from `gen` with a record at RKB (K<n>) and, for two in three,
// one at RLT (L<n>) made as `copies` says.
inline std::vector<Record> TwoContributorFeed(RecordGenerator& gen, int patients, SecondCopies copies = {}) {
  std::vector<Record> out;
  for (int p = 0; p < patients; ++p) {
    Record t = gen.Person();
    t.source = "RKB";
    t.record_id = "K" + std::to_string(p);
    t.nhs_number = gen.NhsNumber();
    if (t.date_of_birth.empty()) t.date_of_birth = gen.Date();
    out.push_back(t);
    if (p % 3 != 0) {
      Record c = copies.noisy ? gen.Noisy(t) : t;
      c.source = "RLT";
      c.record_id = "L" + std::to_string(p);
      if (!copies.noisy && p % 2 == 0) c.given_names = gen.Typo(c.given_names);
      if (copies.drop_nhs_every > 0 && p % copies.drop_nhs_every == 0) c.nhs_number.clear();
      out.push_back(c);
    }
  }
  return out;
}

inline std::vector<Record> TwoContributorFeed(uint64_t seed, int patients, int drop_nhs_every = 0) {
  RecordGenerator gen(seed);
  return TwoContributorFeed(gen, patients, {.drop_nhs_every = drop_nhs_every});
}

}  // namespace empi::testing_linkage

#endif  // EMPI_TESTS_ENGINE_LINKAGE_LINKAGE_TEST_UTIL_H_
