// Copyright EMPI developers.
//
// store_bench: the RocksDB store's write and read paths.
//
//   BM_BulkWrite        records + membership + 4 block keys + NHS key per
//                       record, committed 10k records per ChangeSet (WAL on,
//                       no sync); items/s = records/s. Arg: bulk_load.
//   BM_BulkIngest       the same puts, built into 10k-record ChangeSets and
//                       written by one Store::BulkIngest (sorted SST files,
//                       one atomic ingestion); items/s = records/s.
//   BM_SyncedCommit     one record + one audit event per synced Commit, from
//                       1 and 4 threads: group commit shows as more commits/s
//                       with more threads.
//   BM_GetRecord        point reads of random stored records.
//
//   ninja -C build-index store_bench && ./build-index/bench/store_bench
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "index/store.h"

namespace empi::index {
namespace {

std::string FreshDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "empi_store_bench_XXXXXX").string();
  return mkdtemp(tmpl.data());
}

StoredRecord BenchRecord(uint64_t i) {
  StoredRecord r;
  r.record.source = "G" + std::to_string(80000 + i % 500);
  r.record.record_id = std::to_string(i);
  r.record.nhs_number = std::to_string(9000000000ULL + i);
  r.record.family_name = "Family" + std::to_string(i % 20000);
  r.record.given_names = "Given" + std::to_string(i % 3000) + " Middle";
  r.record.date_of_birth =
      "19" + std::to_string(10 + i % 90) + "-0" + std::to_string(1 + i % 9) + "-1" + std::to_string(i % 10);
  r.record.sex = i % 2 ? "F" : "M";
  r.record.postcode = "CV" + std::to_string(i % 40) + " " + std::to_string(i % 10) + "AB";
  r.record.address = std::to_string(i % 200) + " High Street, Coventry";
  r.person_id = i + 1;
  return r;
}

void AddRecord(ChangeSet* c, const StoredRecord& r) {
  const std::string key = r.record.Key();
  c->PutRecord(r);
  c->AddMembership(r.person_id, key);
  c->PutBlockKey(0, r.record.family_name.substr(0, 4) + r.record.date_of_birth, key);
  c->PutBlockKey(1, r.record.postcode + r.record.given_names.substr(0, 3), key);
  c->PutBlockKey(2, r.record.date_of_birth + r.record.sex, key);
  c->PutBlockKey(3, r.record.family_name + r.record.postcode.substr(0, 3), key);
  c->PutNhs(9000000000ULL + r.person_id - 1, key);
}

void BM_BulkWrite(benchmark::State& state) {
  constexpr int kBatch = 10000;
  const int64_t total = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = FreshDir();
    StoreOptions options;
    options.bulk_load = state.range(1) != 0;
    auto store = std::move(*Store::Open(dir, options));
    state.ResumeTiming();
    for (int64_t start = 0; start < total; start += kBatch) {
      ChangeSet c = store->NewChangeSet();
      for (int64_t i = start; i < start + kBatch && i < total; ++i) AddRecord(&c, BenchRecord(i));
      if (!store->Commit(&c, nullptr, /*sync=*/false).ok()) state.SkipWithError("commit failed");
    }
    if (!store->Flush().ok()) state.SkipWithError("flush failed");
    state.PauseTiming();
    store.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * total);
}
BENCHMARK(BM_BulkWrite)
    ->ArgNames({"records", "bulk_load"})
    ->Args({1000000, 0})
    ->Args({1000000, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

void BM_BulkIngest(benchmark::State& state) {
  constexpr int kBatch = 10000;
  const int64_t total = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = FreshDir();
    auto store = std::move(*Store::Open(dir, {}));
    state.ResumeTiming();
    std::vector<ChangeSet> sets;
    for (int64_t start = 0; start < total; start += kBatch) {
      ChangeSet& c = sets.emplace_back(store->NewChangeSet());
      for (int64_t i = start; i < start + kBatch && i < total; ++i) AddRecord(&c, BenchRecord(i));
    }
    if (!store->BulkIngest(sets).ok()) state.SkipWithError("bulk ingest failed");
    state.PauseTiming();
    sets.clear();
    store.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * total);
}
BENCHMARK(BM_BulkIngest)
    ->ArgNames({"records"})
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

// Shared by the threads of one run; thread 0 opens and closes it.
std::unique_ptr<Store> g_store;
std::string g_dir;
std::atomic<uint64_t> g_next{0};

void BM_SyncedCommit(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_dir = FreshDir();
    g_store = std::move(*Store::Open(g_dir, {}));
  }
  // Google Benchmark starts every thread's timing loop together, after setup.
  for (auto _ : state) {
    const uint64_t i = g_next++;
    ChangeSet c = g_store->NewChangeSet();
    AddRecord(&c, BenchRecord(i));
    AuditEvent e;
    e.requester = "bench";
    e.action = "link";
    e.persons = {i + 1};
    if (!g_store->Commit(&c, &e, /*sync=*/true).ok()) state.SkipWithError("commit failed");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    // Other threads may still be in their loops' last step only in theory:
    // Google Benchmark joins the timing loops before teardown code runs.
    g_store.reset();
    std::filesystem::remove_all(g_dir);
  }
}
BENCHMARK(BM_SyncedCommit)->Threads(1)->Threads(4)->UseRealTime()->MinTime(2.0);

void BM_GetRecord(benchmark::State& state) {
  const std::string dir = FreshDir();
  auto store = std::move(*Store::Open(dir, {}));
  constexpr int kRecords = 200000;
  for (int start = 0; start < kRecords; start += 10000) {
    ChangeSet c = store->NewChangeSet();
    for (int i = start; i < start + 10000; ++i) AddRecord(&c, BenchRecord(i));
    if (!store->Commit(&c, nullptr, false).ok()) state.SkipWithError("load failed");
  }
  if (!store->Flush().ok()) state.SkipWithError("flush failed");
  std::mt19937_64 rng(1);
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back(BenchRecord(rng() % kRecords).record.Key());
  size_t k = 0;
  for (auto _ : state) {
    auto r = store->GetRecord(keys[k++ & 4095]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_GetRecord);

}  // namespace
}  // namespace empi::index
