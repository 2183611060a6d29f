// Copyright EMPI developers.
//
// Audit chain corruption: bytes written behind the API's back (altered,
// removed, inserted, swapped events) must be detected by VerifyAuditChain,
// which names the first bad sequence number.
#include <string>

#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/index/temp_store.h"

namespace empi::index {
namespace {

using testing::TempDir;

class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(dir_.path(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  // Commits `n` events, one per commit.
  void CommitEvents(int n) {
    for (int i = 0; i < n; ++i) {
      ChangeSet c = store_->NewChangeSet();
      AuditEvent e;
      e.requester = "user" + std::to_string(i % 7);
      e.action = "view";
      e.outcome = "ok";
      e.persons = {static_cast<uint64_t>(i)};
      ASSERT_TRUE(store_->Commit(&c, &e, /*sync=*/false).ok());
    }
  }

  std::string Raw(uint64_t seq) {
    std::string value;
    EXPECT_TRUE(store_->db()->Get(rocksdb::ReadOptions(), store_->cf(Cf::kAudit), AuditKey(seq), &value).ok());
    return value;
  }
  void PutRaw(uint64_t seq, const std::string& value) {
    ASSERT_TRUE(store_->db()->Put(rocksdb::WriteOptions(), store_->cf(Cf::kAudit), AuditKey(seq), value).ok());
  }
  void DeleteRaw(uint64_t seq) {
    ASSERT_TRUE(store_->db()->Delete(rocksdb::WriteOptions(), store_->cf(Cf::kAudit), AuditKey(seq)).ok());
  }

  // Expects DataLoss whose message names `sequence` as the first bad one.
  void ExpectBrokenAt(uint64_t sequence) {
    uint64_t checked = 0;
    absl::Status s = store_->VerifyAuditChain(&checked);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_NE(s.message().find("at sequence " + std::to_string(sequence) + ":"), std::string::npos) << s;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(AuditChainTest, EmptyTrailVerifies) {
  uint64_t checked = 99;
  EXPECT_TRUE(store_->VerifyAuditChain(&checked).ok());
  EXPECT_EQ(checked, 0u);
}

TEST_F(AuditChainTest, UntouchedChainOf1000Verifies) {
  CommitEvents(1000);
  uint64_t checked = 0;
  ASSERT_TRUE(store_->VerifyAuditChain(&checked).ok());
  EXPECT_EQ(checked, 1000u);
  uint64_t expected = 1;
  ASSERT_TRUE(store_
                  ->ForEachAuditEvent([&](const StoredAuditEvent& e) {
                    EXPECT_EQ(e.sequence, expected++);
                    EXPECT_GT(e.event.time_us, 0);  // filled in by the store
                    return true;
                  })
                  .ok());
}

TEST_F(AuditChainTest, AlteredFieldIsDetected) {
  CommitEvents(20);
  StoredAuditEvent e;
  ASSERT_TRUE(DecodeAuditValue(7, Raw(7), &e));
  e.event.outcome = "denied: objection";  // rewrite history, keep the old hash
  PutRaw(7, EncodeAuditValue(e));
  ExpectBrokenAt(7);
}

TEST_F(AuditChainTest, FlippedByteIsDetected) {
  CommitEvents(20);
  std::string v = Raw(12);
  v.back() ^= 1;
  PutRaw(12, v);
  ExpectBrokenAt(12);
}

TEST_F(AuditChainTest, RemovedMiddleEventIsDetected) {
  CommitEvents(20);
  DeleteRaw(9);
  ExpectBrokenAt(9);
}

TEST_F(AuditChainTest, RemovedLastEventsAreDetected) {
  CommitEvents(20);
  DeleteRaw(20);
  ExpectBrokenAt(20);
  DeleteRaw(19);
  ExpectBrokenAt(19);
}

TEST_F(AuditChainTest, InsertedEventIsDetected) {
  CommitEvents(20);
  // A forged event after the end, correctly chained: only the head catches it.
  StoredAuditEvent last;
  ASSERT_TRUE(DecodeAuditValue(20, Raw(20), &last));
  StoredAuditEvent forged;
  forged.sequence = 21;
  forged.event.action = "view";
  forged.prev_hash = last.hash;
  forged.hash = AuditHash(forged.prev_hash, 21, forged.event);
  PutRaw(21, EncodeAuditValue(forged));
  ExpectBrokenAt(21);
  DeleteRaw(21);
  ASSERT_TRUE(store_->VerifyAuditChain(nullptr).ok());
  // An event slotted in before the first.
  PutRaw(0, Raw(1));
  ExpectBrokenAt(1);
}

TEST_F(AuditChainTest, SwappedEventsAreDetected) {
  CommitEvents(20);
  const std::string a = Raw(5), b = Raw(6);
  PutRaw(5, b);
  PutRaw(6, a);
  ExpectBrokenAt(5);
}

TEST_F(AuditChainTest, ChainContinuesAfterReopen) {
  CommitEvents(5);
  store_.reset();
  auto store = Store::Open(dir_.path(), {});
  ASSERT_TRUE(store.ok());
  store_ = std::move(*store);
  CommitEvents(5);
  uint64_t checked = 0;
  ASSERT_TRUE(store_->VerifyAuditChain(&checked).ok());
  EXPECT_EQ(checked, 10u);
}

}  // namespace
}  // namespace empi::index
