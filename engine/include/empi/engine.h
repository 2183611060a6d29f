// Copyright EMPI developers.
//
// engine.h: the real-time EMPI: ingest one record at a time, resolve a
// record or NHS number to its person, search by demographics, decide
// whether a care-record view may be assembled, register patient
// objections, and the data steward's review queue and merge / split /
// never-link actions.
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
// Search, MayAssembleView, History, ReviewQueue) each see one consistent
// RocksDB snapshot and never wait for writers; their audit events are
// written (unsynced) before they return. Changes (Ingest, objections,
// steward actions) are decided one at a time under a writer mutex and made
// visible before the mutex is released; the write-ahead-log sync that makes
// them durable runs after the mutex is released, so concurrent writers share
// syncs. One process at a time may open a store: a second Open of the same
// path, in this process or another, fails while the first engine is open.
#ifndef EMPI_ENGINE_H_
#define EMPI_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "empi/options.h"
#include "empi/record.h"
#include "empi/results.h"

namespace empi {

// The engine: a pure-virtual facade over one open store; Engine::Open is
// the factory, the implementation is private.
class Engine {
 public:
  // Opens (creating if missing) the store in `path`, loads the stored model
  // (the default model if the store has none yet) and the contributor
  // register. Returns the store's error (Unavailable or IOError-like codes
  // when the directory cannot be opened or is locked by another process),
  // InvalidArgument for an `options.today` that is not a date, or
  // InvalidArgument naming the register file and line when it does not
  // parse. The caller owns the engine; destroying it closes the store.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options, const std::string& path);
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
  // The person holding records with this NHS number as its own; a
  // relative's record that carries it too (a parent's number on a child's
  // record, judged among the number's holders: docs/matching.md) is not
  // the number's patient. NotFound if no person holds it,
  // FailedPrecondition if several persons hold it as their own (pending
  // review, or a relative's number its holders cannot tell apart),
  // InvalidArgument if it is not a valid NHS number.
  virtual absl::StatusOr<Resolution> ResolveByNhsNumber(const std::string& nhs_number, const Requester& who) = 0;
  // Resolve and ResolvePerson as the index stood at `as_of` (AsOf): the
  // same answer (person, records, objection, scope, restriction) as a call
  // made then, whatever was linked, merged, split or objected to since;
  // scope's age is reckoned on as_of's day. The answer's at_change is the
  // change asked for. Audited like the present calls, marked as_of.
  // InvalidArgument for a change after the last one, FailedPrecondition for
  // one before the store's history begins (a store upgraded to format
  // version 7 keeps history from its upgrade on).
  virtual absl::StatusOr<Resolution> ResolveAsOf(const std::string& source, const std::string& record_id,
                                                 const AsOf& as_of, const Requester& who) = 0;
  virtual absl::StatusOr<Resolution> ResolvePersonAsOf(uint64_t person_id, const AsOf& as_of, const Requester& who) = 0;
  // ResolveByNhsNumber as the index stood at `as_of`: the records that held
  // the number then (following the supersessions known then) and their
  // person then. FailedPrecondition also for a change before the store's
  // history of NHS numbers begins (a store upgraded to format version 9
  // keeps it from its upgrade on).
  virtual absl::StatusOr<Resolution> ResolveByNhsNumberAsOf(const std::string& nhs_number, const AsOf& as_of,
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
  // MayAssembleView for the person holding the record (source, record_id);
  // a decision with reason "not found" when no person holds it.
  virtual absl::StatusOr<ViewDecision> MayAssembleViewForRecord(const std::string& source, const std::string& record_id,
                                                                const Requester& who) = 0;
  // The view decisions as the index stood at `as_of` (see ResolveAsOf).
  virtual absl::StatusOr<ViewDecision> MayAssembleViewAsOf(uint64_t person_id, const AsOf& as_of,
                                                           const Requester& who) = 0;
  virtual absl::StatusOr<ViewDecision> MayAssembleViewForRecordAsOf(const std::string& source,
                                                                    const std::string& record_id, const AsOf& as_of,
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
  virtual absl::StatusOr<ObjectionResult> RegisterObjection(const ObjectionRequest& request, const Requester& who) = 0;
  // Matches every pending demographic objection against the stored records
  // again and applies those that now identify one person (audited, action
  // "apply-pending-objection"); `empi link` calls it after linking. Returns
  // how many were applied. Ingest needs no call: it checks the pending forms
  // that share a blocking key with the record in the same write.
  virtual absl::StatusOr<uint64_t> ApplyPendingForms(const Requester& who) = 0;
  // Reverses an objection identified the same way (also drops a pending one).
  virtual absl::StatusOr<ObjectionResult> WithdrawObjection(const ObjectionRequest& request, const Requester& who) = 0;

  // Steward: joins person `b` into `a`; `a` survives and objects if either
  // did. Returns the merge's history sequence (the id Unmerge takes).
  // NotFound for an unknown person, InvalidArgument if a == b,
  // FailedPrecondition if a never-link pair would end up in one person.
  virtual absl::StatusOr<uint64_t> Merge(uint64_t a, uint64_t b, const Requester& who, const std::string& reason) = 0;
  // Steward: moves `records` of `person` into a new person (returned), which
  // objects if `person` did. InvalidArgument if a record is not in `person`
  // or if all of its records are listed.
  virtual absl::StatusOr<uint64_t> Split(uint64_t person, const std::vector<RecordRef>& records, const Requester& who,
                                         const std::string& reason) = 0;
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

  // Reads what real-time calls read through the block cache until it is
  // (nearly) full, so that the first requests after an open find their
  // blocks in memory: a few seconds for a million records. For a service,
  // once after Open; a one-shot command should not. Returns the bytes of the
  // cache in use afterwards, or the store's read error.
  virtual absl::StatusOr<uint64_t> WarmCache() = 0;

  // The change feed: changes to who is who with a sequence above `since`,
  // oldest first, at most `limit` of them. When there is none yet and
  // `wait` is positive, waits up to `wait` for one (long polling). A
  // consumer resumes from the last sequence it handled: every change a
  // commit made is in the feed with it (the same atomic write), numbered in
  // the order they became visible, so none is ever skipped. Changes are
  // kept for the life of the store. Audited (action "changes", naming no
  // person: the outcome gives the range returned).
  virtual absl::StatusOr<std::vector<ChangeEvent>> Changes(uint64_t since, size_t limit, std::chrono::milliseconds wait,
                                                           const Requester& who) = 0;
  // The sequence of the last change committed (0 when none): where a new
  // consumer starts from, read before it resolves what it caches (a change
  // made in between is then delivered, not missed).
  virtual uint64_t LastChange() const = 0;

  // The model that scores and its provenance. Ingest estimates another
  // while it is not trusted (EngineOptions::estimate_model_at_records).
  virtual ModelInfo CurrentModel() const = 0;
  // The contributors whose record ids the contributor register gives a
  // FHIR identifier system, by source code (empty without a register file
  // or without a system column).
  virtual std::vector<ContributorSystem> ContributorSystems() const = 0;
  // Administrator: CurrentModel with the store's record count, its last
  // change, and when ingest estimates the model again. Audited (action
  // "overview", naming no person).
  virtual absl::StatusOr<EngineOverview> Overview(const Requester& who) = 0;

  // Ingest places one record at a time and keeps each decision, so a link
  // made before better evidence arrived stays. Revisit relinks the persons
  // of `records` and their neighbours (every person a record of theirs
  // shares a blocking key with) as one batch link of their records would
  // (the no-chaining rules of clustering.h over all of them), person ids
  // kept, objections following records, a steward's decisions kept whole:
  // the revisit `empi link` makes of a feed's stored neighbours. Records
  // not stored are skipped.
  // FailedPrecondition (nothing changed) while the model is not trusted.
  // One synced write, audited ("link: revisit"). Costs about what a batch
  // link of those persons' records does, with other changes waiting.
  virtual absl::StatusOr<RevisitResult> Revisit(const std::vector<RecordRef>& records, const Requester& who) = 0;

  // Revisit of every record Ingest placed or changed since the last such
  // revisit (or since the model's estimate, which relinks every record),
  // read from the change feed from a mark each ingest commits with its
  // record: a process killed before it revisited leaves them to the next
  // call, in this process or another. A service calls it between ingests
  // (`empi serve` every few seconds, `empi ingest` after each file).
  // Nothing pending: an empty result. FailedPrecondition while the model is
  // not trusted (the records stay pending; the estimate relinks them).
  // With max_placed > 0, only the records of the first changes, up to about
  // that many records, are revisited, and `more` says whether others wait
  // for the next call: a service revisits in steps so that ingests are not
  // held for the whole revisit. 0: all of them.
  virtual absl::StatusOr<RevisitResult> RevisitIngested(const Requester& who, uint64_t max_placed) = 0;

  // Steward: up to `limit` pairs awaiting review, each pair once, in a
  // stable order (by the records' storage keys); `after_cursor` is empty for
  // the first page, else a page's next_cursor, and the page holds the pairs
  // after it (pairs decided since drop out, pairs added since appear in
  // their place). The person ids are read at one snapshot with the pairs.
  // Audited (action "review queue", naming every person and record on the
  // page). InvalidArgument, naming the field, for a `limit` of 0 or above
  // 1,000 or a cursor that is not one.
  virtual absl::StatusOr<ReviewQueuePage> ReviewQueue(size_t limit, const std::string& after_cursor,
                                                      const Requester& who) = 0;
  // Steward: the pairs awaiting review that involve a record of `person`
  // (0: any person) and, when `record` is given, that record; each pair once,
  // in the queue's order, all of them (a person's pairs are few). For a
  // steward at one person or record (HAPI MDM's $mdm-query-links with
  // goldenResourceId and resourceId). Audited like ReviewQueue.
  // InvalidArgument when neither is given; NotFound for a person or record
  // not in the index.
  virtual absl::StatusOr<std::vector<ReviewQueueEntry>> ReviewPairsOf(uint64_t person,
                                                                      const std::optional<RecordRef>& record,
                                                                      const Requester& who) = 0;

  // Steward: the links of `person`, or of the person holding `record` (its
  // own link only, then): each record in the person and whether a steward
  // put it there, and the never-link marks on those records, read at one
  // snapshot (HAPI MDM's $mdm-query-links with matchResult MATCH or
  // NO_MATCH). Audited (action "links", naming the persons and records).
  // InvalidArgument when neither is given; NotFound for a person or record
  // not in the index.
  virtual absl::StatusOr<PersonLinks> LinksOf(uint64_t person, const std::optional<RecordRef>& record,
                                              const Requester& who) = 0;

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
  // Audit events naming the person, oldest first. Not itself audited: a
  // caller showing them to someone records that read (as `empi audit
  // person` does). Reads the whole trail: an operator's tool, not a
  // per-request call.
  virtual absl::StatusOr<std::vector<AuditEvent>> AuditForPerson(uint64_t person) = 0;
  // The same events shown to `who` (an auditor, or a subject access
  // request): the read is itself recorded first (action "audit person",
  // outcome "ok: N events", naming the person), so the list returned does
  // not hold it.
  virtual absl::StatusOr<std::vector<AuditEvent>> ReadAuditTrail(uint64_t person, const Requester& who) = 0;

 protected:
  Engine() = default;

 private:
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
};

}  // namespace empi

#endif  // EMPI_ENGINE_H_
