// Copyright EMPI developers.
//
// test_population.h: small synthetic populations of clearly distinct
// patients for the real-time engine tests, and the store invariants every
// test checks.
#ifndef EMPI_TESTS_ENGINE_REALTIME_TEST_POPULATION_H_
#define EMPI_TESTS_ENGINE_REALTIME_TEST_POPULATION_H_

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "empi/engine.h"
#include "gtest/gtest.h"
#include "matchers/nhs_number.h"
#include "tests/index/store_invariants.h"
#include "tests/temp_dir.h"

namespace empi::testing {

struct Patient {
  std::string nhs, family, given, dob, postcode, sex;
};

inline std::string ValidNhs(uint64_t seed) {
  for (uint64_t n = 400000000 + seed * 37;; ++n) {
    std::string nine = std::to_string(n);
    int c = NhsCheckDigit(nine);
    if (c >= 0) return nine + std::to_string(c);
  }
}

// A family at `family`'s address: the father (Gareth, born 1958, with
// `family`'s number) and his son (with `son_nhs`).
struct FatherAndSon {
  Patient father, son;
};
inline FatherAndSon MakeFatherAndSon(const Patient& family, const std::string& son_nhs,
                                     const std::string& son_given = "Owen", const std::string& son_dob = "1990-06-14") {
  FatherAndSon f{family, family};
  f.father.given = "Gareth";
  f.father.dob = "1958-03-02";
  f.son.given = son_given;
  f.son.dob = son_dob;
  f.son.nhs = son_nhs;
  return f;
}

// Patients with distinct names, dates of birth and postcodes.
inline std::vector<Patient> MakePatients(int n, uint64_t seed) {
  static const char* kFamily[] = {"Nowak",      "Okafor",     "Whitfield",  "Barraclough", "Quigley",    "Featherstone",
                                  "Achterberg", "Montgomery", "Kowalczyk",  "Ramsbottom",  "Delacroix",  "Oyelaran",
                                  "Pemberton",  "Szymanski",  "Tretheway",  "Vanderbilt",  "Wojcik",     "Yeardley",
                                  "Zielinski",  "Abernethy",  "Blenkinsop", "Castellanos", "Drinkwater", "Etherington"};
  static const char* kGiven[] = {"Lukasz",     "Chidi",      "Harriet", "Ambrose",   "Fionnuala", "Tobias",
                                 "Marguerite", "Rashid",     "Ingrid",  "Cornelius", "Perpetua",  "Oluwaseun",
                                 "Barnaby",    "Wilhelmina", "Evander", "Ottoline",  "Leopold",   "Seraphina"};
  std::vector<Patient> out;
  for (int i = 0; i < n; ++i) {
    Patient p;
    p.nhs = ValidNhs(seed * 1000 + i);
    p.family = std::string(kFamily[i % 24]) + (i >= 24 ? "-" + std::string(kFamily[(i / 24 + i) % 24]) : "");
    p.given = kGiven[(i * 7 + seed) % 18];
    p.dob = std::to_string(1940 + (i * 3) % 60) + "-" + (i % 12 < 9 ? "0" : "") + std::to_string(i % 12 + 1) + "-" +
            std::to_string(10 + i % 18);
    p.postcode =
        "CV" + std::to_string(1 + i % 9) + " " + std::to_string(i % 10) + char('A' + i % 26) + char('A' + (i * 5) % 26);
    p.sex = i % 2 ? "F" : "M";
    out.push_back(p);
  }
  return out;
}

inline Record RecordOf(const Patient& p, std::string source, std::string id, bool with_nhs) {
  Record r;
  r.source = std::move(source);
  r.record_id = std::move(id);
  if (with_nhs) r.nhs_number = p.nhs;
  r.family_name = p.family;
  r.given_names = p.given;
  r.date_of_birth = p.dob;
  r.postcode = p.postcode;
  r.sex = p.sex;
  return r;
}

// An engine on the store in `dir` (unsynced; ages computed on `today`,
// the system date when empty); null, with a failure recorded, if it does
// not open.
inline std::unique_ptr<Engine> OpenTestEngine(const std::string& dir, const std::string& today = "2026-01-01") {
  EngineOptions o;
  o.sync = false;
  o.today = today;
  auto e = Engine::Open(o, dir);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? std::move(*e) : nullptr;
}

// An engine on a store in a temp directory (unsynced; ages computed on
// 2026-01-01), and the patients a test ingests.
class EngineFixture : public ::testing::Test {
 protected:
  // Closes the engine (if open) and opens it again on the same store.
  void Reopen() {
    engine_.reset();
    engine_ = OpenTestEngine(dir_.path());
    ASSERT_NE(engine_, nullptr);
  }
  TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::vector<Patient> patients_;
  Requester who_;
};

}  // namespace empi::testing

#endif  // EMPI_TESTS_ENGINE_REALTIME_TEST_POPULATION_H_
