// Copyright EMPI developers.
//
// ReadCache's fill/invalidate rule and bound. Store's Latest* reads through
// the cache are tested in store_test.cc (StoreReadCache).
#include "index/read_cache.h"

#include "gtest/gtest.h"
#include "index/store.h"

namespace empi::index {
namespace {

const std::string kKey("RKB\0A", 5);  // a record key: source \0 record id

TEST(ReadCache, FillAfterAnInvalidationIsDropped) {
  ReadCache cache(1000);
  auto view = std::make_shared<const PersonView>();
  const uint64_t before = cache.epoch();
  cache.Invalidate({kKey}, {});
  cache.FillView(before, 7, view);
  cache.FillPersonOf(before, kKey, 7);
  EXPECT_EQ(cache.View(7), nullptr);
  EXPECT_FALSE(cache.PersonOf(kKey).has_value());

  cache.FillView(cache.epoch(), 7, view);
  cache.FillPersonOf(cache.epoch(), kKey, 7);
  EXPECT_EQ(cache.View(7), view);
  EXPECT_EQ(cache.PersonOf(kKey), 7u);
  cache.Invalidate({}, {7});
  EXPECT_EQ(cache.View(7), nullptr);
  EXPECT_EQ(cache.PersonOf(kKey), 7u);  // only the named keys go
}

TEST(ReadCache, RefreshFillsAgainOnlyWhatWasCached) {
  ReadCache cache(1000);
  const std::string other("RKB\0B", 5);
  cache.FillPersonOf(cache.epoch(), kKey, 7);
  cache.FillView(cache.epoch(), 7, std::make_shared<const PersonView>());
  ReadCache::Keys cached = cache.Invalidate({kKey, other}, {7, 8});
  EXPECT_EQ(cached.record_keys, std::vector<std::string>{kKey});
  EXPECT_EQ(cached.person_ids, std::vector<uint64_t>{7});

  PersonView v;
  v.members.resize(2);
  auto latest = std::make_shared<const PersonView>(v);
  int reads = 0;
  cache.Refresh(
      cached,
      [&](const std::string&) -> std::optional<uint64_t> {
        ++reads;
        return 9;
      },
      [&](uint64_t) -> std::shared_ptr<const PersonView> {
        ++reads;
        return latest;
      });
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(cache.PersonOf(kKey), 9u);
  EXPECT_EQ(cache.View(7), latest);
  EXPECT_FALSE(cache.PersonOf(other).has_value());
  EXPECT_EQ(cache.View(8), nullptr);
  const ReadCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.refreshed, 2u);
  EXPECT_EQ(stats.hits, 2u);    // kKey and 7 just now
  EXPECT_EQ(stats.misses, 2u);  // other and 8
}

TEST(ReadCache, RefreshRacingAnInvalidationIsDropped) {
  ReadCache cache(1000);
  cache.FillView(cache.epoch(), 7, std::make_shared<const PersonView>());
  ReadCache::Keys cached = cache.Invalidate({}, {7});
  cache.Refresh(
      cached, [](const std::string&) { return std::nullopt; },
      [&](uint64_t) -> std::shared_ptr<const PersonView> {
        cache.Invalidate({}, {7});  // a later write commits while the refresh reads
        return std::make_shared<const PersonView>();
      });
  EXPECT_EQ(cache.View(7), nullptr);
}

TEST(ReadCache, DisabledCacheHoldsNothing) {
  ReadCache cache(0);
  cache.FillView(cache.epoch(), 7, std::make_shared<const PersonView>());
  EXPECT_EQ(cache.View(7), nullptr);
}

TEST(ReadCache, AFullShardIsEmptiedNotOverfilled) {
  ReadCache cache(64);  // one view per shard
  for (uint64_t p = 1; p <= 10000; ++p) cache.FillView(cache.epoch(), p, std::make_shared<const PersonView>());
  size_t held = 0;
  for (uint64_t p = 1; p <= 10000; ++p) held += cache.View(p) != nullptr;
  EXPECT_LE(held, 64u);
  EXPECT_GT(held, 0u);
}

}  // namespace
}  // namespace empi::index
