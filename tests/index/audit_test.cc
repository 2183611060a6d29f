// Copyright EMPI developers.
//
// Audit chain corruption: bytes written behind the API's back (altered,
// removed, inserted, swapped events in audit.log) must be detected by
// VerifyAuditChain, which names the first bad sequence number; and the log
// recovers from a crash's torn tail and from change events left unchained.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "index/audit_log.h"
#include "index/store.h"
#include "tests/temp_dir.h"

namespace empi::index {
namespace {

using empi::testing::TempDir;

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

  // The log's entries, edited behind the store's back while it is closed
  // (index/audit_log.h: u32 length, u64 pending id, u64 sequence, value).
  std::string LogPath() const { return dir_.path() + "/audit.log"; }
  std::vector<std::string> Entries() {
    store_.reset();
    std::ifstream in(LogPath(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> out;
    for (size_t at = 0; at + 4 <= bytes.size();) {
      const size_t n = (size_t{static_cast<unsigned char>(bytes[at])} << 24) |
                       (size_t{static_cast<unsigned char>(bytes[at + 1])} << 16) |
                       (size_t{static_cast<unsigned char>(bytes[at + 2])} << 8) |
                       size_t{static_cast<unsigned char>(bytes[at + 3])};
      out.push_back(bytes.substr(at, 4 + n));
      at += 4 + n;
    }
    return out;
  }
  void WriteEntries(const std::vector<std::string>& entries) {
    std::ofstream out(LogPath(), std::ios::binary | std::ios::trunc);
    for (const std::string& e : entries) out << e;
  }
  // A log entry holding audit value `value` as event `seq`.
  static std::string Entry(uint64_t seq, const std::string& value) {
    StoredAuditEvent e;
    EXPECT_TRUE(DecodeAuditValue(seq, value, &e));
    e.sequence = seq;
    return AuditLog::EncodeEntry(0, e);
  }
  std::string Raw(uint64_t seq) { return Entries()[seq - 1].substr(20); }
  void PutRaw(uint64_t seq, const std::string& value) {
    auto entries = Entries();
    if (seq == 0) {
      entries.insert(entries.begin(), Entry(0, value));
    } else if (seq > entries.size()) {
      entries.push_back(Entry(seq, value));
    } else {
      entries[seq - 1] = entries[seq - 1].substr(0, 20) + value;
      const size_t n = entries[seq - 1].size() - 4;
      for (int i = 0; i < 4; ++i) entries[seq - 1][i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
    }
    WriteEntries(entries);
  }
  void DeleteRaw(uint64_t seq) {
    auto entries = Entries();
    entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(seq - 1));
    WriteEntries(entries);
  }

  // Expects DataLoss whose message names `sequence` as the first bad one,
  // from a read-only open (as `empi audit verify` does).
  void ExpectBrokenAt(uint64_t sequence) {
    absl::Status s = VerifyReadOnly();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_NE(s.message().find("at sequence " + std::to_string(sequence) + ":"), std::string::npos) << s;
  }
  absl::Status VerifyReadOnly() {
    store_.reset();
    StoreOptions ro;
    ro.read_only = true;
    auto store = Store::Open(dir_.path(), ro);
    if (!store.ok()) return store.status();
    return (*store)->VerifyAuditChain(nullptr);
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
  ASSERT_TRUE(VerifyReadOnly().ok());
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


AuditEvent Event(std::string action) {
  AuditEvent e;
  e.requester = "steward";
  e.action = std::move(action);
  e.outcome = "ok";
  return e;
}

std::vector<std::string> Actions(const Store& store) {
  std::vector<std::string> out;
  EXPECT_TRUE(store
                  .ForEachAuditEvent([&](const StoredAuditEvent& e) {
                    out.push_back(e.event.action);
                    return true;
                  })
                  .ok());
  return out;
}

// Appends a read's event (no change) and checks that it takes sequence `n`
// and that the chain of `n` events verifies.
// Runs `child` in a forked process, which must end with _exit (so that no
// destructor closes a store cleanly); returns its exit status, or -1 if it
// did not exit normally.
int ExitStatusOfChild(const std::function<void()>& child) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    child();
    _exit(99);  // the child returned instead of calling _exit
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

void AppendReadAndVerify(Store* store, const std::string& action, uint64_t n) {
  ChangeSet none = store->NewChangeSet();
  AuditEvent e = Event(action);
  uint64_t seq = 0;
  ASSERT_TRUE(store->Commit(&none, &e, false, &seq).ok());
  EXPECT_EQ(seq, n);
  uint64_t checked = 0;
  ASSERT_TRUE(store->VerifyAuditChain(&checked).ok());
  EXPECT_EQ(checked, n);
}

// The append path encodes an entry before the chain is known and fills in
// sequence and hashes afterwards: the bytes must be exactly those of the
// entry encoded whole, with the hash the verifier recomputes.
TEST(AuditLogEntry, ChainingAnUnchainedEntryGivesTheWholeEntry) {
  AuditEvent e = Event("resolve");
  e.time_us = 1764000000000000;
  e.organisation = "RKB";
  e.persons = {7, 9};
  e.records = {std::string("RKB\0K1", 6), std::string("M84001\0G1", 9)};
  const std::string prev(32, '\x5a');
  std::string entry = AuditLog::EncodeUnchained(3, e);
  const std::string_view hash = AuditLog::Chain(std::span<char>(entry.data(), entry.size()), 42, prev);

  StoredAuditEvent whole;
  whole.sequence = 42;
  whole.event = e;
  whole.prev_hash = prev;
  whole.hash = AuditHash(prev, 42, e);
  EXPECT_EQ(hash, whole.hash);
  EXPECT_EQ(entry, AuditLog::EncodeEntry(3, whole));
  EXPECT_TRUE(AuditLog::Chain(std::span<char>(entry.data(), entry.size()), 42, "short").empty());
}

// A crash while writing leaves part of an entry at the end of the log: the
// next open cuts it off and the chain goes on from the last whole event.
TEST(AuditLogRecovery, TornTailIsCutAndTheChainContinues) {
  TempDir dir;
  {
    auto store = Store::Open(dir.path(), {});
    ASSERT_TRUE(store.ok());
    for (const char* a : {"resolve", "view"}) {
      ChangeSet none = (*store)->NewChangeSet();
      AuditEvent e = Event(a);
      ASSERT_TRUE((*store)->Commit(&none, &e, false).ok());
    }
  }
  {
    std::ofstream out(dir.path() + "/audit.log", std::ios::binary | std::ios::app);
    out << std::string("\0\0\1\0partial", 11);
  }
  auto store = Store::Open(dir.path(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  AppendReadAndVerify(store->get(), "search", 3);
  EXPECT_EQ(Actions(**store), (std::vector<std::string>{"resolve", "view", "search"}));
}

// Where address space is limited (ulimit -v), the log maps less of itself
// ahead instead of failing to open. (Not under AddressSanitizer, which
// needs terabytes of address space itself.)
TEST(AuditLogRecovery, OpensUnderAnAddressSpaceLimit) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer cannot run under an address space limit";
#else
  TempDir dir;
  EXPECT_EQ(ExitStatusOfChild([&] {
    const rlimit limit{uint64_t{16} << 30, uint64_t{16} << 30};
    if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(1);
    {
      auto store = Store::Open(dir.path(), {});
      if (!store.ok()) _exit(2);
      ChangeSet none = (*store)->NewChangeSet();
      AuditEvent read = Event("resolve");
      if (!(*store)->Commit(&none, &read, false).ok()) _exit(3);
    }
    _exit(0);
  }), 0);
  auto store = Store::Open(dir.path(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(Actions(**store), std::vector<std::string>{"resolve"});
#endif
}

// Every 1,024 change events the log is synced and their pending copies are
// dropped, on the store's own thread, while the store stays open.
TEST(AuditLogRecovery, ChangeEventsAreCheckpointedInTheBackground) {
  TempDir dir;
  auto store = Store::Open(dir.path(), {});
  ASSERT_TRUE(store.ok());
  const std::string synced_at_open = (*store)->GetMeta("audit_synced")->value_or("");
  auto pending = [&] {
    size_t n = 0;
    std::unique_ptr<rocksdb::Iterator> it((*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->cf(Cf::kMeta)));
    for (it->Seek(std::string("audit_pending\0", 14)); it->Valid() && it->key().starts_with(std::string("audit_pending\0", 14));
         it->Next()) {
      ++n;
    }
    return n;
  };
  for (int i = 0; i < 1100; ++i) {
    ChangeSet change = (*store)->NewChangeSet();
    change.PutMeta("test_key", std::to_string(i));
    AuditEvent e = Event("merge");
    ASSERT_TRUE((*store)->Commit(&change, &e, false).ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (pending() > 1100 - 1024 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_LE(pending(), 1100u - 1024u);
  EXPECT_NE((*store)->GetMeta("audit_synced")->value_or(""), synced_at_open);
  uint64_t checked = 0;
  ASSERT_TRUE((*store)->VerifyAuditChain(&checked).ok());
  EXPECT_EQ(checked, 1100u);
}

// The log is written through a mapping over space allocated ahead, so a
// killed process leaves zeros after the last entry: they are padding, not a
// torn tail; every event written before the kill is kept and the next open
// says nothing about cutting. A clean close leaves no padding.
TEST(AuditLogRecovery, PaddingLeftByAKillIsNotATornTail) {
  TempDir dir;
  const std::string log = dir.path() + "/audit.log";
  ASSERT_EQ(ExitStatusOfChild([&] {
    auto store = Store::Open(dir.path(), {});
    if (!store.ok()) _exit(1);
    for (int i = 0; i < 100; ++i) {
      ChangeSet none = (*store)->NewChangeSet();
      AuditEvent read = Event("resolve");
      if (!(*store)->Commit(&none, &read, false).ok()) _exit(2);
    }
    _exit(0);  // killed: no close, no checkpoint, no sync
  }), 0);
  uint64_t entries_end = 0, garbage = 0;
  size_t entries = 0;
  ASSERT_TRUE(AuditLog::Read(log, 0, [&](const AuditLog::Entry&) { return ++entries > 0; }, &entries_end, &garbage)
                  .ok());
  EXPECT_EQ(entries, 100u);
  EXPECT_EQ(garbage, 0u);
  EXPECT_GT(std::filesystem::file_size(log), entries_end);  // zeros follow

  ::testing::internal::CaptureStderr();
  {
    auto store = Store::Open(dir.path(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    AppendReadAndVerify(store->get(), "view", 101);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  uint64_t closed_end = 0;
  ASSERT_TRUE(AuditLog::Read(log, 0, [](const AuditLog::Entry&) { return true; }, &closed_end).ok());
  EXPECT_EQ(std::filesystem::file_size(log), closed_end);
}

// A machine crash loses the log's unsynced tail, but a change's event was
// also written, pending, in the change's own synced batch: the next open
// chains it, so an acknowledged change never loses its event.
TEST(AuditLogRecovery, AcknowledgedChangeKeepsItsEventWhenTheLogTailIsLost) {
  TempDir dir;
  { ASSERT_TRUE(Store::Open(dir.path(), {}).ok()); }
  const uint64_t synced_size = std::filesystem::file_size(dir.path() + "/audit.log");
  ASSERT_EQ(ExitStatusOfChild([&] {
    auto store = Store::Open(dir.path(), {});
    if (!store.ok()) _exit(1);
    ChangeSet none = (*store)->NewChangeSet();
    AuditEvent read = Event("resolve");
    if (!(*store)->Commit(&none, &read, false).ok()) _exit(2);
    ChangeSet change = (*store)->NewChangeSet();
    change.PutMeta("test_key", "x");
    AuditEvent merge = Event("merge");
    if (!(*store)->Commit(&change, &merge, /*sync=*/true).ok()) _exit(3);
    _exit(0);  // no clean close: no checkpoint
  }), 0);
  // The power goes: everything written to the log after its last sync is gone.
  std::filesystem::resize_file(dir.path() + "/audit.log", synced_size);

  auto store = Store::Open(dir.path(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->GetMeta("test_key")->value_or(""), "x");
  uint64_t checked = 0;
  ASSERT_TRUE((*store)->VerifyAuditChain(&checked).ok());
  // The unsynced read event is lost (documented); the change's is not.
  EXPECT_EQ(Actions(**store), (std::vector<std::string>{"merge"}));
}

// A process killed after a change committed but before its event reached
// the log: the pending event is chained at the next open, once.
TEST(AuditLogRecovery, PendingEventIsChainedOnceAfterAKill) {
  TempDir dir;
  ASSERT_EQ(ExitStatusOfChild([&] {
    auto store = Store::Open(dir.path(), {});
    if (!store.ok()) _exit(1);
    for (int i = 0; i < 3; ++i) {
      ChangeSet change = (*store)->NewChangeSet();
      change.PutMeta("k" + std::to_string(i), "x");
      AuditEvent e = Event("merge");
      if (!(*store)->Commit(&change, &e, true).ok()) _exit(2);
    }
    _exit(0);  // pending keys of all three remain; the log holds them too
  }), 0);
  for (int round = 0; round < 2; ++round) {  // neither open adds a duplicate
    auto store = Store::Open(dir.path(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    uint64_t checked = 0;
    ASSERT_TRUE((*store)->VerifyAuditChain(&checked).ok());
    EXPECT_EQ(checked, 3u);
  }
}


// A version-2 store keeps its events in the audit family; opened read-write
// it becomes version 3 and the log continues the same chain.
TEST(AuditLogRecovery, Version2TrailIsContinuedByTheLog) {
  TempDir dir;
  {
    auto store = Store::Open(dir.path(), {});
    ASSERT_TRUE(store.ok());
    rocksdb::WriteBatch b;
    std::string prev(32, '\0');
    for (uint64_t seq = 1; seq <= 3; ++seq) {  // what a version-2 store wrote
      StoredAuditEvent e;
      e.sequence = seq;
      e.event = Event("resolve");
      e.event.time_us = 1000 + static_cast<int64_t>(seq);
      e.prev_hash = prev;
      e.hash = AuditHash(prev, seq, e.event);
      prev = e.hash;
      b.Put((*store)->cf(Cf::kAudit), AuditKey(seq), EncodeAuditValue(e));
    }
    b.Put((*store)->cf(Cf::kMeta), std::string(kMetaAuditHead), EncodeU64(3) + prev);
    b.Put((*store)->cf(Cf::kMeta), std::string(kMetaFormatVersion), "2");
    ASSERT_TRUE((*store)->db()->Write(rocksdb::WriteOptions(), &b).ok());
  }
  {  // a version-2 store has no log and no audit_synced
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const std::string& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.path(), cfs, &handles, &raw).ok());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "meta") ASSERT_TRUE(raw->Delete(rocksdb::WriteOptions(), handles[i], "audit_synced").ok());
    }
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  std::filesystem::remove(dir.path() + "/audit.log");
  StoreOptions ro;
  ro.read_only = true;
  EXPECT_EQ(Store::Open(dir.path(), ro).status().code(), absl::StatusCode::kFailedPrecondition);

  auto store = Store::Open(dir.path(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(**(*store)->GetMeta(kMetaFormatVersion), std::to_string(kFormatVersion));
  AppendReadAndVerify(store->get(), "view", 4);
  EXPECT_EQ(Actions(**store), (std::vector<std::string>{"resolve", "resolve", "resolve", "view"}));
}

}  // namespace
}  // namespace empi::index
