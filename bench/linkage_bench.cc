// Copyright EMPI developers.
//
// Pair comparison and scoring throughput, candidate generation.
//   build/bench/linkage_bench --benchmark_filter=.
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/linkage/blocking.h"
#include "engine/linkage/model.h"

namespace empi {
namespace {

const char* kFamily[] = {"smith",   "jones",  "khan",   "patel",    "nowak",    "o'brien", "williams",
                         "taylor",  "brown",  "davies", "evans",    "wilson",   "thomas",  "roberts",
                         "johnson", "walker", "wright", "robinson", "thompson", "white",   "hughes",
                         "edwards", "green",  "hall",   "wood",     "harris",   "lewis",   "martin",
                         "jackson", "clarke", "begum",  "hussain",  "kowalski"};
const char* kGiven[] = {"margaret", "john",     "mohammed", "olivia",    "jack",    "susan",     "david",
                        "amelia",   "lukasz",   "sian",     "zoe",       "william", "elizabeth", "james",
                        "harold",   "dorothy",  "paul",     "julie",     "oliver",  "muhammad",  "aisha",
                        "fatima",   "gurpreet", "piotr",    "katarzyna", "emma"};
const char* kStreet[] = {"high street", "station road", "church lane", "victoria road", "park avenue",
                         "london road", "the crescent", "mill lane",   "queens road",   "kings road"};

std::vector<Record> MakeRecords(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Record> out(n);
  for (size_t i = 0; i < n; ++i) {
    Record& r = out[i];
    r.source = "GP";
    r.record_id = std::to_string(i);
    r.family_name = kFamily[rng() % std::size(kFamily)];
    r.given_names = std::string(kGiven[rng() % std::size(kGiven)]) + " " + kGiven[rng() % std::size(kGiven)];
    char dob[16];
    std::snprintf(dob, sizeof(dob), "%04u-%02u-%02u", static_cast<unsigned>(1930 + rng() % 70),
                  static_cast<unsigned>(1 + rng() % 12), static_cast<unsigned>(1 + rng() % 28));
    r.date_of_birth = dob;
    char pc[16];
    std::snprintf(pc, sizeof(pc), "CV%u %u%c%c", static_cast<unsigned>(1 + rng() % 40),
                  static_cast<unsigned>(rng() % 10), "ABDEFGHJLN"[rng() % 10], "PQRSTUWXYZ"[rng() % 10]);
    r.postcode = pc;
    r.address = std::to_string(1 + rng() % 200) + " " + kStreet[rng() % std::size(kStreet)] + ", coventry";
    r.sex = rng() % 2 ? "F" : "M";
  }
  return out;
}

std::vector<PreparedRecord> Prepared(size_t n) {
  std::vector<PreparedRecord> p;
  for (const Record& r : MakeRecords(n, 7)) p.push_back(PrepareRecord(r, FieldConventions{}));
  return p;
}

// Random (mostly non-matching) pairs: the worst case, every string
// comparator runs.
void BM_ComparePairRandom(benchmark::State& state) {
  auto p = Prepared(4096);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ComparePair(p[i & 4095], p[(i * 7 + 13) & 4095]));
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ComparePairRandom);

// Candidate pairs as blocking yields them: the same person with a typo.
void BM_ScoreCandidatePair(benchmark::State& state) {
  auto records = MakeRecords(4096, 7);
  std::vector<PreparedRecord> a, b;
  for (Record r : records) {
    a.push_back(PrepareRecord(r, FieldConventions{}));
    if (!r.given_names.empty()) r.given_names[1] = 'x';
    b.push_back(PrepareRecord(r, FieldConventions{}));
  }
  Model model = Model::Default();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.Score(a[i & 4095], b[i & 4095]));
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ScoreCandidatePair);

void BM_GenerateCandidates(benchmark::State& state) {
  auto p = Prepared(static_cast<size_t>(state.range(0)));
  BlockingRules rules = BlockingRules::Default();
  std::vector<BlockKeys> keys;
  for (const auto& r : p) keys.push_back(ComputeBlockKeys(rules, r));
  std::vector<bool> stored(p.size(), false);
  uint64_t pairs = 0;
  for (auto _ : state) {
    BlockingReport report;
    pairs = GenerateCandidates(p, keys, stored, rules, 300, &report).size();
  }
  state.counters["pairs"] = static_cast<double>(pairs);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * p.size()));
}
BENCHMARK(BM_GenerateCandidates)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace empi
