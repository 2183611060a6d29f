// Copyright EMPI developers.
//
// Real-time engine latencies on a synthetic store built through Ingest
// (kPatients patients, about 2 records each; a 1M-record store takes too long
// to build inside a benchmark run on 2 shared cores). Each read is audited
// with a synced commit, as in production. p50/p99 are reported as counters.
//
//   build-realtime/bench/realtime_bench --benchmark_min_time=2
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>

#include "benchmark/benchmark.h"
#include "empi/engine.h"
#include "tests/engine/realtime/test_population.h"

namespace empi {
namespace {

constexpr int kPatients = 5000;

struct Fixture {
  std::string path;
  std::unique_ptr<Engine> engine;
  std::vector<testing::Patient> patients;
  Fixture() {
    path = (std::filesystem::temp_directory_path() / ("empi_rt_bench_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(path);
    EngineOptions o;
    o.sync = false;  // building only
    engine = std::move(*Engine::Open(o, path));
    patients = testing::MakePatients(kPatients, 3);
    Requester who;
    for (int i = 0; i < kPatients; ++i) {
      (void)engine->Ingest(testing::RecordOf(patients[i], "M84001", "G" + std::to_string(i), true), who);
      (void)engine->Ingest(testing::RecordOf(patients[i], "RKB", "K" + std::to_string(i), i % 2), who);
    }
    engine.reset();
    engine = std::move(*Engine::Open({}, path));  // sync = true from here
  }
  ~Fixture() {
    engine.reset();
    std::filesystem::remove_all(path);
  }
};

Fixture& Get() {
  static Fixture* f = new Fixture();
  return *f;
}

template <typename Fn>
void Measure(benchmark::State& state, Fn fn) {
  std::vector<double> us;
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    fn(static_cast<int>(rng() % kPatients), us.size());
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
}

void BM_Resolve(benchmark::State& state) {
  Fixture& f = Get();
  Requester who;
  Measure(state, [&](int i, size_t) { benchmark::DoNotOptimize(f.engine->Resolve("RKB", "K" + std::to_string(i), who)); });
}
void BM_ViewDecision(benchmark::State& state) {
  Fixture& f = Get();
  Requester who;
  Measure(state, [&](int i, size_t) {
    benchmark::DoNotOptimize(f.engine->MayAssembleViewForRecord("M84001", "G" + std::to_string(i), who));
  });
}
void BM_Search(benchmark::State& state) {
  Fixture& f = Get();
  Requester who;
  Measure(state, [&](int i, size_t) {
    const auto& p = f.patients[i];
    benchmark::DoNotOptimize(f.engine->Search({"", p.family, p.given, p.dob, p.postcode, ""}, who));
  });
}
void BM_Ingest(benchmark::State& state) {
  Fixture& f = Get();
  Requester who;
  static uint64_t n = 0;
  Measure(state, [&](int i, size_t) {
    benchmark::DoNotOptimize(
        f.engine->Ingest(testing::RecordOf(f.patients[i], "RYA", "A" + std::to_string(n++), i % 3 == 0), who));
  });
}

BENCHMARK(BM_Resolve)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ViewDecision)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Search)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Ingest)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace empi
