// Copyright EMPI developers.
//
// Batch linkage commands: link, export clusters, export pairs, explain,
// stats. Every read of linked patient data (exports, explain, stats) appends
// one audit event naming who (--as, EMPI_USER or the OS user), why
// (--purpose), the read, its filters and counts. Nothing written shows a
// restricted patient's location: its postcode comparison level is
// "withheld". Output files are created owner-only (0600).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/csv.h"
#include "base/input_file.h"
#include "base/private_file.h"
#include "empi/engine.h"
#include "empi/link.h"
#include "empi/status_macros.h"
#include "engine/cli/command.h"
#include "engine/cli/progress.h"
#include "engine/feed/feed_reader.h"
#include "engine/linkage/linker.h"
#include "engine/linkage/store_check.h"
#include "engine/linkage/store_events.h"
#include "engine/linkage/supersession.h"
#include "engine/realtime/engine_internal.h"
#include "fmt/format.h"
#include "index/store.h"
#include "matchers/date_of_birth.h"

namespace empi::cli {
namespace {

// One CSV field, quoted where needed.
std::string CsvField(std::string_view v) {
  std::string out;
  AppendCsvField(v, &out);
  return out;
}

// Opens an existing database. Reads that are audited need it writable (the
// audit trail is appended to).
absl::StatusOr<std::unique_ptr<index::Store>> OpenExisting(const std::string& db, bool read_only) {
  EMPI_RETURN_IF_ERROR(CheckDbPath(db));
  index::StoreOptions options;
  options.create_if_missing = false;
  options.read_only = read_only;
  auto store = index::Store::Open(db, options);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        fmt::format("cannot open database {}: {}", db, std::string(store.status().message())));
  }
  return store;
}

struct LinkFlags {
  CliIdentity who;
  std::string db, mapping, source, date_format = "auto", blocking_rules, quarantine;
  std::vector<std::string> feeds;
  double link_threshold = 0, review_threshold = 0;
  size_t max_block_size = 0;  // 0: the database's stored value, else kDefaultMaxBlockSize
  bool retrain = false;
  uint64_t seed = 42;
};

// A thin front end over empi::LinkFeeds (empi/link.h): flags in, the
// summary printed.
absl::Status RunLink(const LinkFlags& f) {
  EMPI_RETURN_IF_ERROR(CheckDbPath(f.db));
  Progress progress;
  LinkFeedsOptions options;
  options.mapping = f.mapping;
  options.source = f.source;
  options.date_format = f.date_format;
  options.blocking_rules = f.blocking_rules;
  options.quarantine = f.quarantine;
  options.link_threshold = f.link_threshold;
  options.review_threshold = f.review_threshold;
  options.max_block_size = f.max_block_size;
  options.retrain = f.retrain;
  options.seed = f.seed;
  options.requester = f.who.AsRequester();
  options.notice = [](std::string_view line) { std::cerr << line << "\n"; };
  // Hidden overrides, for tests that exercise the bulk path on small data:
  // EMPI_BULK_INGEST_RECORDS (the bulk threshold) and
  // EMPI_BULK_ROUND_RECORDS (records per bulk round).
  for (auto [name, field] : {std::pair{"EMPI_BULK_INGEST_RECORDS", &options.bulk_ingest_records},
                             std::pair{"EMPI_BULK_ROUND_RECORDS", &options.bulk_round_records}}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      if (!absl::SimpleAtoi(v, field) || *field == 0) {
        return absl::InvalidArgumentError(absl::StrCat(name, " is not a positive number"));
      }
    }
  }
  absl::StatusOr<LinkFeedsSummary> run =
      LinkFeeds(options, f.db, f.feeds,
                [&](std::string_view stage, uint64_t done, uint64_t total) { progress.Update(stage, done, total); });
  if (!run.ok()) {
    if (absl::IsInvalidArgument(run.status()) && !DateFormatFromName(f.date_format)) {
      return absl::InvalidArgumentError(fmt::format("--date-format: unknown format \"{}\"", f.date_format));
    }
    return run.status();
  }
  progress.Finish();
  const LinkFeedsSummary& s = *run;
  std::ostream& o = std::cout;
  o << fmt::format("EMPI link summary ({})\n", f.db);
  o << fmt::format("  feeds                 {}\n", s.feeds);
  o << fmt::format("  records read          {}\n", s.records_read);
  if (s.whitespace_lines) o << fmt::format("  whitespace-only lines skipped {}\n", s.whitespace_lines);
  o << fmt::format("  rejected (quarantine) {}{}\n", s.quarantined, s.quarantined ? "  -> " + s.quarantine_path : "");
  o << fmt::format("  invalid fields kept   nhs_number {}, postcode {}, date_of_birth {}, placeholders {}\n",
                   s.invalid_nhs, s.invalid_postcode, s.invalid_date, s.placeholder_values);
  o << fmt::format("  new records           {}\n", s.new_records);
  o << fmt::format("  updated records       {}\n", s.updated_records);
  o << fmt::format("  unchanged records     {}\n", s.unchanged_records);
  o << fmt::format("  stored records compared {}\n", s.stored_records_compared);
  o << fmt::format("  candidate pairs       {}\n", s.candidate_pairs);
  for (const auto& r : s.blocking_rules) {
    o << fmt::format("    {:<32} {} pairs, largest block {}{}\n", r.name, r.pairs, r.largest_block,
                     r.oversized_blocks ? fmt::format(", {} oversized blocks skipped ({} records)", r.oversized_blocks,
                                                      r.oversized_records)
                                        : "");
  }
  if (!s.model_reestimated_reason.empty()) {
    o << fmt::format("  stored model          estimated again: it was {}\n", s.model_reestimated_reason);
  }
  if (s.model_trained) {
    o << fmt::format(
        "  model trained         EM {} iterations{}, {} patterns, u from {} random pairs, "
        "{:.0f} estimated matches in {} candidate pairs\n",
        s.em_iterations, s.em_converged ? " (converged)" : " (not converged)", s.em_patterns, s.u_pairs,
        s.estimated_matches, s.model_candidate_pairs);
  }
  if (!s.model_untrusted_reason.empty()) {
    o << fmt::format(
        "  model NOT TRUSTED     {}: this run scored with the informed default priors; the next "
        "link estimates it again\n",
        s.model_untrusted_reason);
  }
  o << fmt::format("  links made            {}\n", s.links);
  o << fmt::format("  review pairs          {}\n", s.review_pairs);
  if (s.review_existing_persons > 0 && !s.revisit) {
    o << fmt::format("    of two stored persons {}: `empi relink` settles these with the model (docs/matching.md)\n",
                     s.review_existing_persons);
  }
  o << fmt::format("  new persons           {}\n", s.persons_new);
  if (s.revisit) {
    const RelinkSummary& r = *s.revisit;
    o << fmt::format(
        "  revisited             {} records of {} persons{}: {} records moved, {} persons split off, "
        "{} joined another; review pairs among them {} -> {}\n",
        r.records, r.persons_before,
        s.revisit_everything ? " (every stored person: the model was estimated again)" : " near this feed",
        r.moves.size(), r.persons_new, r.persons_removed, r.review_pairs_before, r.review_pairs);
  }
  o << fmt::format("  persons in database   {}\n", s.persons_total);
  if (s.objections_applied) o << fmt::format("  pending objections applied {}\n", s.objections_applied);
  o << fmt::format("  records in database   {}\n", s.records_total);
  o << fmt::format("  wall time             {:.2f} s\n", s.wall_seconds);
  o << fmt::format("  records per second    {:.0f}\n",
                   s.wall_seconds > 0 ? static_cast<double>(s.records_read) / s.wall_seconds : 0);
  o << fmt::format("  peak memory           {:.0f} MiB\n", static_cast<double>(PeakMemoryBytes()) / (1 << 20));
  o << "  stages:";
  for (const auto& [name, secs] : s.stage_seconds) o << fmt::format(" {} {:.2f}s;", name, secs);
  o << "\n";
  return absl::OkStatus();
}

// empi check: the violations on stdout, one a line; the counts on stderr.
absl::Status RunCheck(const std::string& db, size_t max_violations, bool* clean) {
  std::error_code ec;
  if (!std::filesystem::exists(db + "/CURRENT", ec)) {
    return absl::NotFoundError(fmt::format("no database in {}", db));
  }
  EMPI_ASSIGN_OR_RETURN(auto store, OpenExisting(db, /*read_only=*/true));
  index::StoreCheckOptions options;
  options.max_violations = max_violations;
  EMPI_ASSIGN_OR_RETURN(index::StoreCheckReport r, CheckLinkedStore(*store, options));
  for (const std::string& v : r.violations) std::cout << "violation: " << v << "\n";
  if (r.violations_total > r.violations.size()) {
    std::cout << "... and " << r.violations_total - r.violations.size() << " more violations\n";
  }
  std::cout.flush();
  if (!std::cout) return absl::UnavailableError("writing to standard output failed");
  if (r.nhs_marks_pending) {
    std::cerr << "empi check: the NHS index's marks of a relative's number are not judged yet (a store from before "
                 "format version 10); `empi relink` judges them\n";
  }
  std::cerr << fmt::format(
      "empi check {}: {} records, {} persons, {} memberships, {} person views, {} block keys, {} nhs entries, "
      "{} review entries, {} never-link marks, {} pending objections, {} changes, {} view-history, {} "
      "record-history and {} nhs-history entries, {} audit events; {} violations\n",
      db, r.records, r.persons, r.memberships, r.person_views, r.block_keys, r.nhs_entries, r.review_entries,
      r.never_links, r.pending_objections, r.changes, r.view_history, r.record_history, r.nhs_history, r.audit_events,
      r.violations_total);
  *clean = r.ok();
  return absl::OkStatus();
}

absl::Status RunExportClusters(const std::string& db, const std::string& out_path, const CliIdentity& who) {
  EMPI_ASSIGN_OR_RETURN(auto store, OpenExisting(db, /*read_only=*/false));
  absl::flat_hash_map<uint64_t, bool> objection;
  EMPI_RETURN_IF_ERROR(store->ForEachPerson([&](uint64_t id, const index::PersonValue& p) {
    objection[id] = p.objection || p.objection_in_review;
    return true;
  }));
  Output out;
  EMPI_RETURN_IF_ERROR(out.Open(out_path));
  std::ostream& o = out.out();
  o << "source,record_id,person_id,objection\n";
  uint64_t rows = 0;
  EMPI_RETURN_IF_ERROR(store->ForEachRecord([&](const index::StoredRecord& r) {
    ++rows;
    auto it = objection.find(r.person_id);
    o << CsvField(r.record.source) << ',' << CsvField(r.record.record_id) << ',' << r.person_id << ','
      << (it != objection.end() && it->second ? 1 : 0) << '\n';
    return true;
  }));
  EMPI_RETURN_IF_ERROR(out.Close(out_path));
  return AuditRead(store.get(), who, "export clusters",
                   fmt::format("ok: {} records of {} persons; filters: none", rows, objection.size()));
}

absl::StatusOr<std::vector<index::StoredRecord>> AllRecords(const index::Store& store) {
  std::vector<index::StoredRecord> all;
  EMPI_RETURN_IF_ERROR(store.ForEachRecord([&](const index::StoredRecord& r) {
    all.push_back(r);
    return true;
  }));
  return all;
}

// Whether person `pid` holds a restricted record.
absl::StatusOr<bool> PersonRestricted(const index::Store& store, uint64_t pid) {
  EMPI_ASSIGN_OR_RETURN(auto view, store.GetPersonView(pid));
  if (!view) return false;
  for (const index::PersonViewMember& m : view->members) {
    if (m.restricted) return true;
  }
  return false;
}

absl::Status RunExportPairs(const std::string& db, const std::string& out_path, double min_probability,
                            const CliIdentity& who) {
  EMPI_ASSIGN_OR_RETURN(auto store, OpenExisting(db, /*read_only=*/false));
  EMPI_ASSIGN_OR_RETURN(Model model, LoadModel(*store));
  EMPI_ASSIGN_OR_RETURN(FieldConventions conventions, StoredConventions(*store));
  EMPI_ASSIGN_OR_RETURN(const NhsSupersessions supersessions, LoadSupersessions(*store));
  EMPI_ASSIGN_OR_RETURN(auto stored, AllRecords(*store));
  std::vector<PreparedRecord> prepared(stored.size());
  std::vector<BlockKeys> keys(stored.size());
  // The blocking the database's last link used (defaults for databases
  // written before it was stored).
  EMPI_ASSIGN_OR_RETURN(std::optional<BlockingSettings> blocking, StoredBlocking(*store));
  const BlockingSettings settings = blocking.value_or(BlockingSettings{});
  const BlockingRules& rules = settings.rules;
  // Persons holding a restricted record: their pairs' location levels are
  // withheld.
  absl::flat_hash_set<uint64_t> restricted;
  for (const auto& r : stored) {
    if (r.record.restricted) restricted.insert(r.person_id);
  }
  for (size_t i = 0; i < stored.size(); ++i) {
    prepared[i] = PrepareRecord(stored[i].record, conventions);
    supersessions.Apply(&prepared[i]);
    model.Annotate(&prepared[i]);
    keys[i] = ComputeBlockKeys(rules, prepared[i]);
  }
  MarkRelativesNumbers(&prepared);
  BlockingReport report;
  auto pairs = GenerateCandidates(prepared, keys, std::vector<bool>(stored.size(), false), rules,
                                  settings.max_block_size, &report);
  double min_weight = Model::WeightOf(min_probability > 0 ? min_probability : model.settings().review_threshold);
  Output out;
  EMPI_RETURN_IF_ERROR(out.Open(out_path));
  std::ostream& o = out.out();
  o << "source_l,record_id_l,source_r,record_id_r,match_weight,match_probability";
  for (const Comparison& c : Comparisons()) o << ",gamma_" << c.name;
  o << ",person_id_l,person_id_r\n";
  uint64_t exported = 0;
  for (const CandidatePair& p : pairs) {
    double w = model.Weight(p.pattern, prepared[p.a], prepared[p.b]);
    if (w < min_weight) continue;
    ++exported;
    const auto& l = stored[p.a];
    const auto& r = stored[p.b];
    const bool withhold = restricted.contains(l.person_id) || restricted.contains(r.person_id);
    o << CsvField(l.record.source) << ',' << CsvField(l.record.record_id) << ',' << CsvField(r.record.source) << ','
      << CsvField(r.record.record_id)
      << ','
      // The weight less the gammas shown would give the withheld level away.
      << (withhold ? fmt::format("{0},{0}", kWithheld) : fmt::format("{:.4f},{:.8f}", w, Model::Probability(w)));
    for (int c = 0; c < kNumComparisons; ++c) {
      o << ',';
      if (withhold && RevealsLocation(c)) {
        o << kWithheld;
      } else {
        o << GammaOf(p.pattern, c);
      }
    }
    o << ',' << l.person_id << ',' << r.person_id << '\n';
  }
  EMPI_RETURN_IF_ERROR(out.Close(out_path));
  return AuditRead(store.get(), who, "export pairs",
                   fmt::format("ok: {} pairs; filters: min_probability {}", exported,
                               min_probability > 0 ? min_probability : model.settings().review_threshold));
}

absl::StatusOr<std::string> ParseRef(const std::string& ref) {
  size_t colon = ref.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == ref.size()) {
    return absl::InvalidArgumentError(fmt::format("\"{}\" is not SOURCE:ID", ref));
  }
  Record r;
  r.source = ref.substr(0, colon);
  r.record_id = ref.substr(colon + 1);
  return r.Key();
}

absl::Status RunExplain(const std::string& db, const std::string& a_ref, const std::string& b_ref,
                        const CliIdentity& who) {
  EMPI_ASSIGN_OR_RETURN(auto store, OpenExisting(db, /*read_only=*/false));
  EMPI_ASSIGN_OR_RETURN(Model model, LoadModel(*store));
  EMPI_ASSIGN_OR_RETURN(FieldConventions conventions, StoredConventions(*store));
  EMPI_ASSIGN_OR_RETURN(const NhsSupersessions supersessions, LoadSupersessions(*store));
  // As the link prepared the stored records.
  auto prepare = [&](const Record& r) {
    PreparedRecord o = PrepareRecord(r, conventions);
    supersessions.Apply(&o);
    return o;
  };
  PreparedRecord p[2];
  const std::string* refs[2] = {&a_ref, &b_ref};
  uint64_t persons[2];
  std::vector<std::string> keys;
  bool withhold = false;
  for (int i = 0; i < 2; ++i) {
    EMPI_ASSIGN_OR_RETURN(std::string key, ParseRef(*refs[i]));
    EMPI_ASSIGN_OR_RETURN(auto rec, store->GetRecord(key));
    if (!rec) {
      EMPI_RETURN_IF_ERROR(AuditRead(store.get(), who, "explain", "not found", {}, {key}));
      return absl::NotFoundError(fmt::format("no record {}", *refs[i]));
    }
    keys.push_back(key);
    EMPI_ASSIGN_OR_RETURN(bool restricted, PersonRestricted(*store, rec->person_id));
    withhold = withhold || restricted || rec->record.restricted;
    p[i] = prepare(rec->record);
    model.Annotate(&p[i]);
    EMPI_RETURN_IF_ERROR(MarkAsStored(*store, key, &p[i]));
    persons[i] = rec->person_id;
  }
  Explanation e = model.Explain(p[0], p[1], /*withhold_location=*/withhold);
  EMPI_RETURN_IF_ERROR(AuditRead(store.get(), who, "explain", "ok", {persons[0], persons[1]}, keys));
  std::ostream& o = std::cout;
  o << fmt::format("{} (person {})  vs  {} (person {})\n\n", a_ref, persons[0], b_ref, persons[1]);
  auto bar = [](double w) {
    int n = std::min(40, static_cast<int>(std::abs(w) + 0.5));
    return (w < 0 ? std::string(static_cast<size_t>(n), '-') : std::string(static_cast<size_t>(n), '+'));
  };
  double running = e.prior_weight;
  o << fmt::format("{:<16} {:<48} {:>8} {:>9}\n", "comparison", "level (gamma)", "weight", "running");
  o << fmt::format("{:<16} {:<48} {:>+8.2f} {:>+9.2f}  {}\n", "prior",
                   fmt::format("probability_two_random_records_match {:.3g}", model.lambda()), e.prior_weight, running,
                   bar(e.prior_weight));
  for (const ComparisonWeight& c : e.comparisons) {
    const Comparison& spec = Comparisons()[c.comparison];
    if (c.withheld) {
      // A restricted patient: neither the level nor its weight is shown,
      // and it is left out of the running sum (which would give it away).
      o << fmt::format("{:<16} {:<48} {:>8} {:>9}\n", spec.name, kWithheld, kWithheld, "");
      continue;
    }
    running += c.match_weight;
    std::string level = fmt::format("{} ({}){}", spec.levels[c.gamma].label, c.gamma, c.tf_adjusted ? " tf" : "");
    if (c.comparison == comparison::kNhsNumber && (p[0].nhs_relatives || p[1].nhs_relatives)) {
      level += ", a relative's number";
    }
    o << fmt::format("{:<16} {:<48} {:>+8.2f} {:>+9.2f}  {}\n", spec.name, level, c.match_weight, running,
                     bar(c.match_weight));
  }
  if (e.total.safety.safety != PairSafety::kSafe) {
    std::string rule =
        fmt::format("{}: {}", e.total.safety.safety == PairSafety::kReview ? "held for review" : "two people",
                    e.total.safety.reason);
    if (withhold) {
      o << fmt::format("{:<16} {:<48} {:>8} {:>9}  (docs/matching.md)\n", "safety rule", rule, kWithheld, "");
    } else {
      o << fmt::format("{:<16} {:<48} {:>+8.2f} {:>+9.2f}  (docs/matching.md)\n", "safety rule", rule,
                       e.total.match_weight - e.uncapped_weight, e.total.match_weight);
    }
  }
  // The total less the fields shown would give the withheld weight away.
  const std::string total = withhold ? fmt::format("match_weight {0}   match_probability {0}", kWithheld)
                                     : fmt::format("match_weight {:.2f}   match_probability {:.6f}",
                                                   e.total.match_weight, e.total.match_probability);
  o << fmt::format("\n{}   decision: {}\n", total,
                   e.total.match_weight >= model.link_weight()     ? "link"
                   : e.total.match_weight >= model.review_weight() ? "review"
                                                                   : "no link");
  return absl::OkStatus();
}

// Compacts every column family of `db` into one sorted run; prints how many
// families needed it and how long it took.
absl::Status RunCompact(const std::string& db) {
  EMPI_ASSIGN_OR_RETURN(auto store, OpenExisting(db, /*read_only=*/false));
  const auto start = std::chrono::steady_clock::now();
  std::fprintf(stderr, "compacting %s ...\n", db.c_str());
  EMPI_ASSIGN_OR_RETURN(int compacted, store->Compact());
  std::printf("compacted %d column families in %.1f s\n", compacted,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return absl::OkStatus();
}

// NHS numbers, and those that resolve by NHS number refuses: held by
// several persons as their own (Engine::ResolveByNhsNumber).
struct NumberCounts {
  uint64_t numbers = 0, relatives_records = 0, several_persons = 0, refused = 0;
};

absl::StatusOr<NumberCounts> CountNumbers(const index::Store& store) {
  NumberCounts c;
  std::vector<index::Store::NhsHolders> shared;  // numbers on 2 or more records
  EMPI_RETURN_IF_ERROR(store.ForEachNhsHolders([&](uint64_t, const index::Store::NhsHolders& held) {
    ++c.numbers;
    c.relatives_records += held.relatives.size();
    if (held.records.size() > 1) shared.push_back(held);
    return true;
  }));
  auto persons_of = [&](const std::vector<std::string>& keys) -> absl::StatusOr<size_t> {
    EMPI_ASSIGN_OR_RETURN(auto records, store.GetRecords(keys, nullptr));
    absl::flat_hash_set<uint64_t> persons;
    for (const auto& r : records) {
      if (r) persons.insert(r->person_id);
    }
    return persons.size();
  };
  for (const index::Store::NhsHolders& held : shared) {
    EMPI_ASSIGN_OR_RETURN(const size_t holding, persons_of(held.records));
    if (holding < 2) continue;
    ++c.several_persons;
    EMPI_ASSIGN_OR_RETURN(const size_t owning, persons_of(held.Owners()));
    c.refused += owning > 1;
  }
  return c;
}

absl::Status RunStats(const std::string& db, const CliIdentity& who) {
  EMPI_ASSIGN_OR_RETURN(auto store, OpenExisting(db, /*read_only=*/false));
  uint64_t records = 0, persons = 0, objecting = 0, objecting_in_review = 0, review = 0;
  absl::flat_hash_map<std::string, uint64_t> by_source;
  absl::flat_hash_map<uint64_t, uint32_t> size_of;
  EMPI_RETURN_IF_ERROR(store->ForEachRecord([&](const index::StoredRecord& r) {
    ++records;
    ++by_source[r.record.source];
    ++size_of[r.person_id];
    return true;
  }));
  EMPI_RETURN_IF_ERROR(store->ForEachPerson([&](uint64_t, const index::PersonValue& p) {
    ++persons;
    objecting += p.objection;
    objecting_in_review += !p.objection && p.objection_in_review;
    return true;
  }));
  EMPI_RETURN_IF_ERROR(store->ForEachReview([&](std::string_view, std::string_view, const index::ReviewValue&) {
    ++review;
    return true;
  }));
  uint64_t pending_nhs = 0, pending_forms = 0;
  EMPI_RETURN_IF_ERROR(store->ForEachPendingObjection([&](std::string_view key, const index::ObjectionValue&) {
    ++(IsPendingFormKey(key) ? pending_forms : pending_nhs);
    return true;
  }));
  std::map<uint32_t, uint64_t> hist;
  for (const auto& [p, n] : size_of) ++hist[n];
  std::ostream& o = std::cout;
  o << fmt::format("records            {}\npersons            {}\nobjecting persons  {}\n", records, persons,
                   objecting);
  o << fmt::format("  + in review with an objecting person {}\n", objecting_in_review);
  o << fmt::format("pending objections {} by NHS number, {} by form (waiting for the patient's records)\n", pending_nhs,
                   pending_forms);
  o << fmt::format("review pairs       {}\n", review);
  EMPI_ASSIGN_OR_RETURN(const NumberCounts numbers, CountNumbers(*store));
  o << fmt::format(
      "NHS numbers        {}; on records of 2 or more persons {}, of which resolving by the number "
      "refuses {} (held by several persons as their own)\n",
      numbers.numbers, numbers.several_persons, numbers.refused);
  EMPI_ASSIGN_OR_RETURN(const std::optional<std::string> unjudged, store->GetMeta(index::kMetaNhsMarksPending));
  o << fmt::format(
      "  records holding a relative's number {}{}\n", numbers.relatives_records,
      unjudged ? " (not judged yet, a store from before format version 10: `empi relink` judges them)" : "");
  o << "records per source:\n";
  std::map<std::string, uint64_t> sorted(by_source.begin(), by_source.end());
  for (const auto& [s, n] : sorted) o << fmt::format("  {:<12} {}\n", s, n);
  o << "persons by number of records:\n";
  for (const auto& [k, n] : hist) o << fmt::format("  {:>3} records  {}\n", k, n);
  auto model = LoadModel(*store);
  if (model.ok()) {
    o << fmt::format("model: probability_two_random_records_match {:.3g}, link_threshold {}, review_threshold {}\n",
                     model->lambda(), model->settings().link_threshold, model->settings().review_threshold);
    const ModelProvenance& p = model->provenance;
    std::string why = UntrustedReason(p);
    o << fmt::format("model provenance: {}", p.origin.empty() ? "unknown (stored before provenance was)" : p.origin);
    if (p.origin == "trained") {
      o << fmt::format(" {} on {} records, {} candidate pairs, {:.0f} estimated matches, EM {} iterations ({})",
                       p.trained_at, p.records, p.candidate_pairs, p.estimated_matches, p.em_iterations,
                       p.em_converged ? "converged" : "not converged");
    }
    o << (why.empty() ? "; trusted\n" : fmt::format("; NOT TRUSTED: {} (the next link estimates it again)\n", why));
  }
  return AuditRead(store.get(), who, "stats", fmt::format("ok: {} records, {} persons", records, persons));
}

absl::Status RunExportReview(const std::string& db, const std::string& out_path, const CliIdentity& who) {
  EMPI_ASSIGN_OR_RETURN(auto store, OpenExisting(db, /*read_only=*/false));
  uint64_t rows = 0;
  Output out;
  EMPI_RETURN_IF_ERROR(out.Open(out_path));
  std::ostream& o = out.out();
  o << "source_l,record_id_l,source_r,record_id_r,match_weight,match_probability,reason\n";
  EMPI_RETURN_IF_ERROR(store->ForEachReview([&](std::string_view a, std::string_view b, const index::ReviewValue& v) {
    std::string_view sa, ia, sb, ib;
    if (!SplitRecordKey(a, &sa, &ia) || !SplitRecordKey(b, &sb, &ib)) return true;
    ++rows;
    o << CsvField(sa) << ',' << CsvField(ia) << ',' << CsvField(sb) << ',' << CsvField(ib) << ','
      << fmt::format("{:.4f},{:.8f}", v.match_weight, v.match_probability) << ',' << CsvField(v.reason) << '\n';
    return true;
  }));
  EMPI_RETURN_IF_ERROR(out.Close(out_path));
  return AuditRead(store.get(), who, "export review", fmt::format("ok: {} pairs; filters: none", rows));
}

absl::Status RunModelExport(const std::string& db, const std::string& out_path) {
  EMPI_ASSIGN_OR_RETURN(auto store, OpenExisting(db, /*read_only=*/true));
  EMPI_ASSIGN_OR_RETURN(Model model, LoadModel(*store));
  Output out;
  EMPI_RETURN_IF_ERROR(out.Open(out_path));
  out.out() << model.ToJson().dump(2) << '\n';
  return out.Close(out_path);
}

// Replaces (or first sets) the database's model: later links and the
// real-time path score with it. Recorded in the audit trail.
absl::Status RunModelImport(const std::string& db, const std::string& path, const CliIdentity& who) {
  EMPI_ASSIGN_OR_RETURN(const std::string text, ReadInputFile(path, "model"));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(fmt::format("{}: not valid JSON", path));
  auto model = Model::FromJson(j);
  if (!model.ok())
    return absl::InvalidArgumentError(fmt::format("{}: {}", path, std::string(model.status().message())));
  // The user chose this model: later links keep it whatever it was
  // trained on (its other provenance fields stay, for the record).
  model->provenance.origin = "imported";
  EMPI_RETURN_IF_ERROR(CheckDbPath(db));
  index::StoreOptions options;
  EMPI_ASSIGN_OR_RETURN(auto store, index::Store::Open(db, options));
  index::ChangeSet changes = store->NewChangeSet();
  changes.PutModel(model->ToJson().dump());
  index::AuditEvent event = AuditEventFor(who.AsRequester(), "model import");
  event.outcome = "ok";
  return store->Commit(&changes, &event, /*sync=*/true);
}

}  // namespace

void RegisterLinkCommands(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<LinkFlags>();
  CLI::App* link = app.add_subcommand("link", "Link contributor feeds into the persons stored in --db");
  link->add_option("--db", flags->db, "RocksDB directory (created if missing)")->required();
  link->add_option("--mapping", flags->mapping, "JSON mapping for feeds in another layout");
  link->add_option("--source", flags->source, "Source code for feeds without a source column");
  link->add_option("--date-format", flags->date_format, "auto, iso, dd/mm/yyyy or yyyymmdd")->capture_default_str();
  link->add_option("--blocking-rules", flags->blocking_rules,
                   "Comma-separated blocking rule names (default: the database's stored rules, else all)");
  link->add_option("--max-block-size", flags->max_block_size,
                   "Blocks larger than this are skipped (default: the database's stored value, else 300)")
      ->check(CLI::PositiveNumber);
  link->add_option("--link-threshold", flags->link_threshold, "match_probability to link (first run)");
  link->add_option("--review-threshold", flags->review_threshold, "match_probability to review (first run)");
  link->add_option("--quarantine", flags->quarantine, "Quarantine CSV (default DB.quarantine.csv)");
  link->add_option("--seed", flags->seed, "Seed for training")->capture_default_str();
  link->add_flag("--retrain", flags->retrain, "Re-estimate the stored model on this run");
  link->add_option("feeds", flags->feeds, "Feed CSV files")->required();
  AddIdentityFlags(link, &flags->who);
  link->callback([flags, exit_code] {
    absl::Status s = RunLink(*flags);
    *exit_code = s.ok() ? kExitOk : ReportError("link", s);
  });

  CLI::App* exp = app.add_subcommand("export", "Export clusters or scored pairs");
  exp->require_subcommand(1);
  auto db = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto min_p = std::make_shared<double>(0);
  auto who = std::make_shared<CliIdentity>();
  CLI::App* clusters = exp->add_subcommand("clusters", "CSV: source,record_id,person_id,objection");
  clusters->add_option("--db", *db, "Database directory")->required();
  clusters->add_option("-o,--output", *out, "Output file (default stdout)");
  AddIdentityFlags(clusters, who.get());
  clusters->callback([db, out, who, exit_code] {
    absl::Status s = RunExportClusters(*db, *out, *who);
    *exit_code = s.ok() ? kExitOk : ReportError("export clusters", s);
  });
  CLI::App* pairs = exp->add_subcommand("pairs", "CSV of scored candidate pairs with gamma levels");
  pairs->add_option("--db", *db, "Database directory")->required();
  pairs->add_option("-o,--output", *out, "Output file (default stdout)");
  pairs->add_option("--min-probability", *min_p, "Lowest match_probability to export (default review threshold)");
  AddIdentityFlags(pairs, who.get());
  pairs->callback([db, out, min_p, who, exit_code] {
    absl::Status s = RunExportPairs(*db, *out, *min_p, *who);
    *exit_code = s.ok() ? kExitOk : ReportError("export pairs", s);
  });

  CLI::App* review = exp->add_subcommand("review", "CSV of the pairs waiting for a steward, with reasons");
  review->add_option("--db", *db, "Database directory")->required();
  review->add_option("-o,--output", *out, "Output file (default stdout)");
  AddIdentityFlags(review, who.get());
  review->callback([db, out, who, exit_code] {
    absl::Status s = RunExportReview(*db, *out, *who);
    *exit_code = s.ok() ? kExitOk : ReportError("export review", s);
  });

  CLI::App* model = app.add_subcommand("model", "Export or import the stored Fellegi-Sunter model (JSON)");
  model->require_subcommand(1);
  CLI::App* mexport = model->add_subcommand("export", "Write the stored model as JSON");
  mexport->add_option("--db", *db, "Database directory")->required();
  mexport->add_option("-o,--output", *out, "Output file (default stdout)");
  mexport->callback([db, out, exit_code] {
    absl::Status s = RunModelExport(*db, *out);
    *exit_code = s.ok() ? kExitOk : ReportError("model export", s);
  });
  auto model_file = std::make_shared<std::string>();
  CLI::App* mimport = model->add_subcommand("import", "Store a model JSON; later links score with it");
  mimport->add_option("--db", *db, "Database directory (created if missing)")->required();
  mimport->add_option("file", *model_file, "Model JSON")->required();
  AddIdentityFlags(mimport, who.get());
  mimport->callback([db, model_file, who, exit_code] {
    absl::Status s = RunModelImport(*db, *model_file, *who);
    *exit_code = s.ok() ? kExitOk : ReportError("model import", s);
  });

  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* explain = app.add_subcommand("explain", "Waterfall of match weights for two records");
  explain->add_option("--db", *db, "Database directory")->required();
  explain->add_option("records", *refs, "SOURCE:ID SOURCE:ID")->required()->expected(2);
  AddIdentityFlags(explain, who.get());
  explain->callback([db, refs, who, exit_code] {
    absl::Status s = RunExplain(*db, (*refs)[0], (*refs)[1], *who);
    *exit_code = s.ok() ? kExitOk : ReportError("explain", s);
  });

  CLI::App* compact = app.add_subcommand(
      "compact", "Fold a bulk load's files into one sorted run per column family (faster real-time reads)");
  compact->add_option("--db", *db, "Database directory")->required();
  compact->callback([db, exit_code] {
    absl::Status s = RunCompact(*db);
    *exit_code = s.ok() ? kExitOk : ReportError("compact", s);
  });

  CLI::App* check = app.add_subcommand(
      "check", "Check a database's consistency, read-only (exit 0 clean, 65 with the violations listed)");
  check->add_option("--db", *db, "Database directory")->required();
  auto max_shown = std::make_shared<size_t>(20);
  check->add_option("--max-violations", *max_shown, "Violations listed (all are counted)")->capture_default_str();
  check->callback([db, max_shown, exit_code] {
    bool clean = false;
    absl::Status s = RunCheck(*db, *max_shown, &clean);
    *exit_code = !s.ok() ? ReportError("check", s) : clean ? kExitOk : kExitDataErr;
  });

  CLI::App* stats = app.add_subcommand("stats", "Counts of records, persons, review pairs");
  stats->add_option("--db", *db, "Database directory")->required();
  AddIdentityFlags(stats, who.get());
  stats->callback([db, who, exit_code] {
    absl::Status s = RunStats(*db, *who);
    *exit_code = s.ok() ? kExitOk : ReportError("stats", s);
  });
}

}  // namespace empi::cli
