// Copyright EMPI developers.
//
// store_audit.cc: the store's audit chain: appending events to the log
// (index/audit_log.h), checkpoints, recovery at open (a torn tail, pending
// change events left unchained, a quarantine), verification. The rules are
// docs/format/store.md, "Anchors".
#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "index/store_impl.h"

namespace empi::index {

namespace {
// Checks that `e` follows (prev, expected sequence) on the chain.
absl::Status CheckLink(const StoredAuditEvent& e, uint64_t expected, const std::string& prev) {
  if (e.sequence != expected) {
    return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", expected, ": found sequence ",
                                            e.sequence, " instead (events removed or inserted)"));
  }
  if (e.prev_hash != prev) {
    return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", e.sequence,
                                            ": previous hash does not match (events removed or reordered)"));
  }
  if (AuditHash(prev, e.sequence, e.event) != e.hash) {
    return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", e.sequence, ": event altered"));
  }
  return absl::OkStatus();
}

// meta audit_synced: the log is synced up to `offset`, which ends the event
// `sequence` with `hash`; `closed` when the store was closed there, so any
// later entry was written behind its back.
struct SyncedPoint {
  uint64_t sequence = 0;
  std::string hash;
  uint64_t offset = 0;
  bool closed = false;
  // Anchors only: the Linux boot the anchor was written in. Events up to an
  // anchor are whole in the page cache whatever happens to the process, so
  // in the same boot none may be missing; after a restart, those not yet
  // synced may have been lost with the machine.
  bool anchor = false;
  std::string boot;
};

std::string EncodeSyncedPoint(const SyncedPoint& p) {
  return absl::StrCat(A(EncodeU64(p.sequence)), A(p.hash), A(EncodeU64(p.offset)), p.closed ? "c" : "o");
}
// Decodes meta audit_synced into *p; an absent value leaves *p as it is.
absl::Status DecodeSyncedPoint(const std::optional<std::string>& value, SyncedPoint* p) {
  if (!value.has_value()) return absl::OkStatus();
  const std::string_view v = *value;
  if (v.size() != 8 + kHashSize + 8 + 1) return absl::DataLossError("audit_synced malformed");
  p->sequence = DecodeU64(v.substr(0, 8));
  p->hash = std::string(v.substr(8, kHashSize));
  p->offset = DecodeU64(v.substr(8 + kHashSize, 8));
  p->closed = v.back() == 'c';
  return absl::OkStatus();
}

// meta audit_anchor: sequence, hash, offset, boot id (EncodeAnchor).
absl::Status DecodeAnchor(const std::optional<std::string>& value, SyncedPoint* p) {
  if (!value.has_value()) return absl::OkStatus();
  const std::string_view v = *value;
  if (v.size() < 8 + kHashSize + 8) return absl::DataLossError("audit_anchor malformed");
  p->sequence = DecodeU64(v.substr(0, 8));
  p->hash = std::string(v.substr(8, kHashSize));
  p->offset = DecodeU64(v.substr(8 + kHashSize, 8));
  p->anchor = true;
  p->boot = std::string(v.substr(8 + kHashSize + 8));
  return absl::OkStatus();
}

// What ScanLog found: the last event that chains on (and where it ends),
// and what follows it.
struct LogScan {
  uint64_t sequence = 0;
  std::string hash;
  uint64_t valid_end = 0;
  uint64_t events = 0;
  absl::flat_hash_set<uint64_t> pending_in_log;
  uint64_t highest_pending = 0;
  AuditLog::Tail tail;
  // Events anchored in an earlier boot that the log no longer holds: never
  // synced, lost with the machine.
  uint64_t lost_in_restart = 0;
};

// Reads the log at `path` from `start` (an offset ending the event
// start.sequence, whose hash is start.hash; offset 0 with the audit
// family's head) to its end. Every entry must chain on, and pass through
// each of `points` (anchors and synced points recorded in the store) that
// lies ahead of start: the event of that sequence with that hash, ending at
// that offset. After the last event only an incomplete entry may follow
// (AuditLog::Tail::kIncomplete), and only past every point: an anchored
// event was whole in the log before its anchor was written. Anything else is
// DataLoss. *out holds the good prefix even then.
absl::Status ScanLog(const std::string& path, const SyncedPoint& start, const std::vector<SyncedPoint>& points,
                     LogScan* out) {
  out->sequence = start.sequence;
  out->hash = start.hash;
  out->valid_end = start.offset;
  uint64_t must_reach = start.sequence, anchored = start.sequence;
  for (const SyncedPoint& p : points) {
    anchored = std::max(anchored, p.sequence);
    // Synced points must be reached; so must anchors, unless the machine has
    // restarted since the anchor was written.
    const bool restarted = p.anchor && !p.boot.empty() && !BootId().empty() && p.boot != BootId();
    if (!restarted) must_reach = std::max(must_reach, p.sequence);
  }
  absl::Status bad;
  uint64_t read_end = 0;
  EMPI_RETURN_IF_ERROR(AuditLog::Read(
      path, start.offset,
      [&](const AuditLog::Entry& e) {
        if (absl::Status s = CheckLink(e.event, out->sequence + 1, out->hash); !s.ok()) {
          bad = absl::DataLossError(absl::StrCat(s.message(), "; the entry at offset ", out->valid_end,
                                                 " is complete, so this is no crash's doing"));
          return false;
        }
        for (const SyncedPoint& p : points) {
          if (p.sequence == e.event.sequence && p.sequence > start.sequence &&
              (p.hash != e.event.hash || p.offset != e.end)) {
            bad = absl::DataLossError(absl::StrCat("audit chain broken at sequence ", p.sequence,
                                                   ": the log's event is not the one the store anchored (replaced)"));
            return false;
          }
        }
        out->sequence = e.event.sequence;
        out->hash = e.event.hash;
        out->valid_end = e.end;
        ++out->events;
        if (e.pending_id != 0) {
          out->pending_in_log.insert(e.pending_id);
          out->highest_pending = std::max(out->highest_pending, e.pending_id);
        }
        return true;
      },
      &read_end));
  EMPI_ASSIGN_OR_RETURN(out->tail, AuditLog::ReadTail(path, out->valid_end));
  if (!bad.ok()) {
    out->tail.kind = AuditLog::Tail::Kind::kDamaged;
    return bad;
  }
  if (out->tail.kind == AuditLog::Tail::Kind::kDamaged) {
    return absl::DataLossError(absl::StrCat(
        "audit chain broken at sequence ", out->sequence + 1, ": the ", out->tail.bytes, " bytes from offset ",
        out->valid_end, " are neither events that chain on nor one incomplete last event (altered, or events ",
        "removed or inserted)"));
  }
  if (out->sequence < anchored) out->lost_in_restart = anchored - out->sequence;
  if (out->sequence < must_reach) {
    return absl::DataLossError(absl::StrCat(
        "audit chain broken at sequence ", out->sequence + 1, ": the store recorded events up to sequence ", must_reach,
        " as written to the log, but it ends after sequence ", out->sequence,
        " (events removed: the machine has not restarted since they were written, so no crash lost them)"));
  }
  return absl::OkStatus();
}

// How an operator gets out of a damaged log (docs/realtime.md).
constexpr std::string_view kDamagedLogHelp =
    "; nothing was changed. `empi audit verify` reports the damage; `empi audit quarantine-tail` moves the damaged "
    "part of the log aside into a file in the store directory, kept as evidence, and lets the store be used again "
    "(docs/realtime.md, \"A damaged audit log\")";

// 0 for a missing file.
uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}
}  // namespace

absl::Status Store::Impl::AppendEvents(std::vector<Chained>* events, bool sync) {
  // Everything but the chain itself is done before taking chain_mu_.
  std::string bytes;
  std::vector<size_t> starts;
  uint64_t pending = 0, highest_in_batch = 0;
  for (const Chained& c : *events) {
    starts.push_back(bytes.size());
    bytes.append(AuditLog::EncodeUnchained(c.pending_id, *c.event));
    if (c.pending_id != 0) {
      ++pending;
      highest_in_batch = std::max(highest_in_batch, c.pending_id);
    }
  }
  AuditLog* log;
  bool checkpoint_due;
  AuditLog::PrefaultRange ahead;
  {
    absl::MutexLock l(&chain_mu_);
    if (audit_log_ == nullptr) return absl::FailedPreconditionError("store is open read-only");
    uint64_t seq = last_sequence_;
    std::string_view hash = last_hash_;
    for (size_t i = 0; i < starts.size(); ++i) {
      const size_t end = i + 1 < starts.size() ? starts[i + 1] : bytes.size();
      hash = AuditLog::Chain(std::span<char>(bytes.data() + starts[i], end - starts[i]), ++seq, hash);
      if (hash.empty()) return absl::InternalError("SHA-256 failed");
      (*events)[i].sequence = seq;
    }
    EMPI_RETURN_IF_ERROR(audit_log_->Append(bytes, &ahead));
    last_sequence_ = seq;
    last_hash_.assign(hash.data(), hash.size());
    chained_pending_ = std::max(chained_pending_, highest_in_batch);
    pending_since_checkpoint_ += pending;
    checkpoint_due = pending_since_checkpoint_ >= kPendingPerCheckpoint;
    log = audit_log_.get();
  }
  AuditLog::Prefault(ahead);
  if (sync) EMPI_RETURN_IF_ERROR(log->Sync());
  if (checkpoint_due) WantCheckpoint();
  return absl::OkStatus();
}

void Store::Impl::StartCheckpointer() {
  checkpointer_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock l(&checkpointer_mu_);
        while (!checkpoint_wanted_ && !checkpointer_stopping_) checkpointer_cv_.Wait(&checkpointer_mu_);
        if (checkpointer_stopping_) return;
        checkpoint_wanted_ = false;
      }
      // A failure leaves the events pending in RocksDB and the synced point
      // where it was; the next checkpoint, or the next open, tries again.
      if (absl::Status s = Checkpoint(); !s.ok()) {
        std::fprintf(stderr, "empi: audit log checkpoint failed: %s\n", std::string(s.message()).c_str());
      }
    }
  });
}

void Store::Impl::StopCheckpointer() {
  if (!checkpointer_.joinable()) return;
  {
    absl::MutexLock l(&checkpointer_mu_);
    checkpointer_stopping_ = true;
  }
  checkpointer_cv_.Signal();
  checkpointer_.join();
}

void Store::Impl::WantCheckpoint() {
  {
    absl::MutexLock l(&checkpointer_mu_);
    checkpoint_wanted_ = true;
  }
  checkpointer_cv_.Signal();
}

absl::Status Store::Impl::Checkpoint(bool closing) {
  absl::MutexLock cl(&checkpoint_mu_);
  SyncedPoint point;
  point.closed = closing;
  uint64_t upto;
  AuditLog* log;
  {
    absl::MutexLock l(&chain_mu_);
    if (audit_log_ == nullptr) return absl::OkStatus();
    point.sequence = last_sequence_;
    point.hash = last_hash_;
    point.offset = audit_log_->size();
    upto = chained_pending_;
    pending_since_checkpoint_ = 0;
    log = audit_log_.get();
  }
  EMPI_RETURN_IF_ERROR(log->Sync());
  // Every pending event up to `upto` is in the log, now synced.
  rocksdb::WriteBatch b;
  if (upto > checkpointed_pending_) {
    const std::string from = absl::StrCat(A(kMetaAuditPendingPrefix), A(EncodeU64(checkpointed_pending_ + 1)));
    const std::string to = absl::StrCat(A(kMetaAuditPendingPrefix), A(EncodeU64(upto + 1)));
    EMPI_RETURN_IF_ERROR(FromRocks(b.DeleteRange(handle(Cf::kMeta), from, to), "audit checkpoint"));
  }
  EMPI_RETURN_IF_ERROR(
      FromRocks(b.Put(handle(Cf::kMeta), kMetaAuditSynced, EncodeSyncedPoint(point)), "audit checkpoint"));
  // The anchor too: it may only move back to a point that is true (a
  // quarantine cuts the chain back), never claim more than the log holds.
  EMPI_RETURN_IF_ERROR(
      FromRocks(b.Put(handle(Cf::kMeta), kMetaAuditAnchor, EncodeAnchor(point.sequence, point.hash, point.offset)),
                "audit checkpoint"));
  EMPI_RETURN_IF_ERROR(Failure());
  EMPI_RETURN_IF_ERROR(Record(FromRocks(db_->Write(rocksdb::WriteOptions(), &b), "audit checkpoint")));
  checkpointed_pending_ = upto;
  return absl::OkStatus();
}

absl::Status Store::Impl::VerifyAuditChain(uint64_t* events_checked, uint64_t* incomplete_tail_bytes) const {
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{db_, snapshot};

  // The audit family: events written before format version 3.
  uint64_t expected = 1;
  std::string prev(kHashSize, '\0');
  absl::Status bad;
  absl::Status scan = Scan(Cf::kAudit, "", snapshot, [&](std::string_view key, std::string_view value) {
    if (key.size() != 8) {
      bad = absl::DataLossError(absl::StrCat("audit chain broken at sequence ", expected, ": malformed key"));
      return false;
    }
    StoredAuditEvent e;
    const uint64_t seq = DecodeU64(key);
    if (seq == expected && !DecodeAuditValue(seq, value, &e)) {
      bad = absl::DataLossError(absl::StrCat("audit chain broken at sequence ", seq, ": event does not decode"));
      return false;
    }
    e.sequence = seq;
    bad = CheckLink(e, expected, prev);
    if (!bad.ok()) return false;
    prev = e.hash;
    ++expected;
    return true;
  });
  EMPI_RETURN_IF_ERROR(scan);
  EMPI_RETURN_IF_ERROR(bad);
  const uint64_t in_family = expected - 1;
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> head, Get(Cf::kMeta, kMetaAuditHead, snapshot));
  if (!head.has_value()) {
    if (in_family != 0)
      return absl::DataLossError(absl::StrCat("audit chain head missing; ", in_family, " events present"));
  } else {
    if (head->size() != 8 + kHashSize) return absl::DataLossError("audit chain head malformed");
    const uint64_t head_seq = DecodeU64(*head);
    if (head_seq != in_family) {
      // Events past the head were inserted; a head past the events means the
      // last ones were removed. Either way the first bad one follows the shorter.
      return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", std::min(in_family, head_seq) + 1,
                                              ": head records ", head_seq, " events but ", in_family, " are present"));
    }
    if (head->substr(8) != prev) {
      return absl::DataLossError(
          absl::StrCat("audit chain broken at sequence ", in_family, ": head hash does not match the last event"));
    }
  }

  // The log continues the chain, through every point the store recorded
  // (synced, anchored); past the last, one incomplete entry is a crash's.
  SyncedPoint synced, anchor;
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> point, Get(Cf::kMeta, kMetaAuditSynced, snapshot));
  EMPI_RETURN_IF_ERROR(DecodeSyncedPoint(point, &synced));
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> anchored, Get(Cf::kMeta, kMetaAuditAnchor, snapshot));
  EMPI_RETURN_IF_ERROR(DecodeAnchor(anchored, &anchor));
  LogScan log;
  EMPI_RETURN_IF_ERROR(
      ScanLog(AuditLogPath(), SyncedPoint{expected - 1, prev, 0, false, false, {}}, {synced, anchor}, &log));
  expected = log.sequence + 1;
  if (synced.closed && log.sequence > synced.sequence) {
    return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", synced.sequence + 1,
                                            ": the log goes on after the store was last closed (inserted)"));
  }
  if (incomplete_tail_bytes != nullptr) {
    *incomplete_tail_bytes = log.tail.kind == AuditLog::Tail::Kind::kIncomplete ? log.tail.bytes : 0;
  }
  if (events_checked != nullptr) *events_checked = expected - 1;
  return absl::OkStatus();
}

absl::Status Store::Impl::ForEachAuditEvent(const std::function<bool(const StoredAuditEvent&)>& fn) const {
  absl::Status bad;
  bool more = true;
  EMPI_RETURN_IF_ERROR(Scan(Cf::kAudit, "", nullptr, [&](std::string_view key, std::string_view value) {
    StoredAuditEvent e;
    if (key.size() != 8 || !DecodeAuditValue(DecodeU64(key), value, &e)) {
      bad =
          absl::DataLossError(absl::StrCat("audit: event ", key.size() == 8 ? DecodeU64(key) : 0, " does not decode"));
      return more = false;
    }
    return more = fn(e);
  }));
  EMPI_RETURN_IF_ERROR(bad);
  if (!more) return absl::OkStatus();
  uint64_t valid_end = 0;
  return AuditLog::Read(
      AuditLogPath(), 0, [&](const AuditLog::Entry& e) { return fn(e.event); }, &valid_end);
}

absl::Status Store::Impl::OpenAuditTrail() {
  // The head of the audit family (events before format version 3).
  uint64_t seq = 0;
  std::string hash(kHashSize, '\0');
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(Cf::kAudit)));
    it->SeekToLast();
    if (it->Valid()) {
      StoredAuditEvent last;
      const std::string_view key = it->key().ToStringView();
      if (key.size() != 8 || !DecodeAuditValue(DecodeU64(key), it->value().ToStringView(), &last)) {
        if (!options_.read_only) {
          return absl::DataLossError("the last audit event does not decode; open read-only and verify the chain");
        }
      } else {
        seq = last.sequence;
        hash = last.hash;
      }
    }
    EMPI_RETURN_IF_ERROR(FromRocks(it->status(), "reading the audit trail"));
  }
  if (options_.read_only) return absl::OkStatus();  // appends nothing: no head needed

  // The log from the point last synced: every entry must chain on, through
  // the latest anchor (ScanLog); one incomplete entry after it is the torn
  // tail of a crash and is cut off. Anything else is damage, which a
  // read-write open refuses, unless asked to quarantine it.
  SyncedPoint synced{seq, hash, 0, false, false, {}}, anchor;
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> point, Get(Cf::kMeta, kMetaAuditSynced, nullptr));
  EMPI_RETURN_IF_ERROR(DecodeSyncedPoint(point, &synced));
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> anchored, Get(Cf::kMeta, kMetaAuditAnchor, nullptr));
  EMPI_RETURN_IF_ERROR(DecodeAnchor(anchored, &anchor));
  const std::string log_path = AuditLogPath();
  const uint64_t file_size = FileSize(log_path);
  LogScan scan;
  absl::Status damage;
  if (file_size < synced.offset) {
    damage = absl::DataLossError(
        absl::StrCat("audit log ", log_path, " is shorter than when it was last synced ", "(events removed)"));
  } else {
    damage = ScanLog(log_path, synced, {anchor}, &scan);
  }
  if (damage.ok() && synced.closed && scan.sequence > synced.sequence) {
    damage = absl::DataLossError(absl::StrCat("audit chain broken at sequence ", synced.sequence + 1,
                                              ": the log goes on after the store was last closed (inserted)"));
  }
  if (!damage.ok() && !options_.quarantine_audit_tail) {
    return absl::DataLossError(absl::StrCat("audit log ", log_path, ": ", damage.message(), A(kDamagedLogHelp)));
  }
  if (!damage.ok()) {
    // Keep the longest prefix that chains from the audit family's head,
    // whatever the store recorded; move the rest aside.
    scan = LogScan();
    (void)ScanLog(log_path, SyncedPoint{seq, hash, 0, false, false, {}}, {}, &scan);
    const uint64_t moved = file_size > scan.valid_end ? scan.tail.bytes : 0;
    AuditQuarantine q;
    q.kept_events_up_to = scan.sequence;
    q.moved_bytes = moved;
    q.reason = std::string(damage.message());
    if (moved > 0) {
      const absl::Time now = absl::Now();
      q.file = absl::StrCat(path_, "/", A(kAuditLogFile), ".damaged-",
                            absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()));
      EMPI_RETURN_IF_ERROR(AuditLog::CopyRange(log_path, scan.valid_end, moved, q.file));
    }
    quarantine_ = std::move(q);
    // Pending change events after the kept prefix are chained again below.
    synced = SyncedPoint{scan.sequence, scan.hash, scan.valid_end, false, false, {}};
    scan.tail = AuditLog::Tail();
  }
  seq = scan.sequence;
  hash = scan.hash;
  absl::flat_hash_set<uint64_t> in_log = std::move(scan.pending_in_log);
  uint64_t highest_pending = scan.highest_pending;
  const uint64_t valid_end = scan.valid_end;
  if (scan.lost_in_restart > 0) {
    std::fprintf(stderr,
                 "empi: audit log: %llu events after sequence %llu, written before the machine restarted, were never "
                 "synced and are lost; change events among them are chained again from the store\n",
                 static_cast<unsigned long long>(scan.lost_in_restart), static_cast<unsigned long long>(scan.sequence));
  }
  if (scan.tail.kind == AuditLog::Tail::Kind::kIncomplete) {
    std::fprintf(stderr,
                 "empi: audit log: cut 1 incomplete event (%llu bytes after sequence %llu): a process stopped while "
                 "writing it; every event the store anchored is intact\n",
                 static_cast<unsigned long long>(scan.tail.bytes), static_cast<unsigned long long>(seq));
  }
  EMPI_ASSIGN_OR_RETURN(std::unique_ptr<AuditLog> log, AuditLog::Open(log_path, valid_end));

  // Change events committed but not chained before a crash, in order.
  std::vector<AuditEvent> unchained_events;
  std::vector<uint64_t> unchained_ids;
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(
      Scan(Cf::kMeta, kMetaAuditPendingPrefix, nullptr, [&](std::string_view key, std::string_view value) {
        StoredAuditEvent e;
        if (key.size() != 8 || !DecodeAuditValue(0, value, &e)) {
          bad = absl::DataLossError("a pending audit event does not decode");
          return false;
        }
        const uint64_t id = DecodeU64(key);
        highest_pending = std::max(highest_pending, id);
        if (!in_log.contains(id)) {
          unchained_events.push_back(std::move(e.event));
          unchained_ids.push_back(id);
        }
        return true;
      }));
  EMPI_RETURN_IF_ERROR(bad);
  {
    absl::MutexLock l(&chain_mu_);
    audit_log_ = std::move(log);
    last_sequence_ = seq;
    last_hash_ = std::move(hash);
    chained_pending_ = highest_pending;
  }
  {
    absl::MutexLock l(&mu_);
    next_pending_id_ = highest_pending + 1;
  }
  if (!unchained_events.empty()) {
    std::vector<Chained> unchained;
    for (size_t i = 0; i < unchained_events.size(); ++i) unchained.push_back({&unchained_events[i], unchained_ids[i]});
    EMPI_RETURN_IF_ERROR(AppendEvents(&unchained, /*sync=*/false));
  }
  // Synced point at the end of the log: later opens scan only what follows,
  // where every pending id is new.
  EMPI_RETURN_IF_ERROR(Checkpoint());
  StartCheckpointer();
  return absl::OkStatus();
}

}  // namespace empi::index
