// Copyright EMPI developers.
//
// link.h: batch linking as a library call, the whole of `empi link`.
//
// LinkFeeds reads every feed (CSV files, with an optional column mapping),
// checks them all before anything is stored, links their records into the
// store at `db_path` (creating it if missing) with the probabilistic model
// (estimating it when the store has none), then brings patients'
// objections up to date: pending objections by NHS number, the "objection
// holds in review" flags, and pending demographic objection forms. It
// returns what happened as a LinkFeedsSummary, the numbers `empi link`
// prints.
//
//   empi::LinkFeedsOptions options;
//   options.requester = {"nightly-link", "local", "operator", "operations"};
//   auto summary = empi::LinkFeeds(options, "/data/empi", {"gp.csv", "rkb.csv"},
//       [](std::string_view stage, uint64_t done, uint64_t total) { /* a progress bar */ });
//   if (!summary.ok()) return summary.status();
//   std::printf("%llu links\n", static_cast<unsigned long long>(summary->links));
//
// A link is all or nothing: a feed with a structural fault, or a failure
// while writing, leaves the store as it was (the store's own crash safety
// covers a process that dies). Patient data never reaches a notice or an
// error message: they name files, lines, columns and counts only.
//
// Thread-safety: LinkFeeds opens the store itself and holds it for the
// whole run, so no Engine may have the same store open meanwhile (the call
// fails with the store's lock error). Calls on different stores may run
// concurrently. The callbacks are called from the calling thread.
#ifndef EMPI_LINK_H_
#define EMPI_LINK_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "empi/results.h"

namespace empi {

struct LinkFeedsOptions {
  // Behaviour
  // A JSON column mapping for feeds not in EMPI's own CSV layout (see
  // docs/feeds.md). Default: empty, the feeds use EMPI's layout.
  std::string mapping;
  // The contributor code of every record, for feeds without a source
  // column. Default: empty, from the feed.
  std::string source;
  // How dates of birth are written: "auto", "iso", "dd/mm/yyyy" or
  // "yyyymmdd". Default: "auto" (detected per feed).
  std::string date_format = "auto";
  // Blocking rules by name, comma separated. Default: empty, the store's
  // stored rules (the default rules for a new store). Rules differing from
  // the stored ones of a store with records are refused.
  std::string blocking_rules;
  // Where rows rejected by the feed reader are written (CSV, owner-only).
  // Default: empty, "<db_path>.quarantine.csv". Written only when a row is
  // rejected.
  std::string quarantine;
  // Match probabilities at or above which a pair links, and at or above
  // which a pair not linked goes to review, for a model estimated by this
  // run (a new store, or retrain). Default: 0, meaning 0.999 and 0.5.
  double link_threshold = 0;
  double review_threshold = 0;
  // Re-estimate the stored model. Default: false.
  bool retrain = false;
  // Seed of the random pairs the model's u probabilities come from.
  // Default: 42.
  uint64_t seed = 42;
  // Who runs the link and why, recorded in its audit events.
  Requester requester{"empi link", "local", "operator", "operations"};
  // Called with each notice for the operator as it arises, one line each:
  // "warning: <feed>: ..." (an unknown column ignored, ...) or "note: ..."
  // (records repeated across feeds: the later row is used). Default: none;
  // the notices are also in LinkFeedsSummary::notices.
  std::function<void(std::string_view line)> notice;

  // Performance
  // Records read per blocking key. Default: 0, the store's stored value
  // (300 for a new store); another value applies from this run on.
  size_t max_block_size = 0;
  // At or above this many records, the run is written by one atomic bulk
  // load of sorted files instead of one write batch. Default: 0 (100,000).
  size_t bulk_ingest_records = 0;
  // Records per bulk-load round (bounds its memory). Default: 0 (250,000).
  size_t bulk_round_records = 0;
};

// One blocking rule's share of the candidate pairs.
struct LinkBlockingRuleSummary {
  std::string name;
  uint64_t pairs = 0;              // new pairs this rule contributed
  uint64_t largest_block = 0;      // records
  uint64_t oversized_blocks = 0;   // skipped: larger than max_block_size
  uint64_t oversized_records = 0;  // records in those blocks
};

// A record whose person changes.
struct RelinkMove {
  std::string source, record_id;
  uint64_t from_person = 0, to_person = 0;
};

struct RelinkSummary {
  uint64_t records = 0;  // records scored again: every stored record (a revisit: its persons')
  uint64_t candidate_pairs = 0;
  // The model that scored: estimated by this run (EM), or the stored one.
  bool model_trained = false;
  std::string model_reestimated_reason;  // why the stored model was not used; empty when it was
  int em_iterations = 0;
  bool em_converged = false;
  double estimated_matches = 0;
  uint64_t links = 0;  // links applied in clustering
  uint64_t review_pairs_before = 0, review_pairs = 0;
  uint64_t persons_before = 0, persons_after = 0;
  uint64_t persons_unchanged = 0;     // same id, same records
  uint64_t persons_pinned = 0;        // a steward's merge, split or unmerge: kept together
  uint64_t persons_new = 0;           // split off, with new ids
  uint64_t persons_removed = 0;       // every record joined another person
  uint64_t objections_inherited = 0;  // persons that now object: an objecting person's record joined them
  std::vector<RelinkMove> moves;      // in record key order
  // Records whose NHS number was judged again: now a relative's number, or
  // no longer one (the marks answers by NHS number follow).
  uint64_t nhs_marks_changed = 0;
  bool applied = false;  // written (false for a dry run, or when nothing moves and the review queue is unchanged)
  double wall_seconds = 0;
  std::vector<std::pair<std::string, double>> stage_seconds;  // in order
};

struct LinkFeedsSummary {
  // Reading
  uint64_t feeds = 0;
  uint64_t records_read = 0;      // data rows of every feed
  uint64_t whitespace_lines = 0;  // lines of blanks only, skipped
  uint64_t quarantined = 0;       // rows rejected, written to quarantine_path
  std::string quarantine_path;
  uint64_t invalid_nhs = 0, invalid_postcode = 0, invalid_date = 0;  // kept on the record
  uint64_t placeholder_values = 0;
  uint64_t repeated_records = 0;     // keys repeated in a later feed of this run
  std::vector<std::string> notices;  // as given to LinkFeedsOptions::notice

  // Linking
  uint64_t new_records = 0, updated_records = 0, unchanged_records = 0;
  uint64_t stored_records_compared = 0;  // stored neighbours compared against
  uint64_t candidate_pairs = 0;
  std::vector<LinkBlockingRuleSummary> blocking_rules;
  // Why the stored model was estimated again; empty when it was kept.
  std::string model_reestimated_reason;
  // The model was estimated by this run (EM), with these figures.
  bool model_trained = false;
  int em_iterations = 0;
  bool em_converged = false;
  uint64_t em_patterns = 0;
  uint64_t u_pairs = 0;          // random pairs compared for u
  double estimated_matches = 0;  // of the model's candidate pairs
  uint64_t model_candidate_pairs = 0;
  // Why the model this run scored with is not to be trusted (the next link
  // estimates it again); empty when it is.
  std::string model_untrusted_reason;
  uint64_t links = 0;         // links made
  uint64_t review_pairs = 0;  // pairs put in review by this run
  // Of them, pairs of two stored persons, which a link never joins by itself
  // ("existing persons"); empi::Relink settles them.
  uint64_t review_existing_persons = 0;
  uint64_t persons_new = 0;
  // The revisit after the link: the stored persons near this run's records
  // relinked with them, so that a record arriving now can undo a link made
  // before it (docs/matching.md, "The revisit after every link"). Absent
  // when no stored record was compared or the model is not trusted. A
  // revisit an earlier link did not finish (a crash) is done with it.
  // `records` is every stored record when the model was estimated again
  // (revisit_everything).
  std::optional<RelinkSummary> revisit;
  bool revisit_everything = false;

  // Afterwards
  uint64_t objections_applied = 0;  // pending objections (NHS number and forms)
  uint64_t persons_total = 0;       // persons in the store
  uint64_t records_total = 0;       // records in the store
  double wall_seconds = 0;
  std::vector<std::pair<std::string, double>> stage_seconds;  // in order
};

// Called from the calling thread as work proceeds: a stage name ("read
// feeds", "prepare", "block", ...) and units done out of `total` (0 when
// unknown).
using LinkProgress = std::function<void(std::string_view stage, uint64_t done, uint64_t total)>;

// Links `feeds` (file paths, read in order; a record repeated in a later
// feed replaces the earlier row) into the store at `db_path`. Returns the
// summary, or:
//   NotFound        a feed or the mapping file cannot be opened;
//   InvalidArgument a structural fault in a feed or the mapping (file, line
//                   and column named), an unknown date format or blocking
//                   rule, feeds whose mappings compare fields differently,
//                   or a db_path that is a file;
//   DataLoss        a feed that is not UTF-8, or a damaged store;
//   FailedPrecondition blocking rules differing from the store's;
//   Unavailable     the store cannot be opened (locked by another process)
//                   or written.
// On any error the store holds what it held before the call.
absl::StatusOr<LinkFeedsSummary> LinkFeeds(const LinkFeedsOptions& options, const std::string& db_path,
                                           const std::vector<std::string>& feeds,
                                           const LinkProgress& progress = nullptr);

// Relinking: the whole store scored again with its model (or a model
// estimated again on every stored record), and its persons rebuilt as one
// link of every record would build them, with person ids kept wherever a
// person's records stay together. A store whose first links were scored
// with a model trained on too little evidence (or the informed default
// priors) is brought to what one run would give; see docs/matching.md,
// "Relinking".
//
// What is kept: a person a steward merged, split or unmerged keeps its
// records together and is never joined to another such person; never-link
// marks hold; an objection follows every record of an objecting person
// into whichever person it joins (an objection is never lost). Each person
// keeps its id if it keeps the largest share of its records; persons split
// off get new ids; persons whose records all join others are removed. The
// review queue is rebuilt from the new scores.
//
//   empi::RelinkOptions options;
//   options.dry_run = true;  // what would move, nothing written
//   auto summary = empi::Relink(options, "/data/empi");
//   for (const empi::RelinkMove& m : summary->moves) { /* show a steward */ }
struct RelinkOptions {
  // Estimate the model again on every stored record, even if the stored
  // one is trusted. Default: false (the stored model scores when trusted,
  // else it is estimated again).
  bool retrain = false;
  // Work out and report what would change, writing nothing but the audit
  // event of the read. Default: false.
  bool dry_run = false;
  // For a model estimated by this run: the seed of its u pairs and its
  // thresholds (0: 0.999 and 0.5), as in LinkFeedsOptions.
  uint64_t seed = 42;
  double link_threshold = 0;
  double review_threshold = 0;
  // Who relinks and why, recorded in the audit event and persons' histories.
  Requester requester{"empi relink", "local", "operator", "operations"};
  std::string reason = "every stored record scored again (empi relink)";
};

// Relinks the store at `db_path` (which must exist). Returns the summary,
// or: NotFound (no database there); FailedPrecondition when no trusted
// model results (too few records for EM: relinking with the default priors
// would undo what a trained model will do better later); DataLoss (a
// damaged store); Unavailable (locked by another process, or not
// writable). One atomic, synced write: a crash leaves the store as it was
// or wholly relinked, and relinking again changes nothing more.
absl::StatusOr<RelinkSummary> Relink(const RelinkOptions& options, const std::string& db_path,
                                     const LinkProgress& progress = nullptr);

}  // namespace empi

#endif  // EMPI_LINK_H_
