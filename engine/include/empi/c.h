/* Copyright EMPI developers.

   c.h: a C interface to EMPI, for embedding from C and from languages with
   a C foreign-function interface. leveldb's c.h is the model:

   - Every object is an opaque handle made by a *_create or *_open function
     and freed by the matching *_destroy or *_close; handles from one engine
     are not tied to it and may outlive it.
   - A function that can fail takes `char** errptr` last. *errptr must be
     NULL or a string from a previous failure (which is then freed). On
     failure it is set to a malloc()ed message, "<code>: <text>" (code as
     absl::StatusCode's name: "INVALID_ARGUMENT", "NOT_FOUND", ...); on
     success it is left unchanged. Free messages with empi_free().
   - Strings passed in are copied; strings handed back are either owned by
     the handle they came from (valid until it is destroyed) or malloc()ed
     and freed with empi_free(), as each function says.
   - Booleans are unsigned char, 0 or 1.

   Example (error handling shortened):

     char* err = NULL;
     empi_options_t* options = empi_options_create();
     empi_engine_t* engine = empi_open(options, "/data/empi", &err);
     empi_requester_t* who = empi_requester_create("dr.jones", "RKB", "clinician", "direct-care");
     empi_resolution_t* r = empi_resolve(engine, "RKB", "K123", who, &err);
     if (r != NULL) {
       char* reason = NULL;
       unsigned char allowed = empi_may_assemble_view(engine, empi_resolution_person_id(r), who, &reason, &err);
       empi_free(reason);
       empi_resolution_destroy(r);
     }
     empi_requester_destroy(who);
     empi_close(engine);
     empi_options_destroy(options);

   Thread-safety: an engine handle is safe for concurrent use from many
   threads, as empi::Engine is (empi/engine.h). Every other handle is a
   plain value: use it from one thread at a time. Functions taking a
   `const` handle only read it. */
#ifndef EMPI_C_H_
#define EMPI_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct empi_options_t empi_options_t;
typedef struct empi_engine_t empi_engine_t;
typedef struct empi_requester_t empi_requester_t;
typedef struct empi_record_t empi_record_t;
typedef struct empi_resolution_t empi_resolution_t;
typedef struct empi_candidates_t empi_candidates_t;
typedef struct empi_objection_t empi_objection_t;
typedef struct empi_review_page_t empi_review_page_t;
typedef struct empi_link_options_t empi_link_options_t;
typedef struct empi_link_summary_t empi_link_summary_t;
typedef struct empi_relink_summary_t empi_relink_summary_t;

/* Frees a string or message handed back by this API. NULL is a no-op. */
void empi_free(void* ptr);

/* ---- Options (empi::EngineOptions; defaults as there) ---- */

empi_options_t* empi_options_create(void);
void empi_options_destroy(empi_options_t* options);
/* The date ages are computed on, YYYY-MM-DD; empty or NULL: today. */
void empi_options_set_today(empi_options_t* options, const char* date);
/* Contributor register file (CSV or JSON); empty or NULL: none. */
void empi_options_set_contributor_register(empi_options_t* options, const char* path);
/* Adds one area (or practice-code prefix) to the region. */
void empi_options_add_region(empi_options_t* options, const char* area);
void empi_options_set_sync(empi_options_t* options, unsigned char sync);
void empi_options_set_block_cache_bytes(empi_options_t* options, size_t bytes);
void empi_options_set_read_cache_persons(empi_options_t* options, size_t persons);

/* ---- Who asks: recorded in every audit event (empi::Requester) ---- */

empi_requester_t* empi_requester_create(const char* requester, const char* organisation, const char* role,
                                        const char* purpose);
void empi_requester_destroy(empi_requester_t* who);

/* ---- The engine ---- */

/* Opens (creating if missing) the store in `path`. NULL on failure, with
 *errptr set (a store locked by another process: "UNAVAILABLE: ..."). */
empi_engine_t* empi_open(const empi_options_t* options, const char* path, char** errptr);
/* Closes the store. NULL is a no-op. */
void empi_close(empi_engine_t* engine);

/* ---- Records and ingest ---- */

empi_record_t* empi_record_create(void);
void empi_record_destroy(empi_record_t* record);
/* Sets a field by its feed column name: "source", "record_id",
   "nhs_number", "family_name", "given_names", "date_of_birth" (ISO),
   "sex", "postcode", "address". Returns 0 and sets *errptr for another
   name. */
unsigned char empi_record_set(empi_record_t* record, const char* field, const char* value, char** errptr);
void empi_record_set_restricted(empi_record_t* record, unsigned char restricted);

/* Ingests one record (empi::Engine::Ingest). Returns its person id, and
   sets *outcome (if not NULL) to a static string: "linked", "new person",
   "review" or "unchanged". 0 on failure, with *errptr set. */
uint64_t empi_ingest(empi_engine_t* engine, const empi_record_t* record, const empi_requester_t* who,
                     const char** outcome, char** errptr);

/* ---- Resolution ---- */

/* The person holding the record. NULL with *errptr unchanged when no
   person holds it; NULL with *errptr set on failure. */
empi_resolution_t* empi_resolve(empi_engine_t* engine, const char* source, const char* record_id,
                                const empi_requester_t* who, char** errptr);
/* The person holding records with this NHS number. NULL with *errptr
   unchanged when none does; NULL with *errptr set for an invalid number,
   a number in several persons ("FAILED_PRECONDITION: ...") or a failure. */
empi_resolution_t* empi_resolve_nhs_number(empi_engine_t* engine, const char* nhs_number, const empi_requester_t* who,
                                           char** errptr);
/* empi_resolve as the index stood once change `as_of_change` was committed,
   or (as_of_change 0) at `as_of_time_us`, Unix microseconds, which also
   dates the answer (empi::Engine::ResolveAsOf). *errptr set for a change
   after the last one or before the store's history. */
empi_resolution_t* empi_resolve_as_of(empi_engine_t* engine, const char* source, const char* record_id,
                                      uint64_t as_of_change, int64_t as_of_time_us, const empi_requester_t* who,
                                      char** errptr);
/* empi_resolve_nhs_number as of a change or time (see empi_resolve_as_of;
   empi::Engine::ResolveByNhsNumberAsOf). */
empi_resolution_t* empi_resolve_nhs_number_as_of(empi_engine_t* engine, const char* nhs_number, uint64_t as_of_change,
                                                 int64_t as_of_time_us, const empi_requester_t* who, char** errptr);
void empi_resolution_destroy(empi_resolution_t* resolution);
uint64_t empi_resolution_person_id(const empi_resolution_t* resolution);
/* The change the answer was given at (record it to ask again, as of it). */
uint64_t empi_resolution_at_change(const empi_resolution_t* resolution);
/* The person objected, or an objection holds through a review pair. */
unsigned char empi_resolution_objection(const empi_resolution_t* resolution);
unsigned char empi_resolution_in_scope(const empi_resolution_t* resolution);
size_t empi_resolution_record_count(const empi_resolution_t* resolution);
/* The i-th linked record's source, record id and contributor kind ("gp",
   "acute", ..., "other"); owned by the resolution. NULL when i is out of
   range. */
const char* empi_resolution_record_source(const empi_resolution_t* resolution, size_t i);
const char* empi_resolution_record_id(const empi_resolution_t* resolution, size_t i);
const char* empi_resolution_record_contributor(const empi_resolution_t* resolution, size_t i);

/* ---- View decisions ---- */

/* Whether a care-record view may be assembled for the person
   (empi::Engine::MayAssembleView). *reason (if not NULL) is set to a
   malloc()ed reason: "allowed", "objection", "out of scope: ...", "not
   found". Returns 0 on failure too, with *errptr set and *reason
   untouched. */
unsigned char empi_may_assemble_view(empi_engine_t* engine, uint64_t person_id, const empi_requester_t* who,
                                     char** reason, char** errptr);
/* The same for the person holding the record (source, record_id). */
unsigned char empi_may_assemble_view_for_record(empi_engine_t* engine, const char* source, const char* record_id,
                                                const empi_requester_t* who, char** reason, char** errptr);
/* empi_may_assemble_view as of a change or time (see empi_resolve_as_of). */
unsigned char empi_may_assemble_view_as_of(empi_engine_t* engine, uint64_t person_id, uint64_t as_of_change,
                                           int64_t as_of_time_us, const empi_requester_t* who, char** reason,
                                           char** errptr);

/* ---- Search ---- */

/* Persons matching the demographics, best first, at most `limit`
   (empi::Engine::Search). Any argument may be NULL or empty (not given).
   NULL on failure, with *errptr set; an empty list when none match. */
empi_candidates_t* empi_search(empi_engine_t* engine, const char* nhs_number, const char* family_name,
                               const char* given_names, const char* date_of_birth, const char* postcode,
                               const char* sex, const empi_requester_t* who, size_t limit, char** errptr);
void empi_candidates_destroy(empi_candidates_t* candidates);
size_t empi_candidates_count(const empi_candidates_t* candidates);
/* The i-th candidate's person, match weight (log2 Bayes factor), match
   probability and FHIR match grade ("certain", "probable", "possible",
   "certainly-not"; static). 0 / NULL when i is out of range. */
uint64_t empi_candidates_person_id(const empi_candidates_t* candidates, size_t i);
double empi_candidates_match_weight(const empi_candidates_t* candidates, size_t i);
double empi_candidates_match_probability(const empi_candidates_t* candidates, size_t i);
const char* empi_candidates_grade(const empi_candidates_t* candidates, size_t i);

/* ---- Objections ---- */

/* What came of an objection (empi::ObjectionOutcome). */
enum { EMPI_OBJECTION_APPLIED = 0, EMPI_OBJECTION_PENDING = 1, EMPI_OBJECTION_REFUSED = 2 };

empi_objection_t* empi_objection_create(void);
void empi_objection_destroy(empi_objection_t* objection);
/* Sets a field of the form: "nhs_number", "family_name", "given_names",
   "date_of_birth", "postcode", "reference", or "method" ("form", "phone",
   "letter", "online", "steward"; default "form"). Returns 0 and sets
   *errptr for another name or method. */
unsigned char empi_objection_set(empi_objection_t* objection, const char* field, const char* value, char** errptr);
/* Registers (or withdraws) the objection (empi::Engine::RegisterObjection
   and WithdrawObjection). Returns an EMPI_OBJECTION_* value and sets
   *reason (if not NULL) to a malloc()ed reason when refused (else "").
   -1 on failure, with *errptr set. */
int empi_register_objection(empi_engine_t* engine, const empi_objection_t* objection, const empi_requester_t* who,
                            char** reason, char** errptr);
int empi_withdraw_objection(empi_engine_t* engine, const empi_objection_t* objection, const empi_requester_t* who,
                            char** reason, char** errptr);

/* ---- The data steward ---- */

/* Up to `limit` pairs awaiting review after `after_cursor` (NULL or "" for
   the first page; else a page's next cursor) (empi::Engine::ReviewQueue).
   NULL on failure, with *errptr set. */
empi_review_page_t* empi_review_queue(empi_engine_t* engine, size_t limit, const char* after_cursor,
                                      const empi_requester_t* who, char** errptr);
void empi_review_page_destroy(empi_review_page_t* page);
size_t empi_review_page_count(const empi_review_page_t* page);
/* The cursor of the next page, "" on the last; owned by the page. */
const char* empi_review_page_next_cursor(const empi_review_page_t* page);
/* The i-th pair's record on `side` (0 or 1: the pair's two records, in
   storage-key order): its source and record id (owned by the page) and the
   person holding it. NULL / 0 when i or side is out of range. */
const char* empi_review_page_source(const empi_review_page_t* page, size_t i, int side);
const char* empi_review_page_record_id(const empi_review_page_t* page, size_t i, int side);
uint64_t empi_review_page_person_id(const empi_review_page_t* page, size_t i, int side);
/* The i-th pair's match weight (log2 Bayes factor) and probability, and
   why it awaits a steward ("between thresholds", "nhs conflict", ...;
   owned by the page). 0 / NULL when i is out of range. */
double empi_review_page_match_weight(const empi_review_page_t* page, size_t i);
double empi_review_page_match_probability(const empi_review_page_t* page, size_t i);
const char* empi_review_page_reason(const empi_review_page_t* page, size_t i);

/* Steward actions (empi::Engine::Merge, Split, Unmerge, NeverLink), each
   audited with `reason` (free text; NULL: none). 0 on failure, with
   *errptr set ("NOT_FOUND: ...", "INVALID_ARGUMENT: ...",
   "FAILED_PRECONDITION: ...").
   empi_merge joins person `from` into `into`, which survives, and returns
   the merge's history sequence (what empi_unmerge takes). */
uint64_t empi_merge(empi_engine_t* engine, uint64_t into, uint64_t from, const empi_requester_t* who,
                    const char* reason, char** errptr);
/* Moves the `count` records (sources[i], record_ids[i]) of `person` into a
   new person, whose id it returns. */
uint64_t empi_split(empi_engine_t* engine, uint64_t person, const char* const* sources, const char* const* record_ids,
                    size_t count, const empi_requester_t* who, const char* reason, char** errptr);
/* Undoes the merge recorded as history event `merge_event` of `person`;
   returns the id of the person that comes back. */
uint64_t empi_unmerge(empi_engine_t* engine, uint64_t person, uint64_t merge_event, const empi_requester_t* who,
                      char** errptr);
/* Marks two records never to be linked; 1 on success. */
unsigned char empi_never_link(empi_engine_t* engine, const char* source_a, const char* record_id_a,
                              const char* source_b, const char* record_id_b, const empi_requester_t* who,
                              const char* reason, char** errptr);
/* A person's history, oldest first, as a malloc()ed JSON array of
   {"sequence": N, "event": {...}} (empi::Engine::History; the event as the
   store keeps it: "event", "time_us", "by", "reason", "from", "into",
   "records", ...); "[]" for a person with no history). NULL on failure,
   with *errptr set. */
char* empi_history_json(empi_engine_t* engine, uint64_t person, const empi_requester_t* who, char** errptr);

/* ---- Batch linking (empi/link.h) ---- */

empi_link_options_t* empi_link_options_create(void);
void empi_link_options_destroy(empi_link_options_t* options);
/* Sets an option by its empi::LinkFeedsOptions name: "mapping", "source",
   "date_format", "blocking_rules", "quarantine". Returns 0 and sets
   *errptr for another name. */
unsigned char empi_link_options_set(empi_link_options_t* options, const char* name, const char* value, char** errptr);
void empi_link_options_set_requester(empi_link_options_t* options, const empi_requester_t* who);

/* Called as the link proceeds: a stage name, units done out of total (0
   when unknown), and the `arg` given to empi_link_feeds. */
typedef void (*empi_link_progress_fn)(void* arg, const char* stage, uint64_t done, uint64_t total);

/* Links the feeds (file paths) into the store at `db_path`
   (empi::LinkFeeds); no engine may have it open. `progress` may be NULL.
   NULL on failure, with *errptr set; the store is then as it was. */
empi_link_summary_t* empi_link_feeds(const empi_link_options_t* options, const char* db_path, const char* const* feeds,
                                     size_t num_feeds, empi_link_progress_fn progress, void* progress_arg,
                                     char** errptr);
void empi_link_summary_destroy(empi_link_summary_t* summary);
/* A count of the summary by its empi::LinkFeedsSummary name: "feeds",
   "records_read", "quarantined", "new_records", "updated_records",
   "unchanged_records", "candidate_pairs", "links", "review_pairs",
   "persons_new", "persons_total", "records_total", "objections_applied".
   Sets *found (if not NULL) to whether the name is one of these; 0 for
   another. */
uint64_t empi_link_summary_get(const empi_link_summary_t* summary, const char* name, unsigned char* found);

/* Relinks the store at `db_path` (empi::Relink): every stored record scored
   again and the persons rebuilt with their ids kept; with `retrain` (1) the
   model is estimated again, with `dry_run` (1) nothing is written but the
   audit event. `who` and `progress` may be NULL. NULL on failure, with
   *errptr set ("FAILED_PRECONDITION: ..." when the store has no trusted
   model); the store is then as it was. */
empi_relink_summary_t* empi_relink(const char* db_path, unsigned char retrain, unsigned char dry_run,
                                   const empi_requester_t* who, empi_link_progress_fn progress, void* progress_arg,
                                   char** errptr);
void empi_relink_summary_destroy(empi_relink_summary_t* summary);
/* A count of the summary by its empi::RelinkSummary name: "records",
   "candidate_pairs", "links", "review_pairs_before", "review_pairs",
   "persons_before", "persons_after", "persons_unchanged", "persons_pinned",
   "persons_new", "persons_removed", "objections_inherited", or "moves" (the
   number of records moved). *found as for empi_link_summary_get. */
uint64_t empi_relink_summary_get(const empi_relink_summary_t* summary, const char* name, unsigned char* found);
/* The i-th record moved (in record key order): its source and record id
   (valid while the summary lives) and its persons before and after.
   Returns 0 when i is not below the number of moves. */
unsigned char empi_relink_summary_move(const empi_relink_summary_t* summary, size_t i, const char** source,
                                       const char** record_id, uint64_t* from_person, uint64_t* to_person);

#ifdef __cplusplus
} /* end extern "C" */
#endif

#endif /* EMPI_C_H_ */
