// Copyright EMPI developers.
//
// engine.h: the real-time EMPI: ingest one record at a time, resolve a
// record or NHS number to its person, search by demographics, decide
// whether a care-record view may be assembled, register patient
// objections, and the data steward's merge / split / never-link actions.
//
// The engine works on the same RocksDB store the batch linker (`empi link`)
// writes, with the same model, blocking keys and no-chaining rules, so batch
// and real-time share one index. Every call that answers a question or
// changes anything appends one audit event to the store's hash-chained audit
// trail, in the same atomic write as the change, before it returns.
//
//   EMPI_ASSIGN_OR_RETURN(auto engine, empi::Engine::Open({}, "/data/empi"));
//   empi::Requester who{"dr.jones", "RKB", "clinician", "direct-care"};
//   EMPI_ASSIGN_OR_RETURN(empi::Resolution r, engine->Resolve("RKB", "K123", who));
//   EMPI_ASSIGN_OR_RETURN(empi::ViewDecision d, engine->MayAssembleView(r.person_id, who));
//   if (!d.allowed) { /* d.reason: "objection" or "out of scope: ..." */ }
//
// Restricted patients (Record::restricted): no result type here carries an
// address or postcode, so nothing the engine returns or logs can show one;
// no location comparison level of theirs is returned (FieldWeight::withheld),
// and a search or objection form that gives a postcode never finds them.
//
// Thread-safety: an Engine is safe for concurrent use. Reads (Resolve,
// Search, MayAssembleView, History) each see one consistent RocksDB snapshot
// and never wait for writers; their audit events are written (unsynced)
// before they return. Changes (Ingest, objections, steward actions)
// are decided one at a time under a writer mutex and made visible before the
// mutex is released; the write-ahead-log sync that makes them durable runs
// after the mutex is released, so concurrent writers share syncs.
#ifndef EMPI_ENGINE_H_
#define EMPI_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "empi/record.h"
#include "index/store.h"

namespace empi {

// Who asks, recorded in every audit event.
struct Requester {
  std::string requester = "cli";
  std::string organisation = "local";
  std::string role = "operator";
  std::string purpose = "direct-care";
  // The front end's request and correlation ids (HTTP X-Request-ID and
  // X-Correlation-ID). When set, each audit event records them after the
  // purpose: "direct-care; request-id=R; correlation-id=C" (the audit event
  // format has no fields of its own for them yet). Default: empty.
  std::string request_id = "";
  std::string correlation_id = "";
};

struct EngineOptions {
  // Behaviour
  // Contributor register: a CSV file with header `source,kind,area` (kind
  // "gp" for GP practices) or a JSON array of {"source","kind","area"}.
  // Default: empty, meaning a source code of one letter and five digits
  // (M84001) is a GP practice, and the region's practices are those whose
  // code starts with one of `region_prefixes`.
  std::string contributor_register;
  // Areas (register) or practice-code prefixes (default register) that make
  // a GP practice part of the region. Default: Coventry & Warwickshire,
  // {"M84", "M86"}; with a register file, the default is {"CW"}.
  std::vector<std::string> region;
  // The date ages are computed on, YYYY-MM-DD. Default: empty (today, UTC).
  std::string today;
  // Durable before returning (WAL synced). Default: true.
  bool sync = true;
  // Performance
  size_t max_block_size = 300;  // Default: 300 records read per block key
  // RocksDB block cache (uncompressed blocks). Every real-time read misses
  // it at first; a miss reads and decompresses a block, several times the
  // cost of a hit. 1 GiB holds the whole of a 1M-record store. Default: 1 GiB.
  size_t block_cache_bytes = size_t{1} << 30;
  // Persons whose views the in-memory read cache may hold (index/read_cache.h):
  // resolve and view decisions served from it skip RocksDB. About 300 bytes
  // per person with three records; 0 turns it off. Default: 1,048,576.
  size_t read_cache_persons = size_t{1} << 20;
  // Testing
  // The RocksDB Env the store uses (index::StoreOptions::env): tests pass a
  // fault-injecting FileSystem. Must outlive the engine. Default: nullptr.
  rocksdb::Env* env = nullptr;
};

struct RecordRef {
  std::string source, record_id;
  friend bool operator==(const RecordRef&, const RecordRef&) = default;
};

struct LinkedRecord {
  std::string source, record_id;
  std::string contributor;  // "gp", "acute", ... from the register; "other"
};

struct Resolution {
  uint64_t person_id = 0;
  std::vector<LinkedRecord> records;
  // The person objected, or (objection_in_review) holds a record in review
  // with a record of a person who objected: until a steward decides, the
  // objection holds (index/review_objections.h). The time and method are
  // the person's own objection's.
  bool objection = false;
  bool objection_in_review = false;
  int64_t objection_time_us = 0;
  index::ObjectionMethod objection_method = index::ObjectionMethod::kNone;
  bool in_scope = false;
  std::string scope_reason;  // why out of scope, or "aged 18+ and registered with <practice>"
  bool restricted = false;   // address must not be shown
};

// FHIR patient $match "match-grade" values.
enum class MatchGrade { kCertain, kProbable, kPossible, kCertainlyNot };
std::string_view MatchGradeName(MatchGrade g);  // "certain", "probable", ...

struct Demographics {
  std::string nhs_number, family_name, given_names, date_of_birth, postcode, sex;
};

struct FieldWeight {
  std::string comparison;  // "nhs_number", "family_name", ...
  int gamma = 0;           // level taken (Splink's gamma_<field>); -1 when withheld
  double match_weight = 0; // 0 when withheld
  // The candidate is a restricted patient and this comparison would show
  // where they live (RevealsLocation): level and weight are not given.
  bool withheld = false;
};

struct Candidate {
  uint64_t person_id = 0;
  RecordRef best_record;  // the person's record that scored highest
  double match_weight = 0, match_probability = 0;
  MatchGrade grade = MatchGrade::kCertainlyNot;
  double prior_weight = 0;
  std::vector<FieldWeight> weights;
};

struct ViewDecision {
  bool allowed = false;
  std::string reason;  // "allowed", "objection", "out of scope: ...", "not found"
  uint64_t person_id = 0;
};

enum class IngestOutcome { kLinked, kNewPerson, kReview, kUnchanged };
std::string_view IngestOutcomeName(IngestOutcome o);

struct IngestResult {
  IngestOutcome outcome = IngestOutcome::kNewPerson;
  uint64_t person_id = 0;
  double match_probability = 0;  // best candidate's, 0 if none
  std::string reason;            // why not linked, when review
  bool objection_applied = false;  // a pending objection matched this record
};

// The patient as the right-to-object form identifies them: the NHS number,
// or name, date of birth and postcode when the number is not given.
struct ObjectionRequest {
  std::string nhs_number, family_name, given_names, date_of_birth, postcode;
  index::ObjectionMethod method = index::ObjectionMethod::kForm;
  std::string reference;  // form reference, free text
  int64_t time_us = 0;    // when received; 0: now
};

enum class ObjectionOutcome { kApplied, kPending, kRefused };
std::string_view ObjectionOutcomeName(ObjectionOutcome o);

struct ObjectionResult {
  ObjectionOutcome outcome = ObjectionOutcome::kRefused;
  std::vector<uint64_t> persons;  // persons changed
  std::string reason;
};

struct HistoryEntry {
  uint64_t sequence = 0;  // history event id; a merge's id is what Unmerge takes
  std::string json;       // {"event":"merge",...}
};

// One NHS number replaced by another (Engine::Supersede).
struct Supersession {
  std::string old_nhs_number, new_nhs_number;
};
struct SupersessionResult {
  bool added = false;              // false: already known, nothing changed
  std::vector<uint64_t> persons;   // persons holding either number
  uint64_t review_pairs = 0;       // pairs of those persons sent to review
  bool objection_extended = false; // an objection now holds for more persons
  bool pending_moved = false;      // a pending objection moved to the new number
};

class Engine {
 public:
  // Opens (creating if missing) the store in `path`, loads the stored model
  // (the default model if the store has none yet) and the contributor
  // register. Returns the store's error, or InvalidArgument naming the
  // register file and line when it does not parse.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options,
                                                      const std::string& path);
  virtual ~Engine() = default;

  // Matches `record` against the stored index and links it to the best
  // person (at or above the link threshold, no NHS number conflict with any
  // of that person's records, every one of them at or above the review
  // threshold with it, none marked never-link), or starts a new person,
  // queueing review pairs for candidates between the thresholds or refused
  // by those rules. A record seen before with other values is detached from
  // its old person first (an objection of that person follows it). A
  // pending objection for its NHS number is applied to its person. Durable
  // when it returns (with options.sync). InvalidArgument for an empty key.
  virtual absl::StatusOr<IngestResult> Ingest(const Record& record, const Requester& who) = 0;

  // The person holding the record; NotFound (audited) if none.
  virtual absl::StatusOr<Resolution> Resolve(const std::string& source, const std::string& record_id,
                                             const Requester& who) = 0;
  // The person `person_id` with its records; NotFound (audited, naming the
  // person) if there is none.
  virtual absl::StatusOr<Resolution> ResolvePerson(uint64_t person_id, const Requester& who) = 0;
  // The person holding records with this NHS number; NotFound if none,
  // FailedPrecondition if the number is in several persons (pending review),
  // InvalidArgument if it is not a valid NHS number.
  virtual absl::StatusOr<Resolution> ResolveByNhsNumber(const std::string& nhs_number,
                                                        const Requester& who) = 0;
  // Persons matching `d`, best first, at most `limit`, grade possible or
  // better (certain: >= link threshold; probable: >= review threshold;
  // possible: >= 0.05). A restricted person is never returned when `d`
  // gives a postcode (as PDS does); otherwise their location comparison is
  // withheld (FieldWeight::withheld). InvalidArgument, naming the field, for
  // a date_of_birth that is not a real YYYY-MM-DD date.
  virtual absl::StatusOr<std::vector<Candidate>> Search(const Demographics& d, const Requester& who,
                                                        size_t limit = 10) = 0;
  // Whether a care-record view may be assembled for the person: denied when
  // the person objected or is out of scope, or when there is no such person.
  virtual absl::StatusOr<ViewDecision> MayAssembleView(uint64_t person_id, const Requester& who) = 0;
  virtual absl::StatusOr<ViewDecision> MayAssembleViewForRecord(const std::string& source,
                                                                const std::string& record_id,
                                                                const Requester& who) = 0;

  // Registers an objection (see ObjectionRequest). By NHS number: applied to
  // every person holding it, or stored pending when none does. By
  // demographics: applied to the single person matching at or above the
  // link threshold; refused with the reason when the best match is weak (at
  // or above the review threshold, below the link threshold) or a second
  // person is close; stored pending when no person comes even that close
  // (the patient's records have not arrived), and then applied to the
  // person of the first ingested record that the form matches as it would
  // have at registration (see ApplyPendingForms for batch links).
  // InvalidArgument when neither an NHS number nor all of name, date of birth
  // and postcode are given.
  virtual absl::StatusOr<ObjectionResult> RegisterObjection(const ObjectionRequest& request,
                                                            const Requester& who) = 0;
  // Matches every pending demographic objection against the stored records
  // again and applies those that now identify one person (audited, action
  // "apply-pending-objection"); `empi link` calls it after linking. Returns
  // how many were applied. Ingest needs no call: it checks the pending forms
  // that share a blocking key with the record in the same write.
  virtual absl::StatusOr<uint64_t> ApplyPendingForms(const Requester& who) = 0;
  // Reverses an objection identified the same way (also drops a pending one).
  virtual absl::StatusOr<ObjectionResult> WithdrawObjection(const ObjectionRequest& request,
                                                            const Requester& who) = 0;

  // Steward: joins person `b` into `a`; `a` survives and objects if either
  // did. Returns the merge's history sequence (the id Unmerge takes).
  // NotFound for an unknown person, InvalidArgument if a == b,
  // FailedPrecondition if a never-link pair would end up in one person.
  virtual absl::StatusOr<uint64_t> Merge(uint64_t a, uint64_t b, const Requester& who,
                                         const std::string& reason) = 0;
  // Steward: moves `records` of `person` into a new person (returned), which
  // objects if `person` did. InvalidArgument if a record is not in `person`
  // or if all of its records are listed.
  virtual absl::StatusOr<uint64_t> Split(uint64_t person, const std::vector<RecordRef>& records,
                                         const Requester& who, const std::string& reason) = 0;
  // Steward: undoes the merge recorded as history event `merge_event` of
  // `person`: the absorbed person comes back under its old id with the
  // records it brought that are still in `person` (objecting if either
  // objected). Returns that id.
  virtual absl::StatusOr<uint64_t> Unmerge(uint64_t person, uint64_t merge_event, const Requester& who) = 0;
  // Steward: marks two records as never to be linked. FailedPrecondition if
  // they are in one person now (split first).
  virtual absl::Status NeverLink(const RecordRef& a, const RecordRef& b, const Requester& who,
                                 const std::string& reason) = 0;

  // An NHS number replaced by another: a duplicate registration resolved
  // nationally (a supersession feed, `empi supersede`). From then on the
  // old number means the new one in matching, ResolveByNhsNumber and
  // objections: records with either number are indexed under the new one,
  // and a pending objection under the old number moves to the new. Persons
  // holding either number get a history event; an objection of any of them
  // holds for all of them; two or more such persons are not merged but sent
  // to a steward as review pairs (reason "superseded NHS number"), as
  // joining stored persons always is. Idempotent: a supersession already
  // known returns added = false and changes nothing. InvalidArgument, naming
  // the field, for an invalid number, a number superseding itself, a cycle,
  // or an old number already superseded by another. Audited (action
  // "supersede"); durable when it returns (with options.sync).
  virtual absl::StatusOr<SupersessionResult> Supersede(const Supersession& supersession, const Requester& who) = 0;

  // A person's history, oldest first. Audited (action "history").
  virtual absl::StatusOr<std::vector<HistoryEntry>> History(uint64_t person, const Requester& who) = 0;
  // Appends one audit event for a request a front end refused before asking
  // the engine (no valid identity, or outside the requester's role), so
  // that refusals are audited like answers. `action` names what was asked
  // ("http GET /Patient/{id}"), `outcome` why it was refused ("denied: 401
  // token expired"); neither may hold patient data. `person_id` names the
  // person asked about, 0 for none. Written unsynced, like a read's event.
  virtual absl::Status AuditRefusal(const std::string& action, const std::string& outcome, uint64_t person_id,
                                    const Requester& who) = 0;
  // Audit events naming the person, oldest first.
  virtual absl::StatusOr<std::vector<index::StoredAuditEvent>> AuditForPerson(uint64_t person) = 0;

  virtual index::Store* store() = 0;
};

// Applies every pending objection whose NHS number is now held by a stored
// record to that record's person, and drops it from the pending list.
// `empi link` calls this after linking, with its own identity (audited as
// the requester). Returns how many were applied.
absl::StatusOr<uint64_t> ApplyPendingObjections(
    index::Store* store, const Requester& who = Requester{"empi link", "local", "operator", "operations"});

// Whether a key of Store::ForEachPendingObjection is a demographic form's
// (applied by Engine::ApplyPendingForms) rather than an NHS number's.
bool IsPendingFormKey(std::string_view key);

}  // namespace empi

#endif  // EMPI_ENGINE_H_
