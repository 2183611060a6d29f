// Copyright EMPI developers.
//
// feed_bench: ReadFeed throughput on a synthetic canonical feed.
//
//   build-x/bench/feed_bench --benchmark_filter=ReadFeed
//
// The product budget is about 1.5 s per million rows for reading; the
// "items_per_second" counter is rows per second.
#include <cstdio>
#include <filesystem>
#include <string>

#include "benchmark/benchmark.h"
#include "engine/feed/feed_reader.h"
#include "matchers/nhs_number.h"

namespace empi {
namespace {

// Writes a feed of `rows` canonical rows (valid NHS numbers, UK postcodes,
// DD/MM/YYYY dates, a quoted address with a comma) and returns its path.
std::string MakeFeed(int64_t rows) {
  static const char* kFamily[] = {"Smith",  "Jones",   "Taylor", "Brown", "Williams",
                                  "Wilson", "Johnson", "Davies", "Patel", "Nowak"};
  static const char* kGiven[] = {"Oliver", "Amelia Rose", "George", "Isla", "Harry",
                                 "Ava",    "Noah James",  "Mia",    "Jack", "Łucja"};
  std::string path =
      (std::filesystem::temp_directory_path() / ("empi_feed_bench_" + std::to_string(rows) + ".csv")).string();
  std::string text =
      "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,"
      "postcode,address\n";
  text.reserve(static_cast<size_t>(rows) * 110);
  char nine[10];
  char line[256];
  for (int64_t i = 0; i < rows; ++i) {
    // A nine-digit stem with a check digit; skip stems with none.
    uint64_t stem = 400000000 + static_cast<uint64_t>(i) * 7;
    int check;
    do {
      std::snprintf(nine, sizeof(nine), "%09llu", static_cast<unsigned long long>(stem++));
      check = NhsCheckDigit(nine);
    } while (check < 0);
    std::snprintf(line, sizeof(line), "RKB,K%08lld,%s%d,%s,%s,%02d/%02d/%04d,%c,LS%d %dAB,\"%d High Street, Leeds\"\n",
                  static_cast<long long>(i), nine, check, kFamily[i % 10], kGiven[(i / 10) % 10],
                  static_cast<int>(i % 28 + 1), static_cast<int>(i % 12 + 1), static_cast<int>(1920 + i % 90),
                  i % 2 ? 'F' : 'M', static_cast<int>(i % 28 + 1), static_cast<int>(i % 10),
                  static_cast<int>(i % 200 + 1));
    text += line;
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

void BM_ReadFeed(benchmark::State& state) {
  const std::string path = MakeFeed(state.range(0));
  for (auto _ : state) {
    absl::StatusOr<FeedResult> feed = ReadFeed(path, {});
    if (!feed.ok() || feed->records.size() != static_cast<size_t>(state.range(0))) {
      state.SkipWithError("feed did not read back");
      break;
    }
    benchmark::DoNotOptimize(feed->records.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  std::filesystem::remove(path);
}
BENCHMARK(BM_ReadFeed)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace empi
