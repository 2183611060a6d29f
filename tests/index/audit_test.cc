// Copyright EMPI developers.
//
// Audit chain corruption: bytes written behind the API's back (altered,
// removed, inserted, swapped events in audit.log) must be detected by
// VerifyAuditChain, which names the first bad sequence number; and the log
// recovers from a crash's torn tail and from change events left unchained.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "index/audit_log.h"
#include "index/store.h"
#include "rocksdb/db.h"
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

// Makes the store's audit anchor look written in another boot of the
// machine, as after a power loss and restart (the only way anchored events
// can legitimately be missing from the log). Edits meta through RocksDB
// itself, with the store closed.
void SimulateRestart(const std::string& path) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &db).ok());
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "meta") meta = handles[i];
  }
  ASSERT_NE(meta, nullptr);
  std::string anchor;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), meta, "audit_anchor", &anchor).ok());
  ASSERT_GE(anchor.size(), 48u);
  anchor = anchor.substr(0, 48) + "00000000-0000-0000-0000-000000000000";
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), meta, "audit_anchor", anchor).ok());
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
  delete db;
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

// The body's optional tails: an event without them keeps the bytes (and so
// the hash) it had under older formats; one with request or correlation ids
// writes the version-7 tail too, and every shape reads back whole. Changing
// an id breaks the hash.
TEST(AuditCodec, OptionalTailsRoundTripAndOlderEventsKeepTheirBytes) {
  AuditEvent plain = Event("resolve");
  plain.time_us = 1764000000000000;
  AuditEvent answered = plain;
  answered.at_change = 12;
  answered.model_version = "ab12";
  AuditEvent with_ids = plain;
  with_ids.request_id = "req-1";
  AuditEvent both = answered;
  both.as_of = true;
  both.correlation_id = "corr-9";
  const std::string plain_bytes = EncodeAuditBody(plain);
  EXPECT_EQ(EncodeAuditBody(answered).substr(0, plain_bytes.size()), plain_bytes);
  EXPECT_EQ(EncodeAuditBody(answered).size(), plain_bytes.size() + 1 + 5 + 1);  // varint, "ab12", bool
  EXPECT_EQ(EncodeAuditBody(with_ids).size(), plain_bytes.size() + 3 + 6 + 1);  // zero tail, "req-1", ""
  for (const AuditEvent& e : {plain, answered, with_ids, both}) {
    StoredAuditEvent stored;
    stored.event = e;
    stored.prev_hash = std::string(32, '\0');
    stored.hash = AuditHash(stored.prev_hash, 5, e);
    StoredAuditEvent back;
    ASSERT_TRUE(DecodeAuditValue(5, EncodeAuditValue(stored), &back));
    EXPECT_EQ(back.event.at_change, e.at_change);
    EXPECT_EQ(back.event.model_version, e.model_version);
    EXPECT_EQ(back.event.as_of, e.as_of);
    EXPECT_EQ(back.event.request_id, e.request_id);
    EXPECT_EQ(back.event.correlation_id, e.correlation_id);
    EXPECT_EQ(AuditHash(stored.prev_hash, 5, back.event), stored.hash);
  }
  AuditEvent altered = both;
  altered.correlation_id = "corr-8";
  EXPECT_NE(AuditHash(std::string(32, '\0'), 5, altered), AuditHash(std::string(32, '\0'), 5, both));
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
            }),
            0);
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
    for (it->Seek(std::string("audit_pending\0", 14));
         it->Valid() && it->key().starts_with(std::string("audit_pending\0", 14)); it->Next()) {
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
            }),
            0);
  uint64_t entries_end = 0, garbage = 0;
  size_t entries = 0;
  ASSERT_TRUE(AuditLog::Read(
                  log, 0, [&](const AuditLog::Entry&) { return ++entries > 0; }, &entries_end, &garbage)
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
  ASSERT_TRUE(AuditLog::Read(
                  log, 0, [](const AuditLog::Entry&) { return true; }, &closed_end)
                  .ok());
  EXPECT_EQ(std::filesystem::file_size(log), closed_end);
}

// A kill can stop an append at any instruction of its copy, and a copy of
// a few hundred bytes (glibc's vector memcpy) writes its first bytes last:
// the killed entry's bytes are there but its length is not. Killed 300
// times at random moments of appends of 300 to 2,000 bytes, the log must
// always end in whole entries and, at most, one incomplete one, never in
// what its recovery calls damage.
TEST(AuditLogRecovery, KillAtAnyMomentOfAnAppendLeavesNoDamage) {
  TempDir dir;
  const std::string log = dir.path() + "/audit.log";
  std::mt19937_64 rng(2026);
  uint64_t end = 0, entries = 0, incomplete = 0;
  for (int cycle = 0; cycle < 300; ++cycle) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(ready[0]);
      auto opened = AuditLog::Open(log, end);
      if (!opened.ok()) _exit(1);
      std::vector<std::string> batches;
      for (int i = 0; i < 16; ++i) {
        StoredAuditEvent e;
        e.sequence = 1;
        e.prev_hash.assign(32, 'p');
        e.hash.assign(32, 'h');
        e.event = Event("resolve");
        e.event.records = {std::string(300 + 110 * i, 'r')};
        batches.push_back(AuditLog::EncodeEntry(0, e));
      }
      if (write(ready[1], "r", 1) != 1) _exit(2);
      for (size_t i = 0;; ++i) {
        AuditLog::PrefaultRange ahead;
        if (!(*opened)->Append(batches[i % batches.size()], &ahead).ok()) _exit(3);
        AuditLog::Prefault(ahead);
      }
    }
    close(ready[1]);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    usleep(static_cast<useconds_t>(200 + rng() % 2000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the appender exited with " << WEXITSTATUS(status);
    ASSERT_TRUE(AuditLog::Read(
                    log, end, [&](const AuditLog::Entry&) { return ++entries > 0; }, &end)
                    .ok());
    auto tail = AuditLog::ReadTail(log, end);
    ASSERT_TRUE(tail.ok()) << tail.status();
    ASSERT_NE(tail->kind, AuditLog::Tail::Kind::kDamaged)
        << "cycle " << cycle << ": " << tail->bytes << " bytes after offset " << end;
    incomplete += tail->kind == AuditLog::Tail::Kind::kIncomplete;
    if (end > (16 << 20)) end = 0;  // the next appender starts a new log: bounded disk use
  }
  EXPECT_GT(entries, 300u);
  std::printf("entries: %llu; kills inside an entry's copy: %llu of 300\n", static_cast<unsigned long long>(entries),
              static_cast<unsigned long long>(incomplete));
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
            }),
            0);
  // The power goes: everything written to the log after its last sync is gone.
  std::filesystem::resize_file(dir.path() + "/audit.log", synced_size);
  // In the same boot that cannot be a crash: the merge's batch anchored the
  // read event, which the page cache would have kept.
  {
    StoreOptions ro;
    ro.read_only = true;
    auto store = Store::Open(dir.path(), ro);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->VerifyAuditChain(nullptr).code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(Store::Open(dir.path(), {}).status().code(), absl::StatusCode::kDataLoss);
  // After a restart it is what a power loss does.
  SimulateRestart(dir.path());

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
            }),
            0);
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
      if (names[i] == "meta") {
        ASSERT_TRUE(raw->Delete(rocksdb::WriteOptions(), handles[i], "audit_synced").ok());
      }
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

// A process killed part way through real-time work: change commits (each
// anchoring the chain head in its batch) and reads, with no close, so
// nothing after the open's checkpoint is synced. Returns the log's entries
// after that checkpoint's offset, as (offset, length) pairs.
class KilledWorkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    { ASSERT_TRUE(Store::Open(dir_.path(), {}).ok()); }
    synced_size_ = std::filesystem::file_size(LogPath());
    ASSERT_EQ(ExitStatusOfChild([&] {
                auto store = Store::Open(dir_.path(), {});
                if (!store.ok()) _exit(1);
                for (int i = 0; i < 10; ++i) {
                  ChangeSet none = (*store)->NewChangeSet();
                  AuditEvent read = Event("resolve");
                  if (!(*store)->Commit(&none, &read, false).ok()) _exit(2);
                  ChangeSet change = (*store)->NewChangeSet();
                  change.PutMeta("k" + std::to_string(i), "x");
                  AuditEvent merge = Event("merge");
                  if (!(*store)->Commit(&change, &merge, /*sync=*/true).ok()) _exit(3);
                }
                _exit(0);  // killed
              }),
              0);
    std::ifstream in(LogPath(), std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    for (size_t at = 0; at + 4 <= bytes_.size();) {
      const size_t n = (size_t{static_cast<unsigned char>(bytes_[at])} << 24) |
                       (size_t{static_cast<unsigned char>(bytes_[at + 1])} << 16) |
                       (size_t{static_cast<unsigned char>(bytes_[at + 2])} << 8) |
                       size_t{static_cast<unsigned char>(bytes_[at + 3])};
      if (n == 0) break;  // padding
      if (at >= synced_size_) tail_.emplace_back(at, 4 + n);
      at += 4 + n;
    }
    log_end_ = tail_.empty() ? synced_size_ : tail_.back().first + tail_.back().second;
    ASSERT_EQ(tail_.size(), 20u);  // two events per round, none synced
  }
  std::string LogPath() const { return dir_.path() + "/audit.log"; }
  std::string Entry(size_t i) const { return bytes_.substr(tail_[i].first, tail_[i].second); }
  // Rewrites the tail from entry `from` on as `entries`, keeping the
  // length of the file (the zero padding after it).
  void RewriteTail(size_t from, const std::vector<std::string>& entries) {
    std::string out = bytes_.substr(0, tail_[from].first);
    for (const std::string& e : entries) out += e;
    out.resize(bytes_.size(), '\0');
    std::ofstream(LogPath(), std::ios::binary | std::ios::trunc) << out;
  }
  absl::Status VerifyReadOnly(uint64_t* incomplete = nullptr) {
    StoreOptions ro;
    ro.read_only = true;
    auto store = Store::Open(dir_.path(), ro);
    if (!store.ok()) return store.status();
    uint64_t n = 0;
    return (*store)->VerifyAuditChain(&n, incomplete);
  }
  // Tampering must fail verification and a read-write open alike, and the
  // open must leave the log as it found it.
  void ExpectTamperingDetected() {
    const absl::Status verified = VerifyReadOnly();
    EXPECT_EQ(verified.code(), absl::StatusCode::kDataLoss) << verified;
    const uint64_t size = std::filesystem::file_size(LogPath());
    const absl::Status opened = Store::Open(dir_.path(), {}).status();
    EXPECT_EQ(opened.code(), absl::StatusCode::kDataLoss) << opened;
    EXPECT_NE(opened.message().find("quarantine-tail"), std::string_view::npos) << opened;
    EXPECT_EQ(std::filesystem::file_size(LogPath()), size);
  }

  TempDir dir_;
  uint64_t synced_size_ = 0, log_end_ = 0;
  std::string bytes_;
  std::vector<std::pair<size_t, size_t>> tail_;
};

TEST_F(KilledWorkTest, UntouchedTailVerifiesAndIsKept) {
  uint64_t incomplete = 99;
  ASSERT_TRUE(VerifyReadOnly(&incomplete).ok());
  EXPECT_EQ(incomplete, 0u);
  auto store = Store::Open(dir_.path(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  uint64_t n = 0;
  ASSERT_TRUE((*store)->VerifyAuditChain(&n).ok());
  EXPECT_EQ(n, 20u);
}

TEST_F(KilledWorkTest, AlteredEventInTheUnsyncedTailIsDetected) {
  std::string e = Entry(5);
  e[e.size() - 3] ^= 1;  // inside the event's body
  std::vector<std::string> rest{e};
  for (size_t i = 6; i < tail_.size(); ++i) rest.push_back(Entry(i));
  RewriteTail(5, rest);
  ExpectTamperingDetected();
}

TEST_F(KilledWorkTest, AlteredLastAnchoredEventIsDetected) {
  // Entry 18 is the last read, anchored by the last merge's batch.
  std::string e = Entry(18);
  e[e.size() - 3] ^= 1;
  RewriteTail(18, {e, Entry(19)});
  ExpectTamperingDetected();
}

TEST_F(KilledWorkTest, DeletedEventInTheUnsyncedTailIsDetected) {
  std::vector<std::string> rest;
  for (size_t i = 8; i < tail_.size(); ++i) rest.push_back(Entry(i));
  RewriteTail(7, rest);  // entry 7 gone
  ExpectTamperingDetected();
}

TEST_F(KilledWorkTest, DeletedAnchoredLastEventsAreDetected) {
  // The last three events cut at an entry boundary: two were anchored.
  RewriteTail(17, {});
  ExpectTamperingDetected();
}

TEST_F(KilledWorkTest, SwappedEventsInTheUnsyncedTailAreDetected) {
  std::vector<std::string> rest{Entry(4), Entry(3)};
  for (size_t i = 5; i < tail_.size(); ++i) rest.push_back(Entry(i));
  RewriteTail(3, rest);
  ExpectTamperingDetected();
}

// A genuine torn tail: the process stopped part way through copying the
// last entry (after every anchored event). It is reported, cut with the
// count, and the chain goes on.
TEST_F(KilledWorkTest, TornLastEntryIsCutAndCounted) {
  const std::string last = Entry(19);
  const std::string half = last.substr(0, last.size() / 2);
  RewriteTail(19, {half});
  const size_t written = half.find_last_not_of('\0') + 1;  // what is left of it
  uint64_t incomplete = 0;
  ASSERT_TRUE(VerifyReadOnly(&incomplete).ok());
  EXPECT_EQ(incomplete, written);
  ::testing::internal::CaptureStderr();
  auto store = Store::Open(dir_.path(), {});
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_NE(err.find("cut 1 incomplete event (" + std::to_string(written) + " bytes after sequence 19)"),
            std::string::npos)
      << err;
  // The cut merge event was committed with its change: chained again.
  EXPECT_EQ(Actions(**store).size(), 20u);
  EXPECT_EQ(Actions(**store).back(), "merge");
  uint64_t n = 0;
  ASSERT_TRUE((*store)->VerifyAuditChain(&n).ok());
  EXPECT_EQ(n, 20u);
}

// A torn entry in front of an anchored one is no crash: the anchor was
// written after the entry was whole.
TEST_F(KilledWorkTest, TornEntryBeforeTheAnchorIsDetected) {
  const std::string e = Entry(17);
  RewriteTail(17, {e.substr(0, e.size() / 2)});
  ExpectTamperingDetected();
}

// Verification opens read-only: it works on a copy an investigator cannot
// write to.
TEST_F(KilledWorkTest, VerifiesAReadOnlyCopy) {
  TempDir copy;
  std::filesystem::copy(dir_.path(), copy.path(),
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  for (const auto& f : std::filesystem::recursive_directory_iterator(copy.path())) {
    std::filesystem::permissions(f.path(),
                                 std::filesystem::perms::owner_write | std::filesystem::perms::group_write |
                                     std::filesystem::perms::others_write,
                                 std::filesystem::perm_options::remove);
  }
  std::filesystem::permissions(copy.path(), std::filesystem::perms::owner_write, std::filesystem::perm_options::remove);
  StoreOptions ro;
  ro.read_only = true;
  auto store = Store::Open(copy.path(), ro);
  ASSERT_TRUE(store.ok()) << store.status();
  uint64_t n = 0;
  EXPECT_TRUE((*store)->VerifyAuditChain(&n).ok());
  EXPECT_EQ(n, 20u);
  store->reset();
  std::filesystem::permissions(copy.path(), std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
}

// The way out of a damaged log: the damaged part moves into a file of its
// own (the evidence, byte for byte), the chain continues from the last good
// event, committed change events after it are chained again, and the store
// opens normally afterwards.
TEST_F(KilledWorkTest, QuarantineMovesTheDamagedTailAsideAndTheStoreGoesOn) {
  std::vector<std::string> rest{Entry(4), Entry(3)};
  for (size_t i = 5; i < tail_.size(); ++i) rest.push_back(Entry(i));
  RewriteTail(3, rest);
  std::ifstream in(LogPath(), std::ios::binary);
  const std::string damaged((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  {
    StoreOptions q;
    q.quarantine_audit_tail = true;
    auto store = Store::Open(dir_.path(), q);
    ASSERT_TRUE(store.ok()) << store.status();
    const std::optional<AuditQuarantine> done = (*store)->audit_quarantine();
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(done->kept_events_up_to, 3u);  // events 1-3 chain; entry 4 (event 5) does not
    // Up to the last non-zero byte: the zeros after it carry nothing.
    EXPECT_EQ(done->moved_bytes, damaged.find_last_not_of('\0') + 1 - tail_[3].first);
    std::ifstream moved(done->file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(moved)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes, damaged.substr(tail_[3].first, done->moved_bytes));
    EXPECT_NE(done->reason.find("sequence 4"), std::string::npos) << done->reason;
    uint64_t n = 0;
    ASSERT_TRUE((*store)->VerifyAuditChain(&n).ok());
    // The kept three, then the merges of rounds 2-10 chained again from
    // their pending copies (the reads among the moved events are only in
    // the quarantine file).
    EXPECT_EQ(n, 3u + 9u);
  }
  auto store = Store::Open(dir_.path(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_FALSE((*store)->audit_quarantine().has_value());
  uint64_t n = 0;
  EXPECT_TRUE((*store)->VerifyAuditChain(&n).ok());
}

}  // namespace
}  // namespace empi::index
