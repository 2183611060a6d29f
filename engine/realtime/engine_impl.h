// Copyright EMPI developers.
//
// engine_impl.h: the real-time engine's implementation class, shared by the
// files that define its parts (one responsibility each):
//
//   engine.cc               Open, and the plumbing every part uses: commits
//                           and audit stamps, dates, preparing records
//   engine_resolve.cc       resolution, search and view decisions (reads)
//   engine_history.cc       the change feed, person histories, the review
//                           queue and audit-trail reads
//   engine_ingest.cc        matching one record and linking it
//   engine_objections.cc    objections: registered, withdrawn, pending,
//                           and applied when records arrive
//   engine_steward.cc       the data steward's merge, split, unmerge and
//                           never-link
//   engine_supersession.cc  NHS number supersessions
//
// Writes follow engine/linkage/linker.cc exactly (record, membership, block
// keys under the rule ids, NHS index, persons, "record_count"), so batch and
// real-time share one store.
//
// The public methods' contracts are in empi/engine.h. Lock discipline (the
// annotations are checked by Clang's -Wthread-safety: scripts/thread_safety.sh):
//   - write_mu_ serialises every change: a public write takes it, decides
//     and commits under it (the *Locked methods and every method marked
//     ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) run under it), and releases
//     it before Sync(), so that concurrent writers share one WAL sync.
//   - supersessions_mu_ guards the in-memory supersessions, read by every
//     Prepare; it is taken after write_mu_ (SupersedeLocked), never before,
//     and held only to copy or apply them.
//   - Reads take neither: each sees one RocksDB snapshot or the store's
//     consistent change counter (Store::ReadAtChange) and never waits for a
//     writer. The store has its own internal locking.
//   - The model that scores (live_) is replaced only under write_mu_, when
//     the engine estimates it (EstimateModelIfDue), so a change scores with
//     one model. Readers load the pointer at each use (a read that spans a
//     replacement may score with both, each a valid model), and every
//     model the engine used stays alive until it closes.
//
// Internal: included only by engine/realtime/*.cc.
#ifndef EMPI_ENGINE_REALTIME_ENGINE_IMPL_H_
#define EMPI_ENGINE_REALTIME_ENGINE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "empi/engine.h"
#include "engine/linkage/blocking.h"
#include "engine/linkage/clustering.h"
#include "engine/linkage/model.h"
#include "engine/linkage/number_marks.h"
#include "engine/linkage/prepared_record.h"
#include "engine/linkage/supersession.h"
#include "engine/realtime/contributor_register.h"
#include "index/store.h"
#include "index/wal_syncer.h"
#include "nlohmann/json.hpp"

namespace empi::realtime {

// A query's date of birth: empty, or a real ISO date. The value is not
// repeated in the error (it is patient data).
absl::Status CheckQueryDate(std::string_view date);

// A search's or an objection form's demographics as a record of `source`,
// to be prepared and scored like any other.
Record QueryRecord(std::string source, const Demographics& d);

// The store key of a record named by its source and id.
std::string RecordKey(std::string_view source, std::string_view record_id);

// A record key as the API names it.
RecordRef RefOf(std::string_view record_key);

// The record keys of a history event's array of {"source", "record_id"}
// (RecordsJson's inverse); entries that are not two strings are skipped,
// and anything but an array gives none.
std::vector<std::string> RecordKeysOf(const nlohmann::json& records);

// The key of an objection pending under an NHS number.
std::string PendingKey(uint64_t nhs);

// Releases a snapshot at scope exit.
class SnapshotHolder {
 public:
  explicit SnapshotHolder(const index::Store* s) : store_(s), snap_(s->GetSnapshot()) {}
  ~SnapshotHolder() { store_->ReleaseSnapshot(snap_); }
  SnapshotHolder(const SnapshotHolder&) = delete;
  SnapshotHolder& operator=(const SnapshotHolder&) = delete;
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  const index::Store* store_;
  const rocksdb::Snapshot* snap_;
};

class EngineImpl final : public Engine {
 public:
  // `model` scores; `stored` is the provenance of the stored model
  // (`model_stored`), or of `model` when none is stored.
  EngineImpl(const EngineOptions& options, std::unique_ptr<index::Store> store, Model model, ModelProvenance stored,
             bool model_stored, FieldConventions conventions, ContributorRegister reg, BlockingRules rules);

  index::Store* store() { return store_.get(); }

  absl::StatusOr<uint64_t> WarmCache() override { return store_->WarmCache(); }
  uint64_t LastChange() const override { return store_->last_change(); }
  ModelInfo CurrentModel() const override;
  std::vector<ContributorSystem> ContributorSystems() const override { return register_.Systems(); }
  absl::StatusOr<EngineOverview> Overview(const Requester& who) override;
  absl::StatusOr<RevisitResult> Revisit(const std::vector<RecordRef>& records, const Requester& who)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;
  absl::StatusOr<RevisitResult> RevisitIngested(const Requester& who, uint64_t max_placed)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;

  // Called once by Engine::Open, before the engine is shared: read the
  // stored supersessions (engine_supersession.cc) and the pending
  // demographic forms (engine_objections.cc).
  absl::Status LoadSupersessions() ABSL_LOCKS_EXCLUDED(write_mu_);
  absl::Status LoadPendingForms() ABSL_LOCKS_EXCLUDED(write_mu_);
  // When the model is next estimated, from the store's size (engine_ingest.cc).
  absl::Status PlanModelEstimate() ABSL_LOCKS_EXCLUDED(write_mu_);
  // Reads kMetaUnrevisitedFrom (engine_ingest.cc).
  absl::Status LoadUnrevisitedFrom() ABSL_LOCKS_EXCLUDED(write_mu_);

  // ---- resolution, search and view decisions (engine_resolve.cc)

  absl::StatusOr<Resolution> Resolve(const std::string& source, const std::string& record_id,
                                     const Requester& who) override;
  absl::StatusOr<Resolution> ResolveAsOf(const std::string& source, const std::string& record_id, const AsOf& as_of,
                                         const Requester& who) override;
  absl::StatusOr<Resolution> ResolvePerson(uint64_t person_id, const Requester& who) override;
  absl::StatusOr<Resolution> ResolvePersonAsOf(uint64_t person_id, const AsOf& as_of, const Requester& who) override;
  absl::StatusOr<Resolution> ResolveByNhsNumber(const std::string& nhs_number, const Requester& who) override;
  absl::StatusOr<Resolution> ResolveByNhsNumberAsOf(const std::string& nhs_number, const AsOf& as_of,
                                                    const Requester& who) override;
  absl::StatusOr<std::vector<Candidate>> Search(const Demographics& d, const Requester& who, size_t limit) override;
  absl::StatusOr<ViewDecision> MayAssembleView(uint64_t person_id, const Requester& who) override;
  absl::StatusOr<ViewDecision> MayAssembleViewAsOf(uint64_t person_id, const AsOf& as_of,
                                                   const Requester& who) override;
  absl::StatusOr<ViewDecision> MayAssembleViewForRecord(const std::string& source, const std::string& record_id,
                                                        const Requester& who) override;
  absl::StatusOr<ViewDecision> MayAssembleViewForRecordAsOf(const std::string& source, const std::string& record_id,
                                                            const AsOf& as_of, const Requester& who) override;

  // ---- the change feed, person histories, the review queue and audit reads (engine_history.cc)

  absl::StatusOr<std::vector<ChangeEvent>> Changes(uint64_t since, size_t limit, std::chrono::milliseconds wait,
                                                   const Requester& who) override;
  absl::StatusOr<std::vector<HistoryEntry>> History(uint64_t person, const Requester& who) override;
  absl::StatusOr<ReviewQueuePage> ReviewQueue(size_t limit, const std::string& after_cursor,
                                              const Requester& who) override;
  absl::StatusOr<std::vector<ReviewQueueEntry>> ReviewPairsOf(uint64_t person, const std::optional<RecordRef>& record,
                                                              const Requester& who) override;
  absl::StatusOr<PersonLinks> LinksOf(uint64_t person, const std::optional<RecordRef>& record,
                                      const Requester& who) override;
  absl::Status AuditRefusal(const std::string& action, const std::string& outcome, uint64_t person_id,
                            const Requester& who) override;
  absl::StatusOr<std::vector<AuditEvent>> AuditForPerson(uint64_t person) override;
  absl::StatusOr<std::vector<AuditEvent>> ReadAuditTrail(uint64_t person, const Requester& who) override;

  // ---- matching one record and linking it (engine_ingest.cc)

  absl::StatusOr<IngestResult> Ingest(const Record& rec, const Requester& who) ABSL_LOCKS_EXCLUDED(write_mu_) override;

  // ---- objections: registered, withdrawn, pending, and applied on arrival (engine_objections.cc)

  absl::StatusOr<ObjectionResult> RegisterObjection(const ObjectionRequest& req, const Requester& who)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;
  absl::StatusOr<uint64_t> ApplyPendingForms(const Requester& who) ABSL_LOCKS_EXCLUDED(write_mu_) override;
  absl::StatusOr<ObjectionResult> WithdrawObjection(const ObjectionRequest& req, const Requester& who)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;

  // ---- the data steward's merge, split, unmerge and never-link (engine_steward.cc)

  absl::StatusOr<uint64_t> Merge(uint64_t a, uint64_t b, const Requester& who, const std::string& reason)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;
  absl::StatusOr<uint64_t> Split(uint64_t person, const std::vector<RecordRef>& records, const Requester& who,
                                 const std::string& reason) ABSL_LOCKS_EXCLUDED(write_mu_) override;
  absl::StatusOr<uint64_t> Unmerge(uint64_t person, uint64_t merge_event, const Requester& who)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;
  absl::Status NeverLink(const RecordRef& a, const RecordRef& b, const Requester& who, const std::string& reason)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;

  // ---- NHS number supersessions (engine_supersession.cc)

  absl::StatusOr<SupersessionResult> Supersede(const Supersession& supersession, const Requester& who)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;

 private:
  // When an answer was given: the change it saw, and whether that change
  // was asked for (an as-of answer).
  struct Answered {
    uint64_t at_change;
    bool as_of;
  };

  // A candidate person for a record or query: its best-scoring record.
  struct Scored {
    uint64_t person;
    std::string key;
    double weight;  // after the safety cap (safety.h)
    PreparedRecord prepared;
    std::string_view held_by;  // the safety rule's reason, or empty
    // Held only by the number against conflicting given names
    // (SafetyVerdict::names_overridden).
    bool names_overridden = false;
  };

  // A demographic objection held pending, prepared like a query record.
  // A form that also gave an NHS number no record held is pending under
  // both (ObjectionByNumber); its demographics then never apply to a
  // person holding another number.
  struct PendingForm {
    ObjectionRequest request;  // without the NHS number
    PreparedRecord prepared;
    BlockKeys keys;
    uint64_t nhs = 0;  // the form's NHS number, 0 if it gave none
  };

  // What registering or withdrawing one objection changes, gathered before
  // it is committed.
  struct ObjectionChange {
    index::ChangeSet cs;
    index::AuditEvent ev;
    ObjectionResult result;
    std::vector<uint64_t> persons;  // whose objection changes
    bool by_demographics = false;   // found by the form's demographics, not its number
    // A pending form this change adds (with its key), and those it ends.
    std::optional<std::string> form_added;
    std::vector<std::string> forms_ended;
  };

  // Makes everything committed so far durable; runs outside write_mu_ so
  // that concurrent writers share one sync.
  absl::Status Sync() ABSL_LOCKS_EXCLUDED(write_mu_) { return syncer_ ? syncer_->Sync() : absl::OkStatus(); }

  // options.today (parsed once), or today's UTC date.
  int32_t Today() const;

  absl::StatusOr<uint64_t> NextHistory(index::ChangeSet* cs) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    return store_->NextHistorySequence(cs);
  }

  // Candidates' order: best weight first, ties by person id.
  static bool BetterCandidate(const Scored& x, const Scored& y) {
    return x.weight != y.weight ? x.weight > y.weight : x.person < y.person;
  }
  // Whether the best of `scored` (best first), candidates for `p`, is
  // contested by the second (Contests, clustering.h) for a contest floor
  // of `floor`.
  bool Contested(const PreparedRecord& p, const std::vector<Scored>& scored, double floor) const {
    return scored.size() > 1 &&
           Contests(model(), p, scored[0].prepared, scored[0].weight, scored[1].prepared, scored[1].weight, floor);
  }

  // ---- resolution, search and view decisions (engine_resolve.cc)

  // Sets res->in_scope and scope_reason. `gp`: the first (in key order)
  // record's source that is a practice of the region, empty if none;
  // `gp_dob`: that record's date of birth; `any_dob`: the first known date of
  // birth of any record. The practice's register is the authority on age.
  // `today`: the day age is reckoned on, yyyymmdd.
  static void SetScope(std::string_view gp, int32_t gp_dob, int32_t any_dob, int32_t today, Resolution* res);

  // The resolution of person `pid` from its view: person value (objection),
  // linked records (`with_records`; a view decision needs only objection and
  // scope), restricted flag and scope (age on `today`). nullopt when the
  // person does not exist (no view, or an empty one).
  absl::StatusOr<std::optional<Resolution>> ResolutionOf(uint64_t pid, const index::PersonView* view, int32_t today,
                                                         bool with_records) const;

  // ResolutionOf the person of a stored record: an absent person view is a
  // broken store, not "not found".
  absl::StatusOr<Resolution> StoredRecordResolution(uint64_t pid, const index::PersonView* view, int32_t today,
                                                    bool with_records = true) const;

  // Audits a resolution: the person and every record returned, which are
  // the members of `view`, the view `res` was made from.
  absl::StatusOr<Resolution> FinishResolve(std::optional<Resolution> res, const index::PersonView* view,
                                           const Answered& when, index::AuditEvent* ev, const std::string& not_found);

  // The number of an NHS-number query; InvalidArgument naming the field.
  static absl::StatusOr<uint64_t> ParseNhsQuery(const std::string& nhs_number);
  // A resolution by NHS number once the persons holding it are read
  // (several: refused, audited), for the present and as of a change.
  absl::StatusOr<Resolution> FinishResolveByNhs(const std::vector<uint64_t>& persons, const index::PersonView* view,
                                                const Answered& when, int32_t today, const Requester& who);
  // Supersessions followed at most this many steps (a chain longer is a
  // cycle, which NhsSupersessions::Add refuses: a damaged store).
  static constexpr uint64_t kMaxSupersessionHops = 1000;

  absl::StatusOr<ViewDecision> DecideView(uint64_t pid, std::optional<Resolution> res, const Answered& when,
                                          const Requester& who, const std::string& record_key);

  // Search results. Restricted persons (any record restricted) are never
  // found by a search that gives a location (the postcode), as in PDS; in
  // any other search their location comparison is withheld.
  absl::StatusOr<std::vector<Candidate>> SearchAt(const Record& r, size_t limit, const rocksdb::Snapshot* snap) const;

  // ---- matching one record and linking it (engine_ingest.cc)

  absl::StatusOr<std::vector<Scored>> Candidates(const PreparedRecord& p, const std::string& self_key,
                                                 const rocksdb::Snapshot* snap) const;
  // The NHS numbers an ingest of `p` (stored under `key`, in place of `old`
  // if any) changes holders of, judged again (number_marks.h): marks `p`,
  // and puts into `cs` the stored holders' marks that change.
  absl::Status JudgeNumbers(const index::StoredRecord* old, const std::string& key, PreparedRecord* p,
                            index::ChangeSet* cs, Remarked* out) const;
  // The keys of the records sharing a blocking key with `p`, in rule order
  // without repeats, `self_key` left out: what Candidates scores.
  absl::StatusOr<std::vector<std::string>> CandidateKeys(const PreparedRecord& p, const std::string& self_key,
                                                         const rocksdb::Snapshot* snap) const;

  // The persons of the stored records `keys` (absent ones skipped) and of
  // every record sharing a blocking key with one of them, relinked together
  // (Engine::Revisit).
  absl::StatusOr<RevisitResult> RevisitLocked(const std::vector<std::string>& keys, const Requester& who)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // FailedPrecondition unless the stored model is trusted: a revisit never
  // estimates one (the engine's estimate relinks every record instead).
  absl::Status RevisitableModel() const;

  // Whether `nhs` is someone else's in a join of the record stored under
  // `key` with `person`, as a batch link judges it (clustering.h): another
  // stored person carries it on more records than `holders` (the join's
  // records carrying it) are, or as often while the join carries a number
  // of its own on more records (`join_own`; NumberOutnumbered), and each
  // holder is another member of that person's family (RelativeOfEach).
  absl::StatusOr<bool> NumberIsSomeoneElses(uint64_t nhs, const std::vector<const PreparedRecord*>& holders,
                                            size_t join_own, const std::string& key, uint64_t person) const;

  // Why `p` (key `key`) may not join `person`, or "" when it may: the
  // no-chaining rules of clustering.h applied to one record and one person.
  absl::StatusOr<std::string> JoinRefusal(const PreparedRecord& p, const std::string& key, uint64_t person,
                                          bool* number_theirs) const;

  // The index entries of a changed record's stored version `old`, removed
  // in `cs` with a history event for its person (deleted when this was its
  // only record). Returns that person's objection, which the record takes
  // wherever it goes.
  absl::StatusOr<std::optional<index::PersonValue>> UnlinkOldVersion(const index::StoredRecord& old,
                                                                     const std::string& key, uint64_t history_seq,
                                                                     const Requester& who, index::ChangeSet* cs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // The person record `p` (`key`) joins: the best candidate at or above
  // the link weight, if it is not contested and JoinRefusal allows it; 0
  // when none. Every other candidate at or above the review weight (and the
  // best one when refused) is put in review in `cs` and added to
  // *involved; sets result's outcome (kReview), reason and probability.
  absl::StatusOr<uint64_t> ChooseTarget(const PreparedRecord& p, const std::string& key, index::ChangeSet* cs,
                                        absl::flat_hash_set<uint64_t>* involved, IngestResult* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // The record `sr` in its person: the record, its membership, its block
  // keys and NHS index entry, and the record count when `is_new`.
  absl::Status PutLinkedRecord(const index::StoredRecord& sr, const PreparedRecord& p, const std::string& key,
                               bool is_new, index::ChangeSet* cs) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  absl::StatusOr<IngestResult> IngestLocked(const Record& rec, const Requester& who)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // When the store holds next_estimate_at_ records (the model is not
  // trusted, or was estimated on a quarter of them or fewer): every stored
  // record relinked with a model estimated on them, person ids kept
  // (engine/linkage/relink.h), and that model scores from then on. Too
  // little evidence waits for twice as many records. Sets result->model_estimated and, when the record `key` moved,
  // result->person_id.
  absl::Status EstimateModelIfDue(const std::string& key, IngestResult* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // The store size above `records` at which the engine next estimates a
  // model, after `stored`; 0 for never. Tries come at fixed store sizes, a
  // first size doubled (EngineOptions::estimate_model_at_records, or four
  // times the records of a trusted trained model up to
  // reestimate_model_until_records), so that a feed killed and ingested
  // again tries where it would have.
  uint64_t NextEstimateAt(const ModelProvenance& stored, uint64_t records) const;

  // The store's record count (meta "record_count").
  absl::StatusOr<uint64_t> RecordCount() const;

  // ---- objections: registered, withdrawn, pending, and applied on arrival (engine_objections.cc)

  // Objections that reach person `target` with the arriving record `p`
  // (`key`): its old person's (`inherited`), another person's holding its
  // NHS number (a record kept apart by review: the objection follows the
  // number), one pending under the number, and demographic forms waiting
  // for this patient's records. Updates *pv (*changed when it did), deletes
  // the pending entries used in `cs`, and returns the forms' keys.
  absl::StatusOr<std::vector<std::string>> ObjectionsOnArrival(const PreparedRecord& p, const std::string& key,
                                                               uint64_t target,
                                                               const std::optional<index::PersonValue>& inherited,
                                                               index::PersonValue* pv, bool* changed,
                                                               index::ChangeSet* cs, IngestResult* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  absl::StatusOr<std::optional<index::ObjectionValue>> GetPending(uint64_t nhs) const;

  // The one person a form's demographics identify: at or above the link
  // threshold and decisively better than any other possible match. Sets
  // `reason` when there is none. `arriving`, when given, is a record being
  // ingested, counted as a candidate of its person beside the stored ones
  // (a stored older version of it still counts for its old person, which
  // can only make the form contested).
  // With `hide_restricted` (a form as registered or withdrawn: its
  // postcode makes it a search that uses location) restricted persons are
  // left out, as from any such search: the answer for a restricted patient
  // is the answer for nobody ("no matching person", so the form waits), and
  // they cannot make a match weak or ambiguous either. Their objection is
  // applied when one of their records arrives (Ingest, ApplyPendingForms),
  // which tells the person who filed the form nothing.
  absl::StatusOr<std::optional<Scored>> MatchForm(const PreparedRecord& form, std::string* reason,
                                                  const Scored* arriving = nullptr, bool hide_restricted = false) const;

  // Whether the form gives a name and a date of birth and the records `keys`
  // (those holding its NHS number) all disagree with both: for no record do
  // the family name, the given names or the date of birth reach a level of
  // their comparison above "else". A form without a name or date of birth
  // contradicts nothing, nor does a record without a date of birth.
  absl::StatusOr<bool> FormContradicts(const ObjectionRequest& req, const std::vector<std::string>& keys) const;

  PreparedRecord PrepareForm(const ObjectionRequest& req) const;

  static const std::string& FormQueryKey();

  void AddForm(std::string key, const ObjectionRequest& req) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // The valid NHS numbers of a person's records.
  absl::StatusOr<absl::flat_hash_set<uint64_t>> NhsNumbersOf(uint64_t pid) const;

  // Whether any record of `pid` holds a valid NHS number other than `nhs`.
  absl::StatusOr<bool> HoldsOtherNhs(uint64_t pid, uint64_t nhs) const;

  // Whether `form` gave an NHS number and a record of `pid` holds another:
  // then the form is another patient's, whatever its demographics say.
  absl::StatusOr<bool> FormsNumberRulesOut(const PendingForm& form, uint64_t pid) const;

  absl::StatusOr<ObjectionResult> ChangeObjection(const ObjectionRequest& req, const Requester& who, bool object);

  // The persons holding NHS number `nhs`; with none, a pending objection
  // under the number (or its withdrawal), and the person the form's
  // demographics identify if its records carry no other number.
  // InvalidArgument (audited) when the records holding the number disagree
  // with the form.
  absl::Status ObjectionByNumber(const ObjectionRequest& req, uint64_t nhs, bool object, int64_t when,
                                 bool demographics, ObjectionChange* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // The person a form without an NHS number identifies; with none, the
  // form waits for the patient's records (or its waiting twin is withdrawn).
  absl::Status ObjectionByForm(const ObjectionRequest& req, bool object, int64_t when, ObjectionChange* c)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // A withdrawal speaks for one patient. A person whose records also carry
  // another NHS number may hold another patient's records (two patients
  // linked together), and that patient's objection must stay: it is kept
  // until a steward splits the person. Returns the persons kept, leaving
  // the others in c->persons.
  absl::StatusOr<std::vector<uint64_t>> KeepOtherPatientsObjections(std::optional<uint64_t> nhs, ObjectionChange* c)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  absl::StatusOr<ObjectionResult> ChangeObjectionLocked(const ObjectionRequest& req, const Requester& who, bool object,
                                                        const char* action) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // ---- the data steward's merge, split, unmerge and never-link (engine_steward.cc)

  // Re-points the records `keys` from person `from` to `to`.
  absl::Status MoveRecords(const std::vector<std::string>& keys, uint64_t from, uint64_t to, index::ChangeSet* cs);

  // Moves `keys` out of `person` into `new_id` (allocated when 0). The new
  // person objects if `person` objects (every part of a split objecting
  // person objects) or if `restored` does.
  absl::StatusOr<uint64_t> SplitLocked(uint64_t person, const std::vector<std::string>& keys, uint64_t new_id,
                                       const Requester& who, const std::string& reason, const char* action,
                                       const index::PersonValue* restored = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // ---- NHS number supersessions (engine_supersession.cc)

  // Engine::Supersede, under write_mu_: the store's changes in one commit,
  // then the in-memory supersessions.
  absl::StatusOr<SupersessionResult> SupersedeLocked(uint64_t old_nhs, uint64_t new_nhs, const Requester& who)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // One review pair (reason "superseded NHS number") between the first
  // person of `persons` and each other, each from the first record of
  // `keys` in that person, scored with the supersessions `next`. Returns
  // how many were added to *cs.
  absl::StatusOr<uint64_t> SupersessionReviewPairs(const std::vector<std::string>& keys,
                                                   const std::vector<uint64_t>& persons, const NhsSupersessions& next,
                                                   index::ChangeSet* cs) const;

  // ---- shared plumbing: commits, audit stamps, dates, preparing records (engine.cc)

  // Appends the audit event of a read (which changes nothing else). It is
  // chained and written to audit.log (the page cache) before the answer is
  // returned, so it survives a process crash, but it is not synced on its
  // own: a machine crash may lose the read events written since the log's
  // last checkpoint (every 1,024 change events, and on close), never a
  // change's, and the chain on disk is always a verifying prefix. It never
  // waits behind a change batch (index/audit_log.h).
  absl::Status CommitAudit(const index::AuditEvent& ev);

  // Commits a change (unsynced) that may change the objection_in_review of
  // `persons` (engine/linkage/review_objections.h), then brings their flags up to
  // date. Empty `persons`: a plain commit.
  absl::Status CommitWithReviewObjections(index::ChangeSet* cs, const index::AuditEvent* ev,
                                          const absl::flat_hash_set<uint64_t>& persons)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  PreparedRecord Prepare(const Record& r) const;

  // The NHS number `nhs` stands for today (supersession.h).
  uint64_t CurrentNhs(uint64_t nhs) const;

  absl::StatusOr<std::vector<uint64_t>> PersonsOf(const std::vector<std::string>& keys,
                                                  const rocksdb::Snapshot* snap) const;

  void Stamp(const Answered& when, index::AuditEvent* ev) const;

  // The change an AsOf stands for: InvalidArgument after the last change,
  // FailedPrecondition before the store's history begins.
  absl::StatusOr<uint64_t> ChangeOf(const AsOf& as_of) const;

  // The day an as-of answer reckons age on.
  int32_t DayOf(const AsOf& as_of) const;

  static nlohmann::json HistoryJson(const char* event, const Requester& who, const std::string& reason);

  const EngineOptions options_;
  std::unique_ptr<index::Store> store_;
  // The model that scores, its version as answers carry it, and the
  // provenance of the stored one (whose trust decides whether the engine
  // estimates another).
  struct LiveModel {
    Model model;
    std::string version;
    ModelProvenance stored;
  };
  const Model& model() const { return live_.load(std::memory_order_acquire)->model; }
  const std::string& model_version() const { return live_.load(std::memory_order_acquire)->version; }
  // Makes `model` the one that scores (under write_mu_, or in the constructor).
  void UseModel(Model model, ModelProvenance stored) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Every model used (the last is live_), kept for readers still scoring.
  std::vector<std::unique_ptr<const LiveModel>> models_ ABSL_GUARDED_BY(write_mu_);
  std::atomic<const LiveModel*> live_{nullptr};
  bool model_stored_ ABSL_GUARDED_BY(write_mu_);
  // Records the store must hold before the engine next tries to estimate
  // the model (EngineOptions::estimate_model_at_records, doubled on a try
  // with too little evidence).
  uint64_t next_estimate_at_ ABSL_GUARDED_BY(write_mu_) = 0;
  // kMetaUnrevisitedFrom as stored; 0 when absent (nothing to revisit).
  uint64_t unrevisited_from_ ABSL_GUARDED_BY(write_mu_) = 0;
  const FieldConventions conventions_;
  const ContributorRegister register_;
  const BlockingRules rules_;
  // Syncs the WAL for every write that must be durable (null: options_.sync
  // off). Declared after store_, so it stops before the store closes.
  const std::unique_ptr<index::WalSyncer> syncer_;
  // options_.today as yyyymmdd, 0 if not set (checked by Engine::Open).
  const int32_t fixed_today_;
  absl::Mutex write_mu_;
  // Supersessions (written under write_mu_ too, read by every Prepare).
  mutable absl::Mutex supersessions_mu_ ABSL_ACQUIRED_AFTER(write_mu_);
  NhsSupersessions supersessions_ ABSL_GUARDED_BY(supersessions_mu_);
  // Demographic objections pending (objections family, keys "form:..."),
  // as ingests check them: linear in their number per ingest, a few
  // nanoseconds each, for forms of patients with no records yet.
  absl::flat_hash_map<std::string, PendingForm> forms_ ABSL_GUARDED_BY(write_mu_);
};

}  // namespace empi::realtime

#endif  // EMPI_ENGINE_REALTIME_ENGINE_IMPL_H_
