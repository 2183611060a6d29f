// Copyright EMPI developers.
//
// CheckStore finds each kind of damage injected into a clean linked store
// through the raw write path (a ChangeSet's rocksdb::WriteBatch), and finds
// nothing in the clean store.
#include "engine/linkage/store_check.h"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/linkage/linker.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/engine/linkage/linkage_test_util.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using empi::testing::TempDir;
using index::Cf;
using testing_linkage::RecordGenerator;
using testing_linkage::TwoContributorFeed;

class StoreCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RecordGenerator gen(7);
    const std::vector<Record> feed = TwoContributorFeed(gen, 150, {.noisy = true});
    base_ = dir_.path() + "/base";
    auto store = index::Store::Open(base_, {});
    ASSERT_TRUE(store.ok()) << store.status();
    auto s = LinkRecords(store->get(), feed, {});
    ASSERT_TRUE(s.ok()) << s.status();
    // A record of a person with two records, and that person.
    ASSERT_TRUE((*store)
                    ->ForEachRecord([&](const index::StoredRecord& r) {
                      auto members = (*store)->PersonRecords(r.person_id);
                      if (members.ok() && members->size() >= 2) {
                        record_ = r;
                        return false;
                      }
                      return true;
                    })
                    .ok());
    ASSERT_NE(record_.person_id, 0u);
  }

  // Copies the clean store, applies `damage` to the copy's raw batch, and
  // returns the check's report of the copy.
  index::StoreCheckReport Damaged(const std::function<void(index::Store*, index::ChangeSet*)>& damage) {
    const std::string path = dir_.path() + "/copy" + std::to_string(copies_++);
    std::filesystem::copy(base_, path, std::filesystem::copy_options::recursive);
    auto store = index::Store::Open(path, {});
    EXPECT_TRUE(store.ok()) << store.status();
    index::ChangeSet cs = (*store)->NewChangeSet();
    damage(store->get(), &cs);
    EXPECT_TRUE((*store)->Commit(&cs, nullptr, true).ok());
    auto r = CheckLinkedStore(**store, {});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : index::StoreCheckReport{};
  }

  static bool Mentions(const index::StoreCheckReport& r, const std::string& text) {
    for (const std::string& v : r.violations) {
      if (v.find(text) != std::string::npos) return true;
    }
    return false;
  }

  TempDir dir_;
  std::string base_;
  index::StoredRecord record_;
  int copies_ = 0;
};

TEST_F(StoreCheckTest, CleanStoreHasNoViolations) {
  auto store = index::Store::Open(base_, {});
  ASSERT_TRUE(store.ok());
  auto r = CheckLinkedStore(**store, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->violations_total, 0u) << (r->violations.empty() ? "" : r->violations[0]);
  EXPECT_GT(r->records, 150u);
  EXPECT_EQ(r->records, r->memberships);
  EXPECT_GT(r->block_keys, r->records);
  EXPECT_EQ(r->audit_events, 1u);
}

TEST_F(StoreCheckTest, FindsEachKindOfDamage) {
  const std::string key = record_.record.Key();
  const uint64_t pid = record_.person_id;
  struct Case {
    std::string name, expect;
    std::function<void(index::Store*, index::ChangeSet*)> damage;
  };
  std::vector<Case> cases = {
      {"membership deleted", "in no person",
       [&](index::Store* s, index::ChangeSet* b) {
         ASSERT_TRUE(b->batch()->Delete(s->cf(Cf::kPersonRecords), index::PersonRecordKey(pid, key)).ok());
       }},
      {"person deleted", "no persons entry",
       [&](index::Store* s, index::ChangeSet* b) {
         ASSERT_TRUE(b->batch()->Delete(s->cf(Cf::kPersons), index::EncodeU64(pid)).ok());
       }},
      {"empty person added", "empty person",
       [&](index::Store* s, index::ChangeSet* b) {
         ASSERT_TRUE(b->batch()->Put(s->cf(Cf::kPersons), index::EncodeU64(999999), index::EncodePersonValue({})).ok());
       }},
      {"record moved without its membership", "person_records says",
       [&](index::Store* s, index::ChangeSet* b) {
         index::StoredRecord moved = record_;
         moved.person_id = pid + 1;
         ASSERT_TRUE(b->batch()->Put(s->cf(Cf::kRecords), key, index::EncodeRecordValue(moved)).ok());
       }},
      {"person view member removed", "person_view's members differ",
       [&](index::Store* s, index::ChangeSet* b) {
         ASSERT_TRUE(
             b->batch()->Merge(s->cf(Cf::kPersonView), index::EncodeU64(pid), index::PersonViewRemoveOp(key)).ok());
       }},
      {"person view deleted", "has no person_view",
       [&](index::Store* s, index::ChangeSet* b) {
         ASSERT_TRUE(b->batch()->Delete(s->cf(Cf::kPersonView), index::EncodeU64(pid)).ok());
       }},
      {"block key deleted", "block_keys or nhs_index entry is missing",
       [&](index::Store* s, index::ChangeSet* b) {
         std::unique_ptr<rocksdb::Iterator> it(s->db()->NewIterator({}, s->cf(Cf::kBlockKeys)));
         it->SeekToFirst();
         ASSERT_TRUE(it->Valid());
         ASSERT_TRUE(b->batch()->Delete(s->cf(Cf::kBlockKeys), it->key()).ok());
       }},
      {"stray block key", "block_keys holds",
       [&](index::Store* s, index::ChangeSet* b) {
         ASSERT_TRUE(b->batch()->Put(s->cf(Cf::kBlockKeys), index::BlockKey(1, BlockKeyBytes(42), key), "").ok());
       }},
      {"nhs entry deleted", "entry is missing",
       [&](index::Store* s, index::ChangeSet* b) {
         std::unique_ptr<rocksdb::Iterator> it(s->db()->NewIterator({}, s->cf(Cf::kNhsIndex)));
         it->SeekToFirst();
         ASSERT_TRUE(it->Valid());
         ASSERT_TRUE(b->batch()->Delete(s->cf(Cf::kNhsIndex), it->key()).ok());
       }},
      {"review pair under one order", "one order only",
       [&](index::Store* s, index::ChangeSet* b) {
         ASSERT_TRUE(b->batch()
                         ->Put(s->cf(Cf::kReview),
                               index::DirectedPairKey(key,
                                                      "RKB\x1"
                                                      "K0"),
                               index::EncodeReviewValue({1, 0.5, "x"}))
                         .ok());
       }},
      {"review pair with a missing record", "not stored",
       [&](index::Store* s, index::ChangeSet* b) {
         b->PutReview(key, std::string("XXX\0gone", 8), {1, 0.5, "x"});
       }},
      {"never-link mark with a missing record", "never-link mark",
       [&](index::Store* s, index::ChangeSet* b) { b->PutNeverLink(key, std::string("XXX\0gone", 8)); }},
      {"record_count wrong", "record_count",
       [&](index::Store* s, index::ChangeSet* b) {
         ASSERT_TRUE(b->batch()->Put(s->cf(Cf::kMeta), "record_count", "7").ok());
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    index::StoreCheckReport r = Damaged(c.damage);
    EXPECT_GT(r.violations_total, 0u);
    EXPECT_TRUE(Mentions(r, c.expect)) << (r.violations.empty() ? "no violations" : r.violations[0]);
    for (const std::string& v : r.violations) {
      // Names records by source and record id only, never their contents.
      EXPECT_EQ(v.find(record_.record.family_name), std::string::npos) << v;
    }
  }
}

// A mark of a relative's number that the number's holders do not give (a
// write that changed holders without judging them again) is a violation,
// named by the record; a store whose marks are not judged yet (upgraded
// from format 9, not relinked since) is not held to them.
TEST_F(StoreCheckTest, FindsAMarkTheNumbersHoldersDoNotGive) {
  std::string key;
  uint64_t nhs = 0;
  auto mark_one = [&](index::Store* s, index::ChangeSet* b) {
    ASSERT_TRUE(s->ForEachNhsHolders([&](uint64_t number, const index::Store::NhsHolders& held) {
                   nhs = number;
                   key = held.records.front();
                   return false;
                 }).ok());
    b->PutNhs(nhs, key, /*relatives=*/true);  // one or two holders: never a relative's
  };
  const index::StoreCheckReport r = Damaged(mark_one);
  ASSERT_EQ(r.violations_total, 1u);
  std::string_view source, id;
  ASSERT_TRUE(SplitRecordKey(key, &source, &id));
  EXPECT_EQ(r.violations[0], "record " + std::string(source) + "/" + std::string(id) +
                                 ": its NHS index mark differs from the judgement of its number's holders");
  EXPECT_EQ(r.violations[0].find(std::to_string(nhs)), std::string::npos);  // never the number
  EXPECT_FALSE(r.nhs_marks_pending);
  const index::StoreCheckReport pending = Damaged([&](index::Store* s, index::ChangeSet* b) {
    mark_one(s, b);
    b->PutMeta(index::kMetaNhsMarksPending, "");
  });
  EXPECT_EQ(pending.violations_total, 0u) << pending.violations[0];
  EXPECT_TRUE(pending.nhs_marks_pending);
}

}  // namespace
}  // namespace empi
