// Copyright EMPI developers.
//
// LinkFeeds (empi/link.h): the sequence `empi link` runs. Every feed is
// read and checked before the store is opened; the link itself is one
// atomic write (engine/linkage/linker.h); the objection steps after it are
// each one commit, and each is safe to run again (a crash between them
// leaves work the next link or engine open finishes).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "empi/engine.h"
#include "empi/link.h"
#include "empi/status_macros.h"
#include "engine/feed/feed_reader.h"
#include "engine/feed/mapping.h"
#include "engine/linkage/linker.h"
#include "engine/linkage/model.h"
#include "engine/linkage/relink.h"
#include "engine/realtime/engine_internal.h"
#include "fmt/format.h"
#include "index/store.h"
#include "matchers/date_of_birth.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

namespace empi {
namespace {

// Every feed read, checked and concatenated; nothing stored yet.
struct ReadFeeds {
  std::vector<Record> records;
  std::vector<QuarantinedRow> quarantined;
  FeedStats totals;
  std::optional<FieldConventions> conventions;
};

// Checks one feed's result against the others and adds its counts,
// warnings and quarantined rows to `out`; its records are moved later.
absl::Status Fold(FeedResult* feed, const std::string& path, const std::function<void(std::string)>& notice,
                  ReadFeeds* out) {
  for (const std::string& w : feed->warnings) notice("warning: " + w);
  if (out->conventions && !(*out->conventions == feed->conventions)) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: its mapping compares nhs_number/postcode differently from the other feeds; link it in a separate run",
        path));
  }
  out->conventions = feed->conventions;
  FeedStats& t = out->totals;
  t.rows += feed->stats.rows;
  t.accepted += feed->stats.accepted;
  t.quarantined += feed->stats.quarantined;
  t.invalid_nhs += feed->stats.invalid_nhs;
  t.invalid_postcode += feed->stats.invalid_postcode;
  t.invalid_date += feed->stats.invalid_date;
  t.placeholder_values += feed->stats.placeholder_values;
  t.whitespace_lines += feed->stats.whitespace_lines;
  out->quarantined.insert(out->quarantined.end(), feed->quarantined.begin(), feed->quarantined.end());
  return absl::OkStatus();
}

// Feeds are parsed on every core, a few at a time, and checked on the
// calling thread in the order given, so the warnings, progress and first
// error are those of reading them one by one. Their records are moved into
// one vector sized once at the end: growing it feed by feed copied it
// again at every doubling (at 10M records, gigabytes).
absl::StatusOr<ReadFeeds> ReadAll(const std::vector<std::string>& feeds, const FeedOptions& feed_options,
                                  const LinkProgress& progress, const std::function<void(std::string)>& notice) {
  ReadFeeds out;
  std::vector<std::vector<Record>> records(feeds.size());
  const size_t window = 2 * static_cast<size_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
  std::vector<std::optional<absl::StatusOr<FeedResult>>> read(window);
  for (size_t b = 0; b < feeds.size(); b += window) {
    if (progress) progress("read feeds", b, feeds.size());
    const size_t e = std::min(feeds.size(), b + window);
    tbb::parallel_for(b, e, [&](size_t i) { read[i - b] = ReadFeed(feeds[i], feed_options); });
    for (size_t i = b; i < e; ++i) {
      absl::StatusOr<FeedResult>& r = *read[i - b];
      if (!r.ok()) return r.status();
      EMPI_RETURN_IF_ERROR(Fold(&*r, feeds[i], notice, &out));
      records[i] = std::move(r->records);
      read[i - b].reset();
    }
  }
  size_t total = 0;
  for (const auto& r : records) total += r.size();
  out.records.reserve(total);
  for (auto& r : records) {
    out.records.insert(out.records.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    r = {};
  }
  if (progress) progress("read feeds", feeds.size(), feeds.size());
  return out;
}

// A key repeated across feeds of one run: the later row is the update.
// Returns how many earlier rows were dropped.
uint64_t KeepLastOfEachKey(std::vector<Record>* records) {
  // Keyed by views of the records' own (source, record_id): no key is built.
  using KeyView = std::pair<std::string_view, std::string_view>;
  const auto key = [&](size_t i) { return KeyView((*records)[i].source, (*records)[i].record_id); };
  absl::flat_hash_map<KeyView, size_t> last;
  last.reserve(records->size());
  for (size_t i = 0; i < records->size(); ++i) last[key(i)] = i;
  if (last.size() == records->size()) return 0;
  std::vector<bool> keep(records->size());
  for (const auto& [k, i] : last) keep[i] = true;
  const size_t kept = last.size();
  last = {};  // its views are into the records, which move next
  std::vector<Record> unique;
  unique.reserve(kept);
  for (size_t i = 0; i < records->size(); ++i) {
    if (keep[i]) unique.push_back(std::move((*records)[i]));
  }
  const uint64_t dropped = records->size() - unique.size();
  *records = std::move(unique);
  return dropped;
}

absl::StatusOr<LinkOptions> ToLinkOptions(const LinkFeedsOptions& o, FieldConventions conventions,
                                          const LinkProgress& progress) {
  LinkOptions options;
  if (o.bulk_ingest_records > 0) options.bulk_ingest_records = o.bulk_ingest_records;
  if (o.bulk_round_records > 0) options.bulk_round_records = o.bulk_round_records;
  options.conventions = conventions;
  if (!o.blocking_rules.empty()) {
    EMPI_ASSIGN_OR_RETURN(options.rules, BlockingRules::FromNames(o.blocking_rules));
  }
  if (o.max_block_size > 0) options.max_block_size = o.max_block_size;
  options.retrain = o.retrain;
  options.settings.seed = o.seed;
  if (o.link_threshold > 0) options.settings.link_threshold = o.link_threshold;
  if (o.review_threshold > 0) options.settings.review_threshold = o.review_threshold;
  options.progress = progress;
  options.requester = o.requester.requester;
  options.organisation = o.requester.organisation;
  options.role = o.requester.role;
  options.purpose = o.requester.purpose;
  return options;
}

void CopyLinkSummary(const LinkSummary& s, LinkFeedsSummary* out) {
  out->new_records = s.new_records;
  out->updated_records = s.updated_records;
  out->unchanged_records = s.unchanged_records;
  out->stored_records_compared = s.stored_records_fetched;
  out->candidate_pairs = s.candidate_pairs;
  for (const BlockingReport::Rule& r : s.blocking.rules) {
    out->blocking_rules.push_back({r.name, r.pairs, r.largest_block, r.oversized_blocks, r.oversized_records});
  }
  out->model_reestimated_reason = s.model_untrusted_reason;
  out->model_trained = s.trained;
  out->em_iterations = s.training.em_iterations;
  out->em_converged = s.training.em_converged;
  out->em_patterns = s.training.em_patterns;
  out->u_pairs = s.training.u_pairs;
  out->estimated_matches = s.model.estimated_matches;
  out->model_candidate_pairs = s.model.candidate_pairs;
  out->model_untrusted_reason = UntrustedReason(s.model);
  out->links = s.links;
  out->review_pairs = s.review_pairs;
  out->review_existing_persons = s.review_existing_persons;
  out->persons_new = s.persons_new;
  out->records_total = s.records_total;
  out->stage_seconds = s.stage_seconds;
}

// The scope of a revisit a crash interrupted (the marker was there before
// this run), empty if none.
struct Interrupted {
  std::vector<uint64_t> persons;
  bool all = false;
};

absl::StatusOr<Interrupted> InterruptedRevisit(const index::Store& store) {
  Interrupted i;
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> marker, store.GetMeta(kMetaRevisitPending));
  if (marker && !DecodeRevisitScope(*marker, &i.persons, &i.all)) {
    return absl::DataLossError("meta \"revisit_pending\": not a revisit scope");
  }
  return i;
}

// After the link: the stored persons near its records relinked with them
// (relink.h), so that evidence arriving now can undo a link made before
// it, with those of a revisit a crash interrupted.
absl::Status Revisit(index::Store* store, const LinkSummary& s, const Interrupted& interrupted, const Requester& who,
                     const LinkProgress& progress, LinkFeedsSummary* out) {
  absl::flat_hash_set<uint64_t> scope(s.revisit_persons.begin(), s.revisit_persons.end());
  scope.insert(interrupted.persons.begin(), interrupted.persons.end());
  out->revisit_everything = interrupted.all || s.revisit_all;
  if (scope.empty() && !out->revisit_everything) return absl::OkStatus();
  if (out->revisit_everything) {
    EMPI_RETURN_IF_ERROR(store->ForEachPerson([&](uint64_t pid, const index::PersonValue&) {
      scope.insert(pid);
      return true;
    }));
  }
  RelinkOptions options;
  options.requester = who;
  absl::StatusOr<RelinkSummary> r = RelinkStore(store, options, progress, &scope);
  // No trusted model to revisit with (an interrupted revisit, and a model
  // estimated since on too little): the marker stays for a later link.
  if (absl::IsFailedPrecondition(r.status())) return absl::OkStatus();
  EMPI_RETURN_IF_ERROR(r.status());
  out->revisit = *std::move(r);
  return absl::OkStatus();
}

// After the link: objections registered before these patients' records
// arrived, and the review pairs the run made or ended. Demographic forms
// are matched by the real-time engine, which needs the store to itself, so
// `*store` may be closed and `*engine` opened in its place. Returns how many
// pending objections were applied.
absl::StatusOr<uint64_t> ApplyObjections(const std::string& db_path, const Requester& who,
                                         std::unique_ptr<index::Store>* store, std::unique_ptr<Engine>* engine) {
  // Settles the link's objection-in-review flags first.
  EMPI_ASSIGN_OR_RETURN(uint64_t applied, ApplyPendingObjections(store->get(), who));
  bool forms = false;
  EMPI_RETURN_IF_ERROR((*store)->ForEachPendingObjection([&](std::string_view key, const index::ObjectionValue&) {
    forms = IsPendingFormKey(key);
    return !forms;
  }));
  if (!forms) return applied;
  store->reset();
  EMPI_ASSIGN_OR_RETURN(*engine, Engine::Open(EngineOptions{}, db_path));
  EMPI_ASSIGN_OR_RETURN(uint64_t n, (*engine)->ApplyPendingForms(who));
  return applied + n;
}

}  // namespace

absl::StatusOr<LinkFeedsSummary> LinkFeeds(const LinkFeedsOptions& options, const std::string& db_path,
                                           const std::vector<std::string>& feeds, const LinkProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  if (std::filesystem::exists(db_path, ec) && !std::filesystem::is_directory(db_path, ec)) {
    return absl::InvalidArgumentError(db_path + " is a file, not a database directory");
  }
  LinkFeedsSummary summary;
  auto notice = [&](std::string line) {
    if (options.notice) options.notice(line);
    summary.notices.push_back(std::move(line));
  };
  std::optional<Mapping> mapping;
  if (!options.mapping.empty()) {
    EMPI_ASSIGN_OR_RETURN(mapping, LoadMapping(options.mapping));
  }
  FeedOptions feed_options;
  if (!options.source.empty()) feed_options.source = options.source;
  std::optional<DateFormat> format = DateFormatFromName(options.date_format);
  if (!format) {
    return absl::InvalidArgumentError(fmt::format("date format: unknown format \"{}\"", options.date_format));
  }
  feed_options.date_format = *format;
  feed_options.mapping = mapping ? &*mapping : nullptr;

  // Every feed is read and checked before anything is stored, so a
  // structural fault in any of them leaves the database untouched.
  EMPI_ASSIGN_OR_RETURN(ReadFeeds read, ReadAll(feeds, feed_options, progress, notice));
  summary.repeated_records = KeepLastOfEachKey(&read.records);
  if (summary.repeated_records > 0) {
    notice(fmt::format("note: {} records repeated in a later feed of this run; the later row was used",
                       summary.repeated_records));
  }
  summary.feeds = feeds.size();
  summary.records_read = read.totals.rows;
  summary.whitespace_lines = read.totals.whitespace_lines;
  summary.quarantined = read.totals.quarantined;
  summary.invalid_nhs = read.totals.invalid_nhs;
  summary.invalid_postcode = read.totals.invalid_postcode;
  summary.invalid_date = read.totals.invalid_date;
  summary.placeholder_values = read.totals.placeholder_values;
  summary.quarantine_path = options.quarantine.empty() ? db_path + ".quarantine.csv" : options.quarantine;
  if (!read.quarantined.empty()) EMPI_RETURN_IF_ERROR(WriteQuarantine(summary.quarantine_path, read.quarantined));

  EMPI_ASSIGN_OR_RETURN(LinkOptions link_options,
                        ToLinkOptions(options, read.conventions.value_or(FieldConventions{}), progress));
  index::StoreOptions store_options;
  store_options.bulk_load = read.records.size() >= link_options.bulk_ingest_records;
  EMPI_ASSIGN_OR_RETURN(std::unique_ptr<index::Store> store, index::Store::Open(db_path, store_options));
  EMPI_ASSIGN_OR_RETURN(const Interrupted interrupted, InterruptedRevisit(*store));
  EMPI_ASSIGN_OR_RETURN(LinkSummary s, LinkRecords(store.get(), std::move(read.records), link_options));
  CopyLinkSummary(s, &summary);
  EMPI_RETURN_IF_ERROR(Revisit(store.get(), s, interrupted, options.requester, progress, &summary));

  std::unique_ptr<Engine> engine;
  EMPI_ASSIGN_OR_RETURN(summary.objections_applied, ApplyObjections(db_path, options.requester, &store, &engine));
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  index::Store* linked = store ? store.get() : StoreOf(engine.get());
  EMPI_RETURN_IF_ERROR(linked->ForEachPerson([&](uint64_t, const index::PersonValue&) {
    ++summary.persons_total;
    return true;
  }));
  return summary;
}

}  // namespace empi
