// Copyright EMPI developers.
//
// Generation speed in memory (no files): persons per second on one thread.
#include "benchmark/benchmark.h"
#include "datasets/generator/generator.h"

namespace {

void BM_GeneratePopulation(benchmark::State& state) {
  empi::GeneratorOptions options;
  options.persons = static_cast<uint64_t>(state.range(0));
  options.seed = 1;
  uint64_t records = 0;
  for (auto _ : state) {
    empi::GeneratedPopulation pop;
    if (!empi::GeneratePopulation(options, &pop).ok()) state.SkipWithError("generate failed");
    records = pop.records.size();
    benchmark::DoNotOptimize(pop);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["records"] = static_cast<double>(records);
}
BENCHMARK(BM_GeneratePopulation)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
