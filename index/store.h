// Copyright EMPI developers.
//
// store.h: the RocksDB database that holds everything EMPI knows.
//
// index/ owns every byte RocksDB stores. docs/format/store.md describes each
// column family, key and value encoding; kFormatVersion is written to the
// meta column family at creation and checked on open.
//
// Column families (the names are part of the persistent format):
//   records         record key (source \0 record_id) -> RecordValue
//   person_records  person id (8 bytes big-endian) + record key -> ""
//   persons         person id -> PersonValue
//   person_view     person id -> PersonView (derived; merge operator)
//   block_keys      rule id (1 byte) + blocking key + \0 + record key -> ""
//   nhs_index       NHS number (8 bytes big-endian) + record key -> "" (the
//                   record's own number) or 1 (a relative's number)
//   model           "current" -> model JSON
//   review          record key a + \0\0 + record key b -> ReviewValue, under
//                   both (a, b) and (b, a)
//   manual          "never\0" + key a + \0\0 + key b -> ""  (a < b)
//                   "supersede\0" + old NHS number (8 bytes BE) -> new NHS
//                   number (8 bytes BE) + time (8 bytes BE, Unix us)
//   objections      "pending\0" + NHS number or demographic key -> ObjectionValue
//   history         person id + sequence (8 bytes BE) -> HistoryEvent JSON
//   audit           sequence (8 bytes BE) -> AuditValue (hash chained); events
//                   before format version 3, which appends to audit.log
//   meta            text keys ("format_version", "next_person_id", runs ...)
//   changes         sequence (8 bytes BE) -> Change: the change feed, one
//                   entry per change to who is who, numbered from 1 without
//                   gaps in commit order (see Change)
//   view_history    person id + change sequence (8 bytes BE each) -> the
//                   person_view ops of the commits whose last change (or
//                   the last change before them) is that sequence,
//                   concatenated (merge operator): folded in key order they
//                   give the person's view as of any change
//   record_history  record key + change sequence (8 bytes BE) -> person id
//                   (8 bytes BE; 0: no person), the record's person from
//                   that change on
//   nhs_history     NHS number (8 bytes BE) + record key + change sequence
//                   (8 bytes BE) -> 1 (the record holds the number in
//                   nhs_index from that change on), 2 (holds it as a
//                   relative's number) or 0 (no longer); with an
//                   empty record key -> the number that superseded it
//                   (8 bytes BE) from that change on
//
// Every unit of change goes through Commit(): one rocksdb::WriteBatch,
// applied atomically, optionally with one audit event chained into it, so a
// crash leaves either all of a change or none of it.
//
//   EMPI_ASSIGN_OR_RETURN(auto store, index::Store::Open(dir, {}));
//   index::ChangeSet changes;
//   changes.PutRecord(stored_record);
//   changes.AddMembership(person_id, stored_record.record.Key());
//   EMPI_RETURN_IF_ERROR(store->Commit(&changes, &event, /*sync=*/true));
//
// Thread-safety: a Store is safe for concurrent use from many threads.
// Concurrent Commit() calls with sync=true are grouped: one leader writes
// and syncs the write-ahead log for everyone waiting (group commit), and
// audit events are chained in the order their changes are applied.
#ifndef EMPI_INDEX_STORE_H_
#define EMPI_INDEX_STORE_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "empi/objection.h"
#include "empi/record.h"
#include "index/read_cache.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace empi::index {

// Part of the persistent format: bump when any encoding changes.
// Version 2 added the person_view family; version 3 moved new audit events
// to the append-only file audit.log (index/audit_log.h); version 4 keeps
// each review pair under both orders and adds PersonValue's
// objection_in_review; version 5 adds NHS number supersessions (manual
// "supersede") and keeps nhs_index under each record's current number.
// Version 6 adds the changes family (the change feed); version 7 the
// view_history and record_history families (answers as of a past change);
// version 8 audit events with request and correlation ids; version 9 the
// nhs_history family (answers by NHS number as of a past change); version
// 10 marks an NHS number held as a relative's (nhs_index value 1,
// nhs_history value 2). Older stores are upgraded when opened read-write.
inline constexpr uint32_t kFormatVersion = 10;

// Do not change the values of existing entries: part of the persistent format.
enum class Cf : uint8_t {
  kRecords = 0,
  kPersonRecords = 1,
  kPersons = 2,
  kBlockKeys = 3,
  kNhsIndex = 4,
  kModel = 5,
  kReview = 6,
  kManual = 7,
  kObjections = 8,
  kHistory = 9,
  kAudit = 10,
  kMeta = 11,
  kPersonView = 12,
  kChanges = 13,
  kViewHistory = 14,
  kRecordHistory = 15,
  kNhsHistory = 16,
};
inline constexpr int kNumCfs = 17;

// The most level-0 files a family may hold when a bulk load starts
// (Store::StartBulkLoad compacts any that holds more): with a load's own 34
// at most, under RocksDB's write stop of 36.
inline constexpr int kBulkLoadLevel0Before = 2;
std::string_view CfName(Cf cf);

struct StoredRecord {
  Record record;
  uint64_t person_id = 0;
};

// How an objection reached us. Part of the persistent format; the values
// are the public enumeration's (empi/objection.h).
using ObjectionMethod = ::empi::ObjectionMethod;

struct PersonValue {
  bool objection = false;
  int64_t objection_time_us = 0;  // Unix microseconds, when registered
  ObjectionMethod objection_method = ObjectionMethod::kNone;
  std::string objection_reference;  // the form's reference, free text
  int64_t created_time_us = 0;
  // Derived: a record of this person is in review with a record of another
  // person who objected. The engine keeps it (engine/realtime/
  // review_objections.h); the objection holds until a steward decides.
  bool objection_in_review = false;
};

// Gives `p` the objection (time, method, reference) unless it objects
// already; returns whether `p` changed. An objection, once a person has it,
// is never replaced by another one's details.
bool AdoptObjection(PersonValue* p, int64_t time_us, ObjectionMethod method, std::string_view reference);
// The same with `from`'s objection (which the caller knows `from` has).
inline bool AdoptObjection(PersonValue* p, const PersonValue& from) {
  return AdoptObjection(p, from.objection_time_us, from.objection_method, from.objection_reference);
}

// What a real-time read needs of a person, in one value: the person value
// and, for each linked record in key order, the record facts that decide
// scope and restriction. Derived: ChangeSet keeps it equal to persons +
// person_records + records in every change it makes (PutRecord adds or
// refreshes the record's member under its person id, RemoveMembership and
// DeletePerson remove, PutPerson sets `person`). Stored as a base value plus
// RocksDB merge operands (ops), folded on read and by compaction.
struct PersonViewMember {
  std::string record_key;
  bool restricted = false;
  int32_t dob_ymd = 0;  // date of birth as yyyymmdd; 0 when unknown or malformed
};
struct PersonView {
  std::optional<PersonValue> person;
  std::vector<PersonViewMember> members;  // record key order
};

struct ReviewValue {
  double match_weight = 0;
  double match_probability = 0;
  std::string reason;  // "between thresholds", "nhs conflict", "weak group"
};

// A pending objection: registered before any of the patient's records were
// stored; applied to the person whose record first matches it.
struct ObjectionValue {
  int64_t time_us = 0;
  ObjectionMethod method = ObjectionMethod::kForm;
  std::string reference;
  // Demographics as on the form, for pending demographic objections.
  std::string nhs_number, family_name, given_names, date_of_birth, postcode;
};

// One audit event, as the caller describes it; the store adds sequence,
// time (if zero) and the hash chain.
struct AuditEvent {
  int64_t time_us = 0;
  std::string requester, organisation, role, purpose;
  std::string action;   // "resolve", "search", "view", "object", "merge", ...
  std::string outcome;  // "ok", "allowed", "denied: objection", ...
  std::vector<uint64_t> persons;
  std::vector<std::string> records;  // record keys (source \0 record_id)
  // Resolutions and view decisions (empi::AuditEvent): the change answered
  // at, the model version, and whether it was asked as of that change.
  // Encoded only when one is set, so older events keep their bytes.
  uint64_t at_change = 0;
  std::string model_version;
  bool as_of = false;
  // The front end's request and correlation ids (HTTP X-Request-ID and
  // X-Correlation-ID), from format version 8; encoded only when one is set.
  std::string request_id, correlation_id;
};

struct StoredAuditEvent {
  uint64_t sequence = 0;
  AuditEvent event;
  std::string prev_hash;  // 32 bytes SHA-256
  std::string hash;       // SHA-256(prev_hash || canonical encoding)
};

// One change to who is who, for consumers that cache what the index
// answered (a view, a resolution) and must learn when it goes stale: a
// record linked, a new person, a record moved, a merge, split or unmerge,
// an objection registered or withdrawn, a restricted flag changed. It names
// person ids and record keys only, never demographics. The store numbers
// changes at commit (Store::Commit, BulkLoad) from 1, strictly increasing
// and without gaps, in the order they become visible.
struct Change {
  int64_t time_us = 0;  // Unix microseconds; ChangeSet::AddChange stamps 0 with now
  std::string kind;     // "record-linked", "new-person", "merge", ... (docs/format/store.md)
  std::vector<uint64_t> persons;
  std::vector<std::string> records;  // record keys (source \0 record_id)
};
struct StoredChange {
  uint64_t sequence = 0;
  Change change;
};
class ChangeSet;
// Adds to `cs` the changes of storing `now` in place of `old` (null for a
// new record): "new-person" (when `new_person`) or "record-linked" for a
// new record, "record-moved" or "record-updated" for a stored one, and
// "restricted-changed" when its restricted flag differs from old's.
void AddRecordChanges(const StoredRecord* old, const StoredRecord& now, bool new_person, ChangeSet* cs);

// Key and value encodings. Decoders return false on malformed input.
std::string EncodeU64(uint64_t v);  // 8 bytes big-endian
uint64_t DecodeU64(std::string_view eight);
std::string PersonRecordKey(uint64_t person_id, std::string_view record_key);
std::string BlockKey(uint8_t rule, std::string_view blocking_key, std::string_view record_key);
std::string NhsIndexKey(uint64_t nhs, std::string_view record_key);
std::string PairKey(std::string_view a, std::string_view b);              // orders a, b
std::string DirectedPairKey(std::string_view from, std::string_view to);  // keeps the order
bool SplitPairKey(std::string_view pair_key, std::string* a, std::string* b);
std::string EncodeRecordValue(const StoredRecord& r);
bool DecodeRecordValue(std::string_view record_key, std::string_view value, StoredRecord* r);
// Only the person id of a records value: what a resolution needs of it.
bool DecodeRecordPersonId(std::string_view value, uint64_t* person_id);
std::string EncodePersonValue(const PersonValue& p);
bool DecodePersonValue(std::string_view value, PersonValue* p);
std::string EncodePersonView(const PersonView& v);
bool DecodePersonView(std::string_view value, PersonView* v);
// Merge operands of person_view. An operand is a sequence of ops, so that
// operands concatenate into one operand with the same effect.
std::string PersonViewMemberOp(const StoredRecord& r);        // add or refresh r's member
std::string PersonViewRemoveOp(std::string_view record_key);  // drop a member
std::string PersonViewPersonOp(const PersonValue& p);         // set the person value
std::string PersonViewSetOp(const PersonView& v);             // replace the whole view
// Applies the ops of `operand` to *v in order; false if malformed.
bool ApplyPersonViewOps(std::string_view operand, PersonView* v);
// "YYYY-MM-DD" as yyyymmdd; 0 for anything else.
int32_t DateOfBirthYmd(std::string_view date_of_birth);
std::string EncodeReviewValue(const ReviewValue& v);
bool DecodeReviewValue(std::string_view value, ReviewValue* v);
std::string EncodeObjectionValue(const ObjectionValue& v);
bool DecodeObjectionValue(std::string_view value, ObjectionValue* v);
std::string EncodeChange(const Change& c);
bool DecodeChange(std::string_view value, Change* c);
std::string HistoryKey(uint64_t person_id, uint64_t sequence);  // also view_history's keys
std::string RecordHistoryKey(std::string_view record_key, uint64_t sequence);
// nhs_history's key; an empty record key is the number's supersession.
std::string NhsHistoryKey(uint64_t nhs, std::string_view record_key, uint64_t sequence);
std::string AuditKey(uint64_t sequence);  // EncodeU64(sequence)
// The canonical serialisation of (sequence, event) that the audit hash covers;
// see docs/format/store.md. Deterministic: equal inputs give equal bytes.
std::string CanonicalAuditBytes(uint64_t sequence, const AuditEvent& event);
// SHA-256(prev_hash || CanonicalAuditBytes(sequence, event)), 32 bytes.
std::string AuditHash(std::string_view prev_hash, uint64_t sequence, const AuditEvent& event);
// The event part of CanonicalAuditBytes (what follows the sequence).
std::string EncodeAuditBody(const AuditEvent& event);
// AuditHash of the event whose EncodeAuditBody is `body`, into out[0..32);
// false if SHA-256 failed.
bool AuditHashOfBody(std::string_view prev_hash, uint64_t sequence, std::string_view body, char out[32]);
std::string EncodeAuditValue(const StoredAuditEvent& e);
bool DecodeAuditValue(uint64_t sequence, std::string_view value, StoredAuditEvent* e);

// Meta keys written by the store itself.
inline constexpr std::string_view kMetaFormatVersion = "format_version";  // decimal text
inline constexpr std::string_view kMetaNextPersonId = "next_person_id";   // EncodeU64
inline constexpr std::string_view kMetaAuditHead = "audit_head";          // EncodeU64(seq) + 32-byte hash
inline constexpr std::string_view kMetaNextChange = "next_change";        // EncodeU64: the next change's sequence
// EncodeU64: the first change the view and record histories answer for (a
// store upgraded to format version 7 keeps them from its upgrade on; absent: 0).
inline constexpr std::string_view kMetaHistoryFrom = "history_from";
// EncodeU64: the first change nhs_history answers for (a store upgraded to
// format version 9 keeps it from its upgrade on; absent: 0).
inline constexpr std::string_view kMetaNhsHistoryFrom = "nhs_history_from";
// Present while the NHS index's marks of a relative's number are not judged
// yet: written by the upgrade from a format before 10, which holds none;
// deleted by the first relink of every record, which judges every number.
inline constexpr std::string_view kMetaNhsMarksPending = "nhs_marks_pending";
// Present while persons' objection_in_review may be out of date: set with a
// change, deleted once the flags it affects are updated; a store opened with
// it present has every flag recomputed.
inline constexpr std::string_view kMetaReviewObjectionsDirty = "review_objections_dirty";

// A unit of change: a WriteBatch with typed helpers. Nothing is visible
// until Store::Commit applies it.
class ChangeSet {
 public:
  void PutRecord(const StoredRecord& r);
  void DeleteRecord(std::string_view record_key);
  void AddMembership(uint64_t person_id, std::string_view record_key);
  void RemoveMembership(uint64_t person_id, std::string_view record_key);
  void PutPerson(uint64_t person_id, const PersonValue& p);
  void DeletePerson(uint64_t person_id);
  void PutBlockKey(uint8_t rule, std::string_view blocking_key, std::string_view record_key);
  void DeleteBlockKey(uint8_t rule, std::string_view blocking_key, std::string_view record_key);
  // `relatives`: the number is a relative's on this record (written on a
  // child's record by a parent's, say), as the matching judged it among
  // the number's holders; answers by NHS number then follow its owner.
  void PutNhs(uint64_t nhs, std::string_view record_key, bool relatives = false);
  void DeleteNhs(uint64_t nhs, std::string_view record_key);
  void PutReview(std::string_view a, std::string_view b, const ReviewValue& v);
  void DeleteReview(std::string_view a, std::string_view b);
  void PutNeverLink(std::string_view a, std::string_view b);
  // NHS number `old_nhs` was replaced by `new_nhs` (a duplicate registration
  // resolved nationally), as learnt at `time_us`.
  void PutSupersession(uint64_t old_nhs, uint64_t new_nhs, int64_t time_us);
  void PutPendingObjection(std::string_view key, const ObjectionValue& v);
  void DeletePendingObjection(std::string_view key);
  void AppendHistory(uint64_t person_id, uint64_t sequence, std::string_view json);
  void PutModel(std::string_view json);
  void PutMeta(std::string_view key, std::string_view value);
  void DeleteMeta(std::string_view key);
  // A change to who is who, numbered when the set is committed (Change).
  void AddChange(Change change);

  bool empty() const { return batch_.Count() == 0 && changes_.empty(); }
  size_t changes() const { return changes_.size(); }
  // Whether the set changes a person's view, a record's person or who holds
  // an NHS number: the commit then adds their history (view_history,
  // record_history, nhs_history), keyed by the set's last change.
  bool has_history() const { return !view_ops_.empty() || !record_persons_.empty() || !nhs_ops_.empty(); }
  size_t ApproximateSize() const { return batch_.GetDataSize(); }
  rocksdb::WriteBatch* batch() { return &batch_; }

 private:
  friend class Store;
  friend class BulkLoad;
  rocksdb::ColumnFamilyHandle* Handle(Cf cf);
  rocksdb::WriteBatch batch_;
  std::vector<std::string> changes_;  // EncodeChange of each AddChange, in order
  // History of this set, in call order: person_view ops by person, and
  // records' new person ids (0: deleted).
  std::vector<std::pair<uint64_t, std::string>> view_ops_;
  std::vector<std::pair<std::string, uint64_t>> record_persons_;
  // nhs_history keys without their change, and their values.
  std::vector<std::pair<std::string, std::string>> nhs_ops_;
  bool allocated_person_ids_ = false;  // AllocatePersonIds() used this set
  // Set by Store::Open's caller through Store::NewChangeSet(); handles are
  // needed to address column families.
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
};

// What Store::BulkIngest did, for progress reports and tests.
struct BulkIngestStats {
  uint64_t puts = 0;   // puts (and person_view merges) read from the change sets
  uint64_t keys = 0;   // distinct keys written (puts less superseded ones)
  uint64_t files = 0;  // SST files ingested, over all column families
  uint64_t bytes = 0;  // key and value bytes written
};

// What Store::Open did with a damaged audit log, when asked to
// (StoreOptions::quarantine_audit_tail).
struct AuditQuarantine {
  uint64_t kept_events_up_to = 0;  // audit.log now ends with this event
  uint64_t moved_bytes = 0;        // bytes moved from audit.log into `file`
  std::string file;                // in the store directory; empty if nothing was moved
  std::string reason;              // the damage found, as verification reports it
};

class Store;

// A bulk load whose data becomes visible all at once, however many rounds
// it is written in: AddRound sorts a round of change sets into SST files on
// disk (so memory holds one round, not the load), Finish adds every round's
// files in one rocksdb::DB::IngestExternalFiles call, atomic across column
// families. A crash or error before Finish returns leaves none of the load
// visible (the files, in the database directory's bulk_ingest.tmp, are
// removed by the destructor or by the next bulk load); after it, all of it.
//
// Unlike Store::BulkIngest, a load takes deletes (written as tombstones)
// and change sets that used AllocatePersonIds (the counter is ingested with
// the persons that use the ids). Within a round a key's operations apply in
// set order; a later round wins over an earlier one (docs/format/store.md,
// "Bulk ingestion"). The audit family and the store's other own meta keys
// are refused (InvalidArgument).
//
// Thread-safety: one load per store at a time, and no other Commit that
// allocates person ids until Finish (the CLI holds the database's lock).
class BulkLoad {
 public:
  ~BulkLoad();
  BulkLoad(const BulkLoad&) = delete;
  BulkLoad& operator=(const BulkLoad&) = delete;

  [[nodiscard]] absl::Status AddRound(const std::vector<ChangeSet>& sets);
  // Ingests every round; call once.
  [[nodiscard]] absl::Status Finish();
  const BulkIngestStats& stats() const { return stats_; }

 private:
  friend class Store;
  BulkLoad(void* impl, std::string dir);
  void* impl_;  // Store::Impl
  std::string dir_;
  std::shared_ptr<void> files_;  // Store::Impl::BulkFiles
  int rounds_ = 0;
  bool finished_ = false;
  BulkIngestStats stats_;
};

struct StoreOptions {
  // Behaviour
  bool create_if_missing = true;  // Default: true
  bool read_only = false;         // Default: false
  // A read-write open refuses a damaged audit log (DataLoss: events
  // altered, removed, inserted or reordered, or missing although the store
  // anchored them). With this set it instead keeps the longest prefix of the
  // log that chains on, copies everything after it into a new file
  // `audit.log.damaged-<UTC time>` in the store directory (synced before the
  // log is cut), and continues the chain from that prefix, re-chaining
  // committed change events whose entries were cut. Store::audit_quarantine
  // then says what was done; the caller should audit it. Default: false.
  bool quarantine_audit_tail = false;
  // Performance
  size_t block_cache_bytes = 256 << 20;  // Default: 256 MiB
  bool bulk_load = false;                // Default: false. Larger memtables, no compression
                                         // on level 0, no automatic compaction (the next
                                         // read-write open compacts), for a load of millions.
  // Persons whose views (and 4x as many records' person ids) the read cache
  // may hold for LatestRecordPerson / LatestPersonView; 0 turns it off.
  // About 300 bytes per person with three records. Default: 0.
  size_t read_cache_persons = 0;
  // Testing
  // The Env (and so the FileSystem) RocksDB uses; must outlive the store.
  // Tests pass a fault-injecting FileSystem wrapper
  // (tests/index/fault_injection_fs.h). Default: nullptr, the default Env.
  rocksdb::Env* env = nullptr;
};

class Store {
 public:
  // Opens (creating if allowed) the database in `path`. Returns
  // FailedPrecondition if the stored format version is not kFormatVersion,
  // and the RocksDB error otherwise.
  //
  // Errors map onto the CLI's exit codes (engine/cli/command.h): NotFound
  // when the store does not exist and creation is not allowed; Aborted when
  // another process has the store open for writing (RocksDB's LOCK file is
  // held: a temporary condition); Unavailable for I/O errors (a read-only
  // or full file system); DataLoss for corruption, including a damaged
  // audit log (see docs/format/store.md, "audit.log").
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path, const StoreOptions& options);
  // Closes the store. A read-write store first checkpoints the audit log and
  // flushes every column family's memtable to SST files (one atomic flush),
  // so that the next open, read-only or not, has no write-ahead log to
  // replay. Failures are reported on stderr: nothing committed is lost, the
  // write-ahead log still holds it.
  ~Store();

  // A ChangeSet bound to this store's column families.
  ChangeSet NewChangeSet() const;

  // Applies `changes` atomically, with `event` (if not null) chained into the
  // audit trail in the same write. With sync, returns only once the
  // write-ahead log is on disk. On success, *sequence (if given) is the
  // event's audit sequence number.
  absl::Status Commit(ChangeSet* changes, const AuditEvent* event, bool sync, uint64_t* sequence = nullptr);

  // Bulk load: applies the puts of every change set in `sets` as if they
  // were committed one after another in vector order (a key put twice keeps
  // the later value), by sorting them per column family into SST files
  // (rocksdb::SstFileWriter, with each family's own table options and
  // compression) and adding all the files in one
  // rocksdb::DB::IngestExternalFiles call. That call is atomic across column
  // families: after a crash either every put of `sets` is present or none.
  // The ingested data is durable when this returns OK; no WAL is written.
  //
  // Much faster than Commit() for millions of keys (no WAL, no memtable, no
  // compaction of the loaded data when it lands below existing data), at the
  // cost of holding every set's batch plus 24 bytes per put in memory.
  //
  // Returns InvalidArgument, writing nothing, if a set holds anything but
  // puts (deletes; merges except person_view's, whose operands for one key
  // are concatenated in order), writes the audit family or the store's own meta
  // keys (format_version, next_person_id, audit_head), or used
  // AllocatePersonIds(): the person-id counter and the audit chain move only
  // through Commit(), so commit the counter (AllocatePersonIds' change set)
  // before bulk-ingesting persons that use the ids. FailedPrecondition if the
  // store is read-only. Safe to call concurrently with readers and with
  // Commit(); the sets must not change during the call, and later Commits of
  // the same keys win over the ingested values.
  absl::Status BulkIngest(const std::vector<ChangeSet>& sets, BulkIngestStats* stats = nullptr);

  // Starts a bulk load (class BulkLoad above). A family holding more than
  // kBulkLoadLevel0Before level-0 files (left by an earlier load, which
  // compacts nothing) is compacted first. FailedPrecondition if the store
  // is read-only.
  absl::StatusOr<std::unique_ptr<BulkLoad>> StartBulkLoad();

  // The most level-0 files any column family holds (each round of a bulk
  // load adds one).
  int MostLevel0Files() const;

  // Folds person_view's merge operands into whole values (a full compaction
  // of that family), so that each real-time read of a view decodes one value
  // instead of applying operands. Worth it after a bulk load or an upgrade;
  // RocksDB's own compactions get there eventually.
  absl::Status CompactPersonView();

  // Compacts every column family into one sorted run (its bottom level).
  // A bulk load lands each round's files on a level of its own, so until
  // RocksDB compacts them a block-key seek or record read looks in every
  // round's file: a freshly loaded 1M-record store has five. Worth it once
  // after a bulk load, before real-time use; safe while the store is in use
  // (reads and commits go on; it takes both cores' worth of background work).
  // Returns the number of families that held more than one sorted run.
  absl::StatusOr<int> Compact();

  // Reads the families real-time calls read (person_view, records,
  // nhs_index, block_keys, person_records, in that order) through the block
  // cache until it is full, so that the first lookups after an open find
  // their blocks decompressed in memory instead of reading and decompressing
  // them. Returns the bytes of the cache in use afterwards.
  absl::StatusOr<uint64_t> WarmCache();
  // Bytes of the block cache in use (data blocks, and the index and filter
  // blocks pinned there).
  uint64_t block_cache_usage() const;

  // Reserves `n` consecutive person ids and returns the first. The counter is
  // persisted in the next Commit (ids are never reused, even after a crash,
  // because the counter is written in the same batch as the persons using it).
  uint64_t AllocatePersonIds(uint64_t n, ChangeSet* changes);

  // The sequence of the next person-history event (meta "history_next"),
  // advanced in `changes`. One event may be appended to several persons
  // under one sequence. Callers serialise writers (the store's one writer:
  // the engine's write lock, or a batch run holding the store).
  absl::StatusOr<uint64_t> NextHistorySequence(ChangeSet* changes) const;

  // Point reads. `snapshot` may be null for the latest state.
  absl::StatusOr<std::optional<StoredRecord>> GetRecord(std::string_view record_key,
                                                        const rocksdb::Snapshot* snapshot = nullptr) const;
  // The records of `record_keys` (nullopt where absent), in the same order,
  // read with one MultiGet: cheaper than a GetRecord per key.
  absl::StatusOr<std::vector<std::optional<StoredRecord>>> GetRecords(
      const std::vector<std::string>& record_keys, const rocksdb::Snapshot* snapshot = nullptr) const;
  absl::StatusOr<std::optional<PersonValue>> GetPerson(uint64_t person_id,
                                                       const rocksdb::Snapshot* snapshot = nullptr) const;
  // The person's derived view (person value and members with their facts):
  // one point read, what real-time reads use. nullopt when the person has
  // no view (no such person).
  absl::StatusOr<std::optional<PersonView>> GetPersonView(uint64_t person_id,
                                                          const rocksdb::Snapshot* snapshot = nullptr) const;
  // The latest committed state, for the real-time reads (resolve, view
  // decision): served from the read cache (StoreOptions::read_cache_persons,
  // index/read_cache.h) when it holds the answer, else read at one snapshot
  // and cached. LatestRecordPerson returns the record's person and that
  // person's view as of one committed state (nullopt: no such record; a null
  // view: the record's person has none, a broken store). LatestPersonView
  // returns null when the person has no view.
  struct RecordPerson {
    uint64_t person_id = 0;
    std::shared_ptr<const PersonView> view;
  };
  absl::StatusOr<std::optional<RecordPerson>> LatestRecordPerson(std::string_view record_key) const;
  absl::StatusOr<std::shared_ptr<const PersonView>> LatestPersonView(uint64_t person_id) const;
  // How the read cache has served: lookups hit and missed, and cached keys
  // that a write changed and the writer read again.
  ReadCache::Stats read_cache_stats() const;
  // Record keys of a person, in key order.
  absl::StatusOr<std::vector<std::string>> PersonRecords(uint64_t person_id,
                                                         const rocksdb::Snapshot* snapshot = nullptr) const;
  // Record keys sharing (rule, blocking_key), at most `limit` (the cap on an
  // oversized block); *truncated set when more exist.
  absl::StatusOr<std::vector<std::string>> BlockMembers(uint8_t rule, std::string_view blocking_key, size_t limit,
                                                        bool* truncated,
                                                        const rocksdb::Snapshot* snapshot = nullptr) const;
  absl::StatusOr<std::vector<std::string>> RecordsWithNhs(uint64_t nhs,
                                                          const rocksdb::Snapshot* snapshot = nullptr) const;
  absl::StatusOr<std::optional<std::string>> GetModel() const;
  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key) const;
  absl::StatusOr<bool> IsNeverLink(std::string_view a, std::string_view b) const;
  // Records in a review pair with `record_key`, in key order.
  absl::StatusOr<std::vector<std::string>> ReviewPartners(std::string_view record_key,
                                                          const rocksdb::Snapshot* snapshot = nullptr) const;
  // The same, with each pair's value: one prefix scan of (record_key, *).
  absl::Status ForEachReviewOf(std::string_view record_key,
                               const std::function<bool(std::string_view partner, const ReviewValue&)>& fn,
                               const rocksdb::Snapshot* snapshot = nullptr) const;

  // Audit trail: every event in sequence order, and a verification of the
  // chain (detects altered, removed, inserted or reordered events). Verify
  // returns OK or DataLoss naming the first bad sequence number.
  absl::Status ForEachAuditEvent(const std::function<bool(const StoredAuditEvent&)>& fn) const;
  //
  // Every entry of audit.log must chain on, through each point the store
  // recorded in meta (audit_synced, audit_anchor: the chain head written with
  // each change commit and checkpoint). After the last such point one
  // incomplete entry may follow, the torn tail of a crash, which the next
  // read-write open cuts: *incomplete_tail_bytes (if given) is its size, 0 if
  // none. Works on a read-only store (a read-only copy of one included).
  absl::Status VerifyAuditChain(uint64_t* events_checked, uint64_t* incomplete_tail_bytes = nullptr) const;
  // Set when this open quarantined a damaged audit log
  // (StoreOptions::quarantine_audit_tail).
  std::optional<AuditQuarantine> audit_quarantine() const;

  // Full scans for exports and review tools. Each reads one consistent
  // snapshot (taken at the call unless `snapshot` is given), visits entries in
  // key order and stops early when `fn` returns false. A value that does not
  // decode ends the scan with DataLoss naming the column family (and the
  // record's source and id, never its contents).
  absl::Status ForEachRecord(const std::function<bool(const StoredRecord&)>& fn,
                             const rocksdb::Snapshot* snapshot = nullptr) const;
  absl::Status ForEachPerson(const std::function<bool(uint64_t person_id, const PersonValue&)>& fn,
                             const rocksdb::Snapshot* snapshot = nullptr) const;
  // A person's history events (the JSON given to AppendHistory), by sequence.
  absl::Status ForEachHistory(uint64_t person_id,
                              const std::function<bool(uint64_t sequence, std::string_view json)>& fn,
                              const rocksdb::Snapshot* snapshot = nullptr) const;
  // Every person's history events, by person then sequence.
  absl::Status ForEachHistoryEvent(
      const std::function<bool(uint64_t person_id, uint64_t sequence, std::string_view json)>& fn) const;
  // The change feed: every change with a sequence above `since`, in order,
  // until fn returns false. DataLoss for an undecodable entry.
  absl::Status ForEachChange(uint64_t since, const std::function<bool(const StoredChange&)>& fn) const;
  // The sequence of the last change committed (0 for none yet).
  uint64_t last_change() const;
  // Waits until a change above `after` is committed, or `timeout` passes;
  // returns last_change(). For long-polling readers of the feed.
  uint64_t WaitForChange(uint64_t after, absl::Duration timeout) const;

  // Answers as of a past change (the view and record histories).
  //
  // Runs `read` (reads of the latest state: LatestRecordPerson, ...) and
  // returns the change its reads saw the store at: no commit that changes a
  // view or a record's person overlapped it, else it is run again. Returns
  // read's error if it fails.
  absl::StatusOr<uint64_t> ReadAtChange(const std::function<absl::Status()>& read) const;
  // The person's view as it stood once change `change` was committed
  // (folded from view_history); nullopt when the person did not exist then.
  absl::StatusOr<std::optional<PersonView>> PersonViewAt(uint64_t person_id, uint64_t change) const;
  // The person holding the record once change `change` was committed; 0
  // when none did.
  absl::StatusOr<uint64_t> RecordPersonAt(std::string_view record_key, uint64_t change) const;
  // Who held NHS number `nhs` once change `change` was committed (folded
  // from nhs_history): the records filed under it in nhs_index, in key
  // order, and the number that had superseded it (0 if none had).
  // `relatives`: those of `records` that hold it as a relative's number.
  struct NhsHolders {
    std::vector<std::string> records;
    std::vector<std::string> relatives;
    uint64_t superseded_by = 0;
    // The records an answer by the number follows: those holding it as
    // their own, or every holder when none does.
    std::vector<std::string> Owners() const;
    // Whether record `key` is among `relatives`.
    bool HeldAsRelatives(std::string_view key) const {
      return std::binary_search(relatives.begin(), relatives.end(), key, std::less<>());
    }
  };
  absl::StatusOr<NhsHolders> NhsHoldersAt(uint64_t nhs, uint64_t change) const;
  // Who holds it now, read at `snapshot` (superseded_by is not read).
  absl::StatusOr<NhsHolders> NhsHoldersNow(uint64_t nhs, const rocksdb::Snapshot* snapshot = nullptr) const;
  // Whether record `record_key` holds `nhs` as a relative's number (its
  // nhs_index entry's mark; false when it holds it as its own, or not at all).
  absl::StatusOr<bool> HoldsAsRelatives(uint64_t nhs, std::string_view record_key,
                                        const rocksdb::Snapshot* snapshot = nullptr) const;
  // Every number in nhs_index with who holds it now, in number order, until
  // fn returns false (one scan; superseded_by is not read).
  absl::Status ForEachNhsHolders(const std::function<bool(uint64_t nhs, const NhsHolders& held)>& fn) const;
  // The number that superseded `nhs` (0 if none has), read at `snapshot`.
  absl::StatusOr<uint64_t> SupersededBy(uint64_t nhs, const rocksdb::Snapshot* snapshot) const;
  // The last change committed at or before `time_us` (Unix microseconds);
  // 0 when none was.
  absl::StatusOr<uint64_t> ChangeAtTime(int64_t time_us) const;
  // The first change the histories answer for: 0, or for a store upgraded
  // to format version 7, the last change before its upgrade.
  uint64_t history_from() const;
  // The first change nhs_history answers for: 0, or for a store upgraded to
  // format version 9, the last change before that upgrade.
  uint64_t nhs_history_from() const;
  // Pairs awaiting clerical review, a < b, each once, in the order of
  // their keys DirectedPairKey(a, b). With `after` (such a key) only the
  // pairs whose key sorts after it: the next page of a review queue.
  absl::Status ForEachReview(const std::function<bool(std::string_view a, std::string_view b, const ReviewValue&)>& fn,
                             const rocksdb::Snapshot* snapshot = nullptr, std::string_view after = {}) const;
  // Pairs a steward marked never to be linked (a < b), in one scan of the
  // manual column family: cheaper than IsNeverLink per pair when many pairs
  // are checked.
  absl::Status ForEachNeverLink(const std::function<bool(std::string_view a, std::string_view b)>& fn,
                                const rocksdb::Snapshot* snapshot = nullptr) const;
  // Every NHS number supersession (old -> new), in old-number order.
  absl::Status ForEachSupersession(const std::function<bool(uint64_t old_nhs, uint64_t new_nhs, int64_t time_us)>& fn,
                                   const rocksdb::Snapshot* snapshot = nullptr) const;
  // Objections registered before a matching record arrived, by key.
  absl::Status ForEachPendingObjection(const std::function<bool(std::string_view key, const ObjectionValue&)>& fn,
                                       const rocksdb::Snapshot* snapshot = nullptr) const;

  const rocksdb::Snapshot* GetSnapshot() const;
  void ReleaseSnapshot(const rocksdb::Snapshot* s) const;
  rocksdb::DB* db() const;
  rocksdb::ColumnFamilyHandle* cf(Cf cf) const;
  // Flushes memtables and syncs the WAL (end of a bulk load).
  absl::Status Flush();
  // Makes every write committed so far durable (rocksdb::DB::SyncWAL).
  // After any failed write, sync or flush of this store, returns that
  // failure without touching the disk again: what was written around a
  // failure cannot be trusted to be on disk, and RocksDB must not be asked
  // to reuse a log file that has failed (Debian's librocksdb asserts).
  // Reopen the store once the fault is fixed.
  absl::Status SyncWal();
  // OK while the store takes writes; else that first failure (a full or
  // read-only disk, EIO), after which it takes none until reopened.
  absl::Status WriteFailure() const;

 private:
  friend class BulkLoad;
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace empi::index

#endif  // EMPI_INDEX_STORE_H_
