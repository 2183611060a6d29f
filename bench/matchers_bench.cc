// Copyright EMPI developers.
//
// Microbenchmarks for the matchers on realistic 5-10 character names.
//   ninja -C build-matchers matchers_bench && build-matchers/bench/matchers_bench
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "matchers/jaro_winkler.h"
#include "matchers/name_normalizer.h"
#include "matchers/phonetic.h"
#include "matchers/postcode.h"

namespace empi {
namespace {

const std::vector<std::string>& Names() {
  static const std::vector<std::string> kNames = {
      "smith",      "jones",     "williams", "taylor",   "brown",     "davies",   "evans",    "wilson",  "thomas",
      "johnson",    "roberts",   "robinson", "thompson", "wright",    "walker",   "white",    "edwards", "hughes",
      "green",      "hall",      "lewis",    "harris",   "clarke",    "patel",    "jackson",  "wood",    "turner",
      "martin",     "cooper",    "hill",     "ward",     "morris",    "moore",    "clark",    "lee",     "king",
      "baker",      "harrison",  "morgan",   "allen",    "james",     "scott",    "phillips", "watson",  "davis",
      "parker",     "price",     "bennett",  "young",    "griffiths", "mitchell", "kelly",    "cook",    "carter",
      "richardson", "bailey",    "collins",  "bell",     "shaw",      "murphy",   "miller",   "cox",     "richards",
      "khan",       "marshall",  "anderson", "simpson",  "ellis",     "adams",    "singh",    "begum",   "wilkinson",
      "foster",     "chapman",   "powell",   "webb",     "rogers",    "gray",     "mason",    "ali",     "hunt",
      "hussain",    "campbell",  "matthews", "owen",     "palmer",    "holmes",   "mills",    "barnes",  "knight",
      "lloyd",      "butler",    "russell",  "barker",   "fisher",    "stevens",  "jenkins",  "murray",  "dixon",
      "harvey",     "catherine", "kathryn",  "mohammed", "lukasz",    "margaret",
  };
  return kNames;
}

// Average length of the name list: the benchmarks report per comparison.
void BM_JaroWinklerPlain(benchmark::State& state) {
  const auto& names = Names();
  size_t i = 0, j = 37;
  for (auto _ : state) {
    benchmark::DoNotOptimize(JaroWinkler(names[i], names[j]));
    if (++i == names.size()) i = 0;
    if (++j == names.size()) j = 0;
  }
}
BENCHMARK(BM_JaroWinklerPlain);

void BM_JaroWinklerCached(benchmark::State& state) {
  const auto& names = Names();
  std::vector<CachedJaroWinkler> probes;
  for (const auto& n : names) probes.emplace_back(n);
  size_t i = 0, j = 37;
  for (auto _ : state) {
    benchmark::DoNotOptimize(probes[i].Similarity(names[j]));
    if (++i == names.size()) i = 0;
    if (++j == names.size()) j = 0;
  }
}
BENCHMARK(BM_JaroWinklerCached);

// One probe scored against many candidates with a cutoff, as blocking does.
void BM_JaroWinklerCachedCutoff(benchmark::State& state) {
  const auto& names = Names();
  CachedJaroWinkler probe("thompson");
  size_t j = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(probe.Similarity(names[j], 0.88));
    if (++j == names.size()) j = 0;
  }
}
BENCHMARK(BM_JaroWinklerCachedCutoff);

void BM_NormalizeNameAscii(benchmark::State& state) {
  const std::vector<std::string> raw = {"SMITH",    "O'Brien",   "Smith-Jones", "Mrs Jane Doe",
                                        "mohammed", "Catherine", "WILLIAMS",    "de la Cruz"};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(NormalizeName(raw[i]));
    if (++i == raw.size()) i = 0;
  }
}
BENCHMARK(BM_NormalizeNameAscii);

void BM_NormalizeNameIcu(benchmark::State& state) {
  const std::vector<std::string> raw = {"Łukasz", "Siân", "Zoë", "Małgorzata", "Иван", "Γιώργος", "José", "Strauß"};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(NormalizeName(raw[i]));
    if (++i == raw.size()) i = 0;
  }
}
BENCHMARK(BM_NormalizeNameIcu);

// Non-ASCII but Latin script: the common case in UK feeds.
void BM_NormalizeNameIcuLatin(benchmark::State& state) {
  const std::vector<std::string> raw = {"Łukasz", "Siân", "Zoë", "Małgorzata", "Chloé", "José", "Strauß", "Dvořák"};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(NormalizeName(raw[i]));
    if (++i == raw.size()) i = 0;
  }
}
BENCHMARK(BM_NormalizeNameIcuLatin);

void BM_DoubleMetaphone(benchmark::State& state) {
  const auto& names = Names();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(DoubleMetaphone(names[i]));
    if (++i == names.size()) i = 0;
  }
}
BENCHMARK(BM_DoubleMetaphone);

void BM_Nysiis(benchmark::State& state) {
  const auto& names = Names();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Nysiis(names[i]));
    if (++i == names.size()) i = 0;
  }
}
BENCHMARK(BM_Nysiis);

void BM_ParsePostcode(benchmark::State& state) {
  const std::vector<std::string> raw = {"CV1 2AB", "cv12ab",   "EC1A 1BB", "M1 1AE",
                                        "B33 8TH", "ZZ99 3VZ", "DN55 1PT", "W1A 0AX"};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ParsePostcode(raw[i]));
    if (++i == raw.size()) i = 0;
  }
}
BENCHMARK(BM_ParsePostcode);

}  // namespace
}  // namespace empi
