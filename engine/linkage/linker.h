// Copyright EMPI developers.
//
// linker.h: batch linkage of contributor records into the stored persons.
//
// LinkRecords takes the good rows of one or more feeds and, in one run:
// prepares them (in parallel), finds which keys are new, changed or
// unchanged, fetches the stored records that share a blocking key with
// them (so a second feed is matched against everything stored without
// relinking the population), generates and compares candidate pairs,
// trains the model on the first run of a database (later runs use the
// stored model), clusters without chaining (clustering.h), and writes
// records, memberships, blocking keys, new persons, the review queue and
// the model, all at once: one synced WriteBatch, or above
// bulk_ingest_records one atomic ingestion of SST files (Store::BulkLoad).
// A crash at any instant leaves the store as it was before the run or with
// the whole run applied, so running the same command again gives what a
// clean run gives (docs/format/store.md, "Crash consistency").
//
// Person ids are stable: stored persons keep their ids; new persons get
// fresh ids in input order. A changed record is detached from its old
// person and linked afresh; if that person had objected, whichever person
// the record joins objects too (an objection is never lost).
//
// Thread-safety: one LinkRecords per store at a time (the CLI holds the
// database's lock); it uses the TBB pool internally.
#ifndef EMPI_LINKAGE_LINKER_H_
#define EMPI_LINKAGE_LINKER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "empi/record.h"
#include "engine/linkage/blocking.h"
#include "engine/linkage/clustering.h"
#include "engine/linkage/model.h"
#include "engine/linkage/number_marks.h"
#include "engine/linkage/training.h"
#include "index/store.h"

namespace empi {

inline constexpr size_t kDefaultMaxBlockSize = 300;

// How a database's records are blocked. Every LinkRecords run stores the
// settings it used in meta "blocking" (JSON, docs/format/store.md), so
// later runs, `empi export pairs` and the real-time engine block the same way.
struct BlockingSettings {
  BlockingRules rules = BlockingRules::Default();
  size_t max_block_size = kDefaultMaxBlockSize;
};

struct LinkOptions {
  // How this run's records are compared. Stored records are always prepared
  // with the database's own conventions (StoredConventions).
  FieldConventions conventions;
  // Blocking. Unset: the database's stored settings, else
  // BlockingRules::Default() and kDefaultMaxBlockSize. A different
  // max_block_size applies from this run on. Different rules on a database
  // that holds records and stored settings are refused (FailedPrecondition):
  // its block_keys hold keys of the stored rules only.
  std::optional<BlockingRules> rules;
  std::optional<size_t> max_block_size;
  // Used when the database has no model yet (or retrain is set).
  ModelSettings settings;
  bool retrain = false;  // Default: false. Re-estimate the stored model.
  // At or above this many new or updated records, the run is written by one
  // atomic bulk load (Store::BulkLoad) instead of one WriteBatch.
  // Default: 100,000.
  size_t bulk_ingest_records = 100000;
  // Records per bulk-load round: bounds the memory the round's batches and
  // their sort hold. Raised for loads of more than 32 rounds, so that at
  // most 32 rounds' files wait in level 0. Default: 250,000.
  size_t bulk_round_records = 250000;
  // Test hook: called at each point of the write stage ("round" after each
  // bulk round is on disk, "ingest" before the bulk ingestion, "commit"
  // before the commit); a non-OK status ends the run there, as a crash would.
  std::function<absl::Status(std::string_view point)> write_hook;
  // Called from the calling thread as work proceeds: a stage name and
  // units done out of total (total 0 when unknown).
  std::function<void(std::string_view stage, uint64_t done, uint64_t total)> progress;
  // Who runs the link and why, recorded in its audit event.
  std::string requester = "empi link", organisation = "local", role = "operator", purpose = "operations";
};

struct LinkSummary {
  uint64_t records_in = 0;
  uint64_t new_records = 0, updated_records = 0, unchanged_records = 0;
  uint64_t stored_records_fetched = 0;  // stored neighbours compared against
  uint64_t candidate_pairs = 0;
  uint64_t links = 0;         // links applied
  uint64_t review_pairs = 0;  // pairs put in the review queue this run
  // Of them, pairs of two stored persons ("existing persons"): a relink
  // settles them (relink.h).
  uint64_t review_existing_persons = 0;
  uint64_t persons_new = 0;
  uint64_t persons_total = 0;
  uint64_t records_total = 0;
  bool trained = false;
  // Why the stored model was estimated again ("" when it was kept, or
  // there was none).
  std::string model_untrusted_reason;
  // The model this run scored with (stored, or trained now).
  ModelProvenance model;
  // The persons of every record the run clustered: its own records' and
  // the stored neighbours' (with all their records). LinkFeeds relinks
  // them after the run (RelinkStore with this scope), so that a record
  // arriving now can undo a link made before it. Empty when no stored
  // record was compared, or the run scored with the default priors;
  // `revisit_all` when every stored record was (the model estimated again).
  std::vector<uint64_t> revisit_persons;
  bool revisit_all = false;
  BlockingReport blocking;
  TrainingReport training;
  // Seconds spent per stage, in order.
  std::vector<std::pair<std::string, double>> stage_seconds;
};

absl::StatusOr<LinkSummary> LinkRecords(index::Store* store, std::vector<Record> records, const LinkOptions& options);

// Meta key present from the commit of a link whose revisit_persons is not
// empty until the commit of its revisit (or of any relink): found by the
// next link, it means a crash came between the two, and its value is the
// revisit's scope (EncodeRevisitScope), so that the next link does the
// same revisit.
inline constexpr std::string_view kMetaRevisitPending = "revisit_pending";

// Meta key present from the commit of the first record the real-time
// engine placed (Engine::Ingest) since its last revisit until the commit
// of the next (Engine::RevisitIngested, or a relink of the whole store):
// decimal text, a change sequence at or before that record's change-feed
// entry. The records to revisit are those the change feed names from it.
inline constexpr std::string_view kMetaUnrevisitedFrom = "unrevisited_from";

// "all", or the person ids ascending as decimal gaps joined by ','.
std::string EncodeRevisitScope(const std::vector<uint64_t>& sorted_persons, bool all);
// False if `text` is neither.
bool DecodeRevisitScope(std::string_view text, std::vector<uint64_t>* persons, bool* all);

// Stages LinkRecords and RelinkStore (relink.h) share.

// The model a run scores with, and the one it estimated (to be stored).
struct RunModel {
  Model scoring;
  std::optional<Model> trained;
  bool trained_scores = false;  // `trained` is trusted, so it is `scoring`
};
// With `train` (and candidates to train on) a model is estimated by EM on
// `candidates`; it scores only if its provenance is trusted
// (UntrustedReason). Otherwise `trusted_stored` scores, else the informed
// default priors.
absl::StatusOr<RunModel> ModelForRun(bool train, std::optional<Model> trusted_stored, const ModelSettings& settings,
                                     const std::vector<PreparedRecord>& prepared,
                                     const std::vector<CandidatePair>& candidates, const std::vector<BlockKeys>& keys,
                                     const BlockingRules& rules, TrainingReport* report);
// Annotates `prepared` for `model`, then scores every candidate in
// parallel, capped by the safety rules (safety.h); returns the pairs at or
// above the review threshold, in no particular order.
std::vector<ScoredLink> ScoreCandidates(const Model& model, std::vector<PreparedRecord>* prepared,
                                        std::vector<CandidatePair> candidates);
// The never-link marks between records of `recs`, as index pairs (a < b).
absl::StatusOr<absl::flat_hash_set<std::pair<uint32_t, uint32_t>>> NeverLinkPairs(const index::Store& store,
                                                                                  const std::vector<Record>& recs);
// The stored model, nullopt when the database has none.
absl::StatusOr<std::optional<Model>> LoadModelIfAny(const index::Store& store);

// The stored model, or NotFound when the database has none.
absl::StatusOr<Model> LoadModel(const index::Store& store);

// How the database's records are compared (stored in meta
// "field_conventions" by the first run); defaults when none is stored.
absl::StatusOr<FieldConventions> StoredConventions(const index::Store& store);

// The stored blocking settings, nullopt when the database has none (a new
// database, or one written before they were stored), DataLoss when they do
// not decode or name a rule this version does not know.
absl::StatusOr<std::optional<BlockingSettings>> StoredBlocking(const index::Store& store);

// The key stored in block_keys for a rule's 64-bit key: 16 hex digits.
std::string BlockKeyBytes(uint64_t key);

}  // namespace empi

#endif  // EMPI_LINKAGE_LINKER_H_
