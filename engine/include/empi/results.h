// Copyright EMPI developers.
//
// results.h: what the engine is asked with and answers with: who asks
// (Requester), a record's key (RecordRef), a resolution, search candidates
// with their per-field weights, view decisions, ingest and objection
// results, history and audit events, the review queue.
//
// Every type here is a plain value: no handles into the store, nothing to
// free. Restricted patients (Record::restricted): no type here carries an
// address or postcode, so nothing the engine returns can show one.
//
//   empi::Requester who{"dr.jones", "RKB", "clinician", "direct-care"};
//   auto r = engine->Resolve("RKB", "K123", who);
//   if (r.ok() && r->objection) { /* no shared view for this person */ }
//
// Thread-safety: plain value types; the name functions are pure.
#ifndef EMPI_RESULTS_H_
#define EMPI_RESULTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "empi/objection.h"

namespace empi {

// Who asks, recorded in every audit event.
struct Requester {
  std::string requester = "cli";
  std::string organisation = "local";
  std::string role = "operator";
  std::string purpose = "direct-care";
  // The front end's request and correlation ids (HTTP X-Request-ID and
  // X-Correlation-ID), recorded in each audit event's fields of the same
  // names. Default: empty.
  std::string request_id = "";
  std::string correlation_id = "";
};

struct RecordRef {
  std::string source, record_id;
  friend bool operator==(const RecordRef&, const RecordRef&) = default;
};

struct LinkedRecord {
  std::string source, record_id;
  std::string contributor;  // "gp", "acute", ... from the register; "other"
};

// A past moment of the index, for answers an auditor can reproduce: the
// index as it stood once change `change` was committed (the change feed's
// sequence, Engine::LastChange(); AuditEvent::at_change of an earlier
// answer), or, when `change` is 0 and `time_us` is not, once the last change
// at or before `time_us` was. `time_us` (Unix microseconds) also dates the
// answer: scope's age is reckoned on that day; with only `change` given, on
// today. AsOf{} is the empty index, before the first change.
struct AsOf {
  uint64_t change = 0;
  int64_t time_us = 0;
};

struct Resolution {
  uint64_t person_id = 0;
  std::vector<LinkedRecord> records;
  // The person objected, or (objection_in_review) holds a record in review
  // with a record of a person who objected: until a steward decides, the
  // objection holds. The time and method are
  // the person's own objection's.
  bool objection = false;
  bool objection_in_review = false;
  int64_t objection_time_us = 0;
  ObjectionMethod objection_method = ObjectionMethod::kNone;
  bool in_scope = false;
  std::string scope_reason;  // why out of scope, or "aged 18+ and registered with <practice>"
  bool restricted = false;   // address must not be shown
  // The change the answer was given at (the index as it stood once that
  // change was committed; for an as-of answer, the change asked for), and
  // the version of the matching model in use (docs/realtime.md). Both are
  // recorded in the answer's audit event.
  uint64_t at_change = 0;
  std::string model_version;
};

// FHIR patient $match "match-grade" values.
enum class MatchGrade { kCertain, kProbable, kPossible, kCertainlyNot };
std::string_view MatchGradeName(MatchGrade g);  // "certain", "probable", ...

struct Demographics {
  std::string nhs_number, family_name, given_names, date_of_birth, postcode, sex;
};

struct FieldWeight {
  std::string comparison;   // "nhs_number", "family_name", ...
  int gamma = 0;            // level taken (Splink's gamma_<field>); -1 when withheld
  double match_weight = 0;  // 0 when withheld
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
  uint64_t at_change = 0;     // as in Resolution
  std::string model_version;  // as in Resolution
};

enum class IngestOutcome { kLinked, kNewPerson, kReview, kUnchanged };
std::string_view IngestOutcomeName(IngestOutcome o);

struct IngestResult {
  IngestOutcome outcome = IngestOutcome::kNewPerson;
  uint64_t person_id = 0;
  double match_probability = 0;    // best candidate's, 0 if none
  std::string reason;              // why not linked, when review
  bool objection_applied = false;  // a pending objection matched this record
  // This ingest brought the store to a size at which the engine estimates
  // the model (EngineOptions::estimate_model_at_records): it was estimated
  // on the stored records and every record relinked with it (person_id is
  // the record's person after that).
  bool model_estimated = false;
  uint64_t records_moved = 0;  // by that relink
};

// What Engine::Revisit changed.
struct RevisitResult {
  uint64_t placed = 0;   // records ingested since the last revisit (RevisitIngested only)
  uint64_t persons = 0;  // revisited
  uint64_t records = 0;  // theirs, scored and clustered again
  uint64_t records_moved = 0;
  uint64_t persons_new = 0, persons_removed = 0;
  uint64_t review_pairs_before = 0, review_pairs = 0;  // among those records
  bool more = false;  // RevisitIngested with max_placed: records left for the next call

  // Adds the counts of a further step (`more` becomes the step's).
  RevisitResult& operator+=(const RevisitResult& step) {
    placed += step.placed;
    persons += step.persons;
    records += step.records;
    records_moved += step.records_moved;
    persons_new += step.persons_new;
    persons_removed += step.persons_removed;
    review_pairs_before += step.review_pairs_before;
    review_pairs += step.review_pairs;
    more = step.more;
    return *this;
  }
};

// The model that scores (Engine::CurrentModel): its version as answers
// carry it, whether it is trusted, and what the stored model was estimated
// on. An untrusted stored model does not score: the informed default
// priors do.
struct ModelInfo {
  std::string version;
  std::string untrusted_reason;  // empty when trusted
  std::string origin;            // "trained", "imported", "default" (no model estimated yet)
  uint64_t records = 0;          // of the estimate
  uint64_t candidate_pairs = 0;
  int em_iterations = 0;
  bool em_converged = false;
  double estimated_matches = 0;
  std::string trained_at;  // UTC, ISO 8601
  bool trusted() const { return untrusted_reason.empty(); }
};

// What an administrator checks (Engine::Overview): the model that scores,
// the store's size and last change, and when ingest estimates the model
// again. Names no person.
struct EngineOverview {
  ModelInfo model;
  uint64_t records = 0;
  uint64_t last_change = 0;
  uint64_t next_model_estimate_at = 0;  // store records at which ingest estimates again; 0: not again
  // Empty while the store takes changes; else the write that failed (a full
  // or read-only disk), after which it takes none until the engine is opened
  // again. Reads go on.
  std::string write_failure;
};

// A contributor and the FHIR identifier system of its own record ids, as
// the contributor register gives it (Engine::ContributorSystems).
struct ContributorSystem {
  std::string source;
  std::string system;
  bool operator==(const ContributorSystem&) const = default;
};

// The patient as the right-to-object form identifies them: the NHS number,
// or name, date of birth and postcode when the number is not given.
struct ObjectionRequest {
  std::string nhs_number, family_name, given_names, date_of_birth, postcode;
  ObjectionMethod method = ObjectionMethod::kForm;
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

// One event of the store's hash-chained audit trail (Engine::AuditForPerson):
// who asked what, when, and what came of it.
struct AuditEvent {
  uint64_t sequence = 0;                               // position in the trail, from 1
  int64_t time_us = 0;                                 // Unix microseconds
  std::string requester, organisation, role, purpose;  // Requester's fields
  std::string action;                                  // "resolve", "search", "view", "object", "merge", ...
  std::string outcome;                                 // "ok", "allowed", "denied: objection", ...
  std::vector<uint64_t> persons;                       // persons the event names
  std::vector<RecordRef> records;                      // records the event names
  // For resolutions and view decisions: the change the answer was given at
  // and the model version (Resolution::at_change), and whether the caller
  // asked as of that change (an auditor reproducing an answer). Replaying
  // an event: AsOf{at_change, time_us}.
  uint64_t at_change = 0;
  std::string model_version;
  bool as_of = false;
  std::string request_id, correlation_id;  // Requester's; empty when not given
};

// One change to who is who, from the change feed (Engine::Changes): what a
// consumer caching resolutions or views must drop. Names person ids and
// records only, never demographics. Kinds: "record-linked", "new-person",
// "record-moved", "record-updated", "restricted-changed", "merge",
// "split", "unmerge", "never-link", "objection-registered",
// "objection-withdrawn", "objection-in-review", "nhs-superseded"
// (docs/realtime.md, "Change feed").
struct ChangeEvent {
  uint64_t sequence = 0;  // from 1, strictly increasing, without gaps
  int64_t time_us = 0;    // Unix microseconds, when committed
  std::string kind;
  std::vector<uint64_t> persons;   // every person whose answer may have changed
  std::vector<RecordRef> records;  // the records concerned, if any
};

struct HistoryEntry {
  uint64_t sequence = 0;  // history event id; a merge's id is what Unmerge takes
  std::string json;       // {"event":"merge",...}
};

// A record's link to the person holding it (HAPI FHIR MDM's MATCH link):
// `manual` when a steward put it there (a merge into the person, or a split
// or unmerge that made it), else the engine did (a link, a relink, a batch
// link).
struct PersonLink {
  RecordRef record;
  uint64_t person = 0;
  bool manual = false;
};
// A steward's mark that two records are not one person (NeverLink; HAPI's
// NO_MATCH link), with the persons holding them now.
struct NoMatchLink {
  RecordRef record, other;
  uint64_t person = 0, other_person = 0;
};
struct PersonLinks {
  std::vector<PersonLink> matches;  // record key order
  std::vector<NoMatchLink> no_matches;
};

// Two records a steward should decide on (Engine::ReviewQueue): scored
// between the thresholds, or kept apart by a rule (an NHS number conflict,
// an ambiguous match, a weak group), each pair once.
struct ReviewQueueEntry {
  RecordRef a, b;                       // a's storage key sorts before b's
  uint64_t person_a = 0, person_b = 0;  // the persons holding them now
  double match_weight = 0;              // log2 Bayes factor of the pair
  double match_probability = 0;
  std::string reason;  // "between thresholds", "nhs conflict", "weak group", ...
};

// One page of the review queue.
struct ReviewQueuePage {
  std::vector<ReviewQueueEntry> pairs;
  // Opaque; give it back for the next page. Empty on the last page.
  std::string next_cursor;
};

// One NHS number replaced by another (Engine::Supersede).
struct Supersession {
  std::string old_nhs_number, new_nhs_number;
};
struct SupersessionResult {
  bool added = false;               // false: already known, nothing changed
  std::vector<uint64_t> persons;    // persons holding either number
  uint64_t review_pairs = 0;        // pairs of those persons sent to review
  bool objection_extended = false;  // an objection now holds for more persons
  bool pending_moved = false;       // a pending objection moved to the new number
};

}  // namespace empi

#endif  // EMPI_RESULTS_H_
