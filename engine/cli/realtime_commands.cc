// Copyright EMPI developers.
//
// Real-time commands: ingest, resolve, search, object, withdraw-objection,
// merge, split, never-link, history, audit verify, audit person. Each opens
// the store through empi::Engine, so every answer is audited exactly as a
// library caller's would be. Output is JSON (one object, or one per line for
// streams); no address or postcode is ever printed.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/csv.h"
#include "base/input_file.h"
#include "base/private_file.h"
#include "empi/engine.h"
#include "empi/status_macros.h"
#include "engine/cli/command.h"
#include "engine/cli/progress.h"
#include "engine/eval/csv_reader.h"
#include "engine/feed/feed_reader.h"
#include "engine/linkage/comparisons.h"
#include "engine/linkage/linker.h"
#include "engine/linkage/store_events.h"
#include "engine/linkage/supersession.h"
#include "engine/realtime/engine_internal.h"
#include "engine/realtime/objection_form.h"
#include "engine/server/fhir.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "index/store.h"
#include "matchers/nhs_number.h"
#include "nlohmann/json.hpp"

namespace empi::cli {
namespace {

struct Flags {
  std::string db, register_file, today;
  CliIdentity id;  // flags
  Requester who;   // resolved from `id` before the command runs
  std::string source, record_id, nhs_number, family_name, given_names, date_of_birth, postcode, sex;
  std::string file, reason, reference, method = "form";
  uint64_t person = 0;
  std::vector<std::string> args;
  size_t limit = 10;
  bool warm_cache = false;              // ingest
  uint64_t since = 0;                   // changes
  bool follow = false;                  // changes
  uint64_t as_of_change = 0;            // resolve, view
  std::string as_of_time;               // resolve, view
  std::string truth, objections_truth;  // check-objections
};

void AddCommon(CLI::App* c, Flags* f) {
  c->add_option("--db", f->db, "Database directory")->required();
  AddIdentityFlags(c, &f->id);
  c->add_option("--register", f->register_file, "Contributor register (CSV source,kind,area or JSON)");
  c->add_option("--today", f->today, "Date ages are computed on, YYYY-MM-DD (default today)");
}

absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(const Flags& f, bool create) {
  EMPI_RETURN_IF_ERROR(CheckDbPath(f.db));
  if (!create && !std::filesystem::exists(std::filesystem::path(f.db) / "CURRENT")) {
    return absl::NotFoundError(fmt::format("database {} does not exist", f.db));
  }
  EngineOptions options;
  options.contributor_register = f.register_file;
  options.today = f.today;
  return Engine::Open(options, f.db);
}

nlohmann::json ResolutionJson(const Resolution& r) {
  nlohmann::json j;
  j["person_id"] = r.person_id;
  j["objection"] = r.objection;
  if (r.objection_in_review) {
    j["objection_in_review"] = true;
  } else if (r.objection) {
    j["objection_time_us"] = r.objection_time_us;
  }
  j["in_scope"] = r.in_scope;
  j["scope_reason"] = r.scope_reason;
  j["restricted"] = r.restricted;
  j["records"] = nlohmann::json::array();
  for (const LinkedRecord& l : r.records) {
    j["records"].push_back({{"source", l.source}, {"record_id", l.record_id}, {"contributor", l.contributor}});
  }
  j["at_change"] = r.at_change;
  j["model_version"] = r.model_version;
  return j;
}

// --as-of-change and --as-of-time, when either is given. The time is RFC
// 3339 (2026-12-04T10:15:00Z) or Unix microseconds (an audit event's time_us).
absl::StatusOr<std::optional<AsOf>> AsOfOf(const Flags& f) {
  if (f.as_of_change == 0 && f.as_of_time.empty()) return std::nullopt;
  AsOf at{f.as_of_change, 0};
  if (!f.as_of_time.empty() && !absl::SimpleAtoi(f.as_of_time, &at.time_us)) {
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, f.as_of_time, &t, &error)) {
      return absl::InvalidArgumentError(
          "--as-of-time: not an RFC 3339 time (2026-12-04T10:15:00Z) or Unix microseconds");
    }
    at.time_us = absl::ToUnixMicros(t);
  }
  if (!f.as_of_time.empty() && at.time_us <= 0) return absl::InvalidArgumentError("--as-of-time: before 1970");
  return at;
}

absl::StatusOr<RecordRef> ParseRef(const std::string& s) {
  size_t colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return absl::InvalidArgumentError(fmt::format("\"{}\": expected SOURCE:RECORD_ID", s));
  }
  return RecordRef{s.substr(0, colon), s.substr(colon + 1)};
}

// A person or event id given on the command line.
absl::StatusOr<uint64_t> ParseId(const std::string& s, std::string_view what) {
  uint64_t id = 0;
  if (!absl::SimpleAtoi(s, &id) || id == 0) {
    return absl::InvalidArgumentError(fmt::format("\"{}\" is not a {} (a positive whole number)", s, what));
  }
  return id;
}

absl::StatusOr<ObjectionMethod> ParseMethod(const std::string& m) {
  if (m == "form") return ObjectionMethod::kForm;
  if (m == "phone") return ObjectionMethod::kPhone;
  if (m == "letter") return ObjectionMethod::kLetter;
  if (m == "online") return ObjectionMethod::kOnline;
  if (m == "steward") return ObjectionMethod::kSteward;
  return absl::InvalidArgumentError(fmt::format("--method: \"{}\" is not form, phone, letter, online or steward", m));
}

// A store whose model is not trusted places records with the informed
// default priors, which are not safe on every population (docs/benchmarks.md,
// "A relative's number, and a second population"). Says so after an ingest,
// with what will estimate it.
void WarnIfModelUntrusted(const Engine& engine, const std::string& db) {
  const ModelInfo model = engine.CurrentModel();
  if (model.trusted()) return;
  std::cerr << fmt::format(
      "model NOT TRUSTED: {}; these records were placed with the informed default priors. An ingest that brings "
      "the store to 1,000 records or more estimates the model on them and relinks them, keeping person ids (too "
      "little evidence: it tries again at twice as many); `empi relink --db {}` does the same on demand\n",
      model.untrusted_reason, db);
}

// After a file: the persons of the records placed since the last revisit
// (this file's, and any a killed run left) and their neighbours relinked
// together (Engine::RevisitIngested), as `empi link` revisits a feed's
// stored neighbours. Skipped, with the NOT TRUSTED warning to follow, while
// the model is untrusted.
absl::Status RevisitFeed(Engine* engine, const Requester& who) {
  if (!engine->CurrentModel().trusted()) return absl::OkStatus();
  EMPI_ASSIGN_OR_RETURN(RevisitResult v, engine->RevisitIngested(who, /*max_placed=*/0));
  if (v.placed == 0) return absl::OkStatus();
  std::cerr << fmt::format(
      "revisited the {} persons of the {} records placed since the last revisit and their neighbours ({} records): "
      "{} records moved, {} new persons, {} persons removed; review pairs among them {} -> {}\n",
      v.persons, v.placed, v.records, v.records_moved, v.persons_new, v.persons_removed, v.review_pairs_before,
      v.review_pairs);
  return absl::OkStatus();
}

absl::Status RunIngest(const Flags& f) {
  std::string path = f.file;
  std::filesystem::path tmp;
  if (path.empty() || path == "-") {
    // The feed reader works on files; stdin is copied to a private temp file.
    tmp = std::filesystem::temp_directory_path() / fmt::format("empi_ingest_{}.csv", ::getpid());
    EMPI_RETURN_IF_ERROR(CreatePrivateFile(tmp.string()));  // patient data: 0600
    std::ofstream out(tmp, std::ios::binary);
    out << std::cin.rdbuf();
    if (!out) return absl::UnavailableError("cannot buffer stdin");
    path = tmp.string();
  }
  auto feed = ReadFeed(path, FeedOptions{});
  if (!tmp.empty()) std::filesystem::remove(tmp);
  if (!feed.ok()) return feed.status();
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, /*create=*/true));
  if (f.warm_cache) {
    const auto start = std::chrono::steady_clock::now();
    EMPI_ASSIGN_OR_RETURN(uint64_t bytes, engine->WarmCache());
    std::cerr << fmt::format("block cache warmed: {:.0f} MiB in {:.1f} s\n", static_cast<double>(bytes) / (1 << 20),
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  for (const QuarantinedRow& q : feed->quarantined) {
    std::cerr << fmt::format("{}:{}: row not ingested: {}\n", f.file.empty() ? "stdin" : f.file, q.line, q.reason);
  }
  // Progress and the summary go to stderr; stdout holds one result per record.
  Progress progress;
  uint64_t outcomes[4] = {}, objections_applied = 0;
  std::optional<uint64_t> moved_by_estimate;  // records the engine's model estimate moved
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < feed->records.size(); ++i) {
    const Record& r = feed->records[i];
    progress.Update("ingest", i, feed->records.size());
    EMPI_ASSIGN_OR_RETURN(IngestResult res, engine->Ingest(r, f.who));
    ++outcomes[static_cast<int>(res.outcome)];
    objections_applied += res.objection_applied;
    nlohmann::json j{{"source", r.source},
                     {"record_id", r.record_id},
                     {"outcome", std::string(IngestOutcomeName(res.outcome))},
                     {"person_id", res.person_id},
                     {"match_probability", res.match_probability}};
    if (!res.reason.empty()) j["reason"] = res.reason;
    if (res.objection_applied) j["objection_applied"] = true;
    if (res.model_estimated) {
      j["model_estimated"] = true;
      moved_by_estimate = res.records_moved;
    }
    std::cout << j.dump() << "\n";
  }
  progress.Finish();
  EMPI_RETURN_IF_ERROR(RevisitFeed(engine.get(), f.who));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << fmt::format(
      "ingested {} records in {:.1f} s ({:.0f}/s, each durable): linked {}, new person {}, review {}, unchanged {}; "
      "pending objections applied {}; rows not ingested {}; whitespace-only lines skipped {}\n",
      feed->records.size(), seconds, seconds > 0 ? static_cast<double>(feed->records.size()) / seconds : 0.0,
      outcomes[static_cast<int>(IngestOutcome::kLinked)], outcomes[static_cast<int>(IngestOutcome::kNewPerson)],
      outcomes[static_cast<int>(IngestOutcome::kReview)], outcomes[static_cast<int>(IngestOutcome::kUnchanged)],
      objections_applied, feed->quarantined.size(), feed->stats.whitespace_lines);
  if (moved_by_estimate) {
    const ModelInfo model = engine->CurrentModel();
    std::cerr << fmt::format(
        "model estimated during this ingest on the {} records then stored ({} EM iterations, converged); every "
        "record relinked with it: {} moved, person ids kept\n",
        model.records, model.em_iterations, *moved_by_estimate);
  }
  WarnIfModelUntrusted(*engine, f.db);
  if (!feed->quarantined.empty()) {
    return absl::InvalidArgumentError(fmt::format("{} rows were not ingested (see above)", feed->quarantined.size()));
  }
  return absl::OkStatus();
}

absl::Status RunResolve(const Flags& f) {
  if (f.nhs_number.empty() && (f.source.empty() || f.record_id.empty())) {
    return absl::InvalidArgumentError("give --source and --record-id, or --nhs-number");
  }
  EMPI_ASSIGN_OR_RETURN(std::optional<AsOf> as_of, AsOfOf(f));
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  absl::StatusOr<Resolution> r = absl::UnknownError("");
  if (!f.nhs_number.empty()) {
    r = as_of ? engine->ResolveByNhsNumberAsOf(f.nhs_number, *as_of, f.who)
              : engine->ResolveByNhsNumber(f.nhs_number, f.who);
  } else {
    r = as_of ? engine->ResolveAsOf(f.source, f.record_id, *as_of, f.who)
              : engine->Resolve(f.source, f.record_id, f.who);
  }
  if (!r.ok()) return r.status();
  std::cout << ResolutionJson(*r).dump(2) << "\n";
  return absl::OkStatus();
}

absl::Status RunView(const Flags& f) {
  if ((f.person == 0) == (f.source.empty() || f.record_id.empty())) {
    return absl::InvalidArgumentError("give --person, or --source and --record-id");
  }
  EMPI_ASSIGN_OR_RETURN(std::optional<AsOf> as_of, AsOfOf(f));
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  absl::StatusOr<ViewDecision> d =
      f.person != 0
          ? (as_of ? engine->MayAssembleViewAsOf(f.person, *as_of, f.who) : engine->MayAssembleView(f.person, f.who))
          : (as_of ? engine->MayAssembleViewForRecordAsOf(f.source, f.record_id, *as_of, f.who)
                   : engine->MayAssembleViewForRecord(f.source, f.record_id, f.who));
  if (!d.ok()) return d.status();
  std::cout << nlohmann::json{{"person_id", d->person_id},
                              {"allowed", d->allowed},
                              {"reason", d->reason},
                              {"at_change", d->at_change},
                              {"model_version", d->model_version}}
                   .dump(2)
            << "\n";
  return absl::OkStatus();
}

absl::Status RunSearch(const Flags& f) {
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  Demographics d{f.nhs_number, f.family_name, f.given_names, f.date_of_birth, f.postcode, f.sex};
  EMPI_ASSIGN_OR_RETURN(auto candidates, engine->Search(d, f.who, f.limit));
  nlohmann::json out = nlohmann::json::array();
  for (const Candidate& c : candidates) {
    nlohmann::json weights = nlohmann::json::array();
    for (const FieldWeight& w : c.weights) {
      if (w.withheld) {
        weights.push_back({{"comparison", w.comparison}, {"gamma", kWithheld}, {"match_weight", kWithheld}});
        continue;
      }
      weights.push_back({{"comparison", w.comparison}, {"gamma", w.gamma}, {"match_weight", w.match_weight}});
    }
    out.push_back({{"person_id", c.person_id},
                   {"record", {{"source", c.best_record.source}, {"record_id", c.best_record.record_id}}},
                   {"match_weight", c.match_weight},
                   {"match_probability", c.match_probability},
                   {"match_grade", std::string(MatchGradeName(c.grade))},
                   {"prior_weight", c.prior_weight},
                   {"comparisons", weights}});
  }
  std::cout << out.dump(2) << "\n";
  return absl::OkStatus();
}

absl::Status RunObjection(const Flags& f, bool object, int* exit_code) {
  EMPI_ASSIGN_OR_RETURN(ObjectionMethod method, ParseMethod(f.method));
  std::vector<ObjectionFormRow> requests;
  if (!f.file.empty()) {
    EMPI_ASSIGN_OR_RETURN(const std::string text, ReadInputFile(f.file, "objection form"));
    EMPI_ASSIGN_OR_RETURN(requests, ParseObjectionForm(text, f.file, method, f.reference));
  } else {
    ObjectionFormRow row;
    row.request = {f.nhs_number, f.family_name, f.given_names, f.date_of_birth, f.postcode, method, f.reference};
    requests.push_back(std::move(row));
  }
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, /*create=*/true));
  bool bad_input = false;
  for (const ObjectionFormRow& row : requests) {
    const uint64_t line = row.line;
    nlohmann::json j;
    if (line != 0) j["line"] = line;
    if (!row.refused.empty()) {
      bad_input = true;
      j["outcome"] = "refused";
      j["reason"] = row.refused;
      std::cout << j.dump() << "\n";
      continue;
    }
    const ObjectionRequest& req = row.request;
    absl::StatusOr<ObjectionResult> res =
        object ? engine->RegisterObjection(req, f.who) : engine->WithdrawObjection(req, f.who);
    if (!res.ok()) {
      if (res.status().code() != absl::StatusCode::kInvalidArgument) return res.status();
      bad_input = true;
      j["outcome"] = "refused";
      j["reason"] = std::string(res.status().message());
    } else {
      j["outcome"] = std::string(ObjectionOutcomeName(res->outcome));
      j["persons"] = res->persons;
      j["reason"] = res->reason;
    }
    std::cout << j.dump() << "\n";
  }
  if (bad_input) *exit_code = kExitDataErr;
  return absl::OkStatus();
}

// Applies a supersession feed row by row: one JSON line per row; a bad
// row is refused on its own, with its line and reason, and makes the exit
// code 65 once every other row is applied.
absl::Status RunSupersede(const Flags& f, int* exit_code) {
  EMPI_ASSIGN_OR_RETURN(const std::string text, ReadInputFile(f.file, "supersession feed"));
  EMPI_ASSIGN_OR_RETURN(std::vector<SupersessionRow> rows, ParseSupersessionFeed(text, f.file));
  // A new index may take the supersessions before any feed.
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, /*create=*/true));
  bool bad_input = false;
  uint64_t added = 0, known = 0;
  for (const SupersessionRow& row : rows) {
    nlohmann::json j;
    j["line"] = row.line;
    std::string refused = row.refused;
    if (refused.empty()) {
      absl::StatusOr<SupersessionResult> res =
          engine->Supersede({FormatNhsNumber(row.old_nhs), FormatNhsNumber(row.new_nhs)}, f.who);
      if (!res.ok() && res.status().code() != absl::StatusCode::kInvalidArgument) return res.status();
      if (res.ok()) {
        j["outcome"] = res->added ? "added" : "already known";
        j["persons"] = res->persons;
        j["review_pairs"] = res->review_pairs;
        if (res->objection_extended) j["objection_extended"] = true;
        if (res->pending_moved) j["pending_objection_moved"] = true;
        ++(res->added ? added : known);
      } else {
        refused = std::string(res.status().message());
      }
    }
    if (!refused.empty()) {
      bad_input = true;
      j["outcome"] = "refused";
      j["reason"] = refused;
      std::cerr << fmt::format("{}:{}: row refused: {}\n", f.file, row.line, refused);
    }
    std::cout << j.dump() << "\n";
  }
  std::cerr << fmt::format("supersessions: {} rows, {} added, {} already known, {} refused\n", rows.size(), added,
                           known, rows.size() - added - known);
  if (bad_input) *exit_code = kExitDataErr;
  return absl::OkStatus();
}

absl::Status RunMerge(const Flags& f) {
  if (f.args.size() != 2) return absl::InvalidArgumentError("merge takes two person ids");
  EMPI_ASSIGN_OR_RETURN(uint64_t a, ParseId(f.args[0], "person id"));
  EMPI_ASSIGN_OR_RETURN(uint64_t b, ParseId(f.args[1], "person id"));
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  EMPI_ASSIGN_OR_RETURN(uint64_t event, engine->Merge(a, b, f.who, f.reason));
  std::cout << nlohmann::json{{"person_id", a}, {"merged", b}, {"merge_event", event}}.dump() << "\n";
  return absl::OkStatus();
}

absl::Status RunSplit(const Flags& f) {
  std::vector<RecordRef> refs;
  for (const auto& a : f.args) {
    EMPI_ASSIGN_OR_RETURN(RecordRef r, ParseRef(a));
    refs.push_back(r);
  }
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  EMPI_ASSIGN_OR_RETURN(uint64_t pid, engine->Split(f.person, refs, f.who, f.reason));
  std::cout << nlohmann::json{{"person_id", f.person}, {"new_person_id", pid}}.dump() << "\n";
  return absl::OkStatus();
}

absl::Status RunUnmerge(const Flags& f) {
  if (f.args.size() != 1) return absl::InvalidArgumentError("unmerge takes one merge event id");
  EMPI_ASSIGN_OR_RETURN(uint64_t event, ParseId(f.args[0], "merge event id"));
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  EMPI_ASSIGN_OR_RETURN(uint64_t pid, engine->Unmerge(f.person, event, f.who));
  std::cout << nlohmann::json{{"person_id", f.person}, {"restored_person_id", pid}}.dump() << "\n";
  return absl::OkStatus();
}

absl::Status RunNeverLink(const Flags& f) {
  if (f.args.size() != 2) return absl::InvalidArgumentError("never-link takes two SOURCE:RECORD_ID");
  EMPI_ASSIGN_OR_RETURN(RecordRef a, ParseRef(f.args[0]));
  EMPI_ASSIGN_OR_RETURN(RecordRef b, ParseRef(f.args[1]));
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  EMPI_RETURN_IF_ERROR(engine->NeverLink(a, b, f.who, f.reason));
  std::cout << "{\"outcome\":\"ok\"}\n";
  return absl::OkStatus();
}

absl::Status RunHistory(const Flags& f) {
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  EMPI_ASSIGN_OR_RETURN(auto entries, engine->History(f.person, f.who));
  for (const HistoryEntry& e : entries) {
    nlohmann::json j = nlohmann::json::parse(e.json, nullptr, false);
    j["event_id"] = e.sequence;
    std::cout << j.dump() << "\n";
  }
  return absl::OkStatus();
}

// Set by SIGINT or SIGTERM while `empi changes --follow` runs.
volatile std::sig_atomic_t g_stop_following = 0;

// empi changes: the change feed after --since as JSON lines; with --follow,
// long-polls for more until SIGINT or SIGTERM.
absl::Status RunChanges(const Flags& f) {
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  if (f.follow) {
    g_stop_following = 0;
    std::signal(SIGINT, [](int) { g_stop_following = 1; });
    std::signal(SIGTERM, [](int) { g_stop_following = 1; });
  }
  uint64_t since = f.since, shown = 0;
  while (!g_stop_following) {
    const auto wait = f.follow ? std::chrono::milliseconds(500) : std::chrono::milliseconds(0);
    EMPI_ASSIGN_OR_RETURN(std::vector<ChangeEvent> changes, engine->Changes(since, 1000, wait, f.who));
    for (const ChangeEvent& e : changes) std::cout << server::ChangeEventJson(e).dump() << "\n";
    if (!FlushStdout()) return absl::UnavailableError("writing stdout failed");
    shown += changes.size();
    if (!changes.empty()) since = changes.back().sequence;
    if (changes.empty() && !f.follow) break;
  }
  std::cerr << fmt::format("empi changes: {} changes, up to sequence {}\n", shown, since);
  return absl::OkStatus();
}

// The store directly, not an Engine: verification only reads, so it works on
// a read-only copy, and a damaged log (which a read-write open refuses) can
// be examined and quarantined.
absl::StatusOr<std::unique_ptr<index::Store>> OpenStoreForAudit(const Flags& f, bool quarantine) {
  if (!std::filesystem::exists(std::filesystem::path(f.db) / "CURRENT")) {
    return absl::NotFoundError(fmt::format("database {} does not exist", f.db));
  }
  index::StoreOptions options;
  options.create_if_missing = false;
  options.read_only = !quarantine;
  options.quarantine_audit_tail = quarantine;
  options.block_cache_bytes = 8 << 20;
  return index::Store::Open(f.db, options);
}

absl::Status RunAuditVerify(const Flags& f) {
  EMPI_ASSIGN_OR_RETURN(auto store, OpenStoreForAudit(f, /*quarantine=*/false));
  uint64_t n = 0, incomplete = 0;
  EMPI_RETURN_IF_ERROR(store->VerifyAuditChain(&n, &incomplete));
  std::cout << fmt::format("audit chain verified: {} events\n", n);
  if (incomplete > 0) {
    std::cout << fmt::format(
        "incomplete last event after sequence {}: {} bytes, written when a process stopped (after every event the "
        "store anchored); the next read-write open cuts it\n",
        n, incomplete);
  }
  return absl::OkStatus();
}

// Moves a damaged audit log tail aside (index::StoreOptions::
// quarantine_audit_tail) and audits that it did.
absl::Status RunAuditQuarantine(const Flags& f) {
  EMPI_ASSIGN_OR_RETURN(auto store, OpenStoreForAudit(f, /*quarantine=*/true));
  const std::optional<index::AuditQuarantine> q = store->audit_quarantine();
  if (!q.has_value()) {
    std::cout << "audit log intact: nothing quarantined\n";
    return absl::OkStatus();
  }
  const std::string file = q->file.empty() ? "" : std::filesystem::path(q->file).filename().string();
  index::AuditEvent event = AuditEventFor(f.who, "audit-quarantine");
  event.outcome = q->moved_bytes > 0 ? fmt::format("moved {} bytes after sequence {} to {}: {}", q->moved_bytes,
                                                   q->kept_events_up_to, file, q->reason)
                                     : fmt::format("nothing to move; chain continued after sequence {}: {}",
                                                   q->kept_events_up_to, q->reason);
  index::ChangeSet none = store->NewChangeSet();
  uint64_t sequence = 0;
  EMPI_RETURN_IF_ERROR(store->Commit(&none, &event, /*sync=*/true, &sequence));
  std::cout << nlohmann::json{{"kept_events_up_to", q->kept_events_up_to},
                              {"moved_bytes", q->moved_bytes},
                              {"file", file},
                              {"reason", q->reason},
                              {"audit_event", sequence}}
                   .dump()
            << "\n";
  return absl::OkStatus();
}

absl::Status RunAuditPerson(const Flags& f) {
  if (f.args.size() != 1) return absl::InvalidArgumentError("audit person takes one person id");
  EMPI_ASSIGN_OR_RETURN(uint64_t person, ParseId(f.args[0], "person id"));
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, false));
  // Who looked at a person is itself a read of that person's trail.
  EMPI_ASSIGN_OR_RETURN(auto events, engine->ReadAuditTrail(person, f.who));
  for (const auto& e : events) {
    nlohmann::json recs = nlohmann::json::array();
    for (const RecordRef& r : e.records) recs.push_back(fmt::format("{}:{}", r.source, r.record_id));
    nlohmann::json line{
        {"sequence", e.sequence}, {"time_us", e.time_us}, {"requester", e.requester}, {"organisation", e.organisation},
        {"role", e.role},         {"purpose", e.purpose}, {"action", e.action},       {"outcome", e.outcome},
        {"records", recs}};
    if (e.at_change != 0 || !e.model_version.empty()) {
      line["at_change"] = e.at_change;
      line["model_version"] = e.model_version;
      line["as_of"] = e.as_of;
    }
    if (!e.request_id.empty()) line["request_id"] = e.request_id;
    if (!e.correlation_id.empty()) line["correlation_id"] = e.correlation_id;
    std::cout << line.dump() << "\n";
  }
  return absl::OkStatus();
}

// Reads a CSV with the given header into rows of fields, naming file and
// line in errors.
absl::StatusOr<std::vector<std::vector<std::string>>> ReadTable(const std::string& path,
                                                                const std::vector<std::string>& header) {
  EMPI_ASSIGN_OR_RETURN(auto csv, eval::CsvReader::Open(path));
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string_view> fields;
  bool first = true;
  while (true) {
    EMPI_ASSIGN_OR_RETURN(bool more, csv->Next(&fields));
    if (!more) break;
    if (fields.size() != header.size()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: expected {} fields, found {}", csv->Where(), header.size(), fields.size()));
    }
    if (first) {
      first = false;
      if (std::vector<std::string>(fields.begin(), fields.end()) != header) {
        return absl::InvalidArgumentError(fmt::format("{}: header must be {}", csv->Where(), fmt::join(header, ",")));
      }
      continue;
    }
    rows.emplace_back(fields.begin(), fields.end());
  }
  if (first) return absl::InvalidArgumentError(fmt::format("{}: empty file", path));
  return rows;
}

// For every record of every patient who objected (objections truth: the
// generator's objections_truth.csv; records: its truth.csv), asks the engine
// as any other component would: Resolve must carry the objection and
// MayAssembleView must deny. Prints the counts and names (source/record_id
// only) the records that fail. Informational: exits 0 whatever it finds.
absl::Status RunCheckObjections(const Flags& f) {
  EMPI_ASSIGN_OR_RETURN(auto forms, ReadTable(f.objections_truth, {"row", "person"}));
  EMPI_ASSIGN_OR_RETURN(auto truth, ReadTable(f.truth, {"source", "record_id", "person"}));
  absl::flat_hash_set<std::string> objecting;
  for (const auto& row : forms) objecting.insert(row[1]);
  EMPI_ASSIGN_OR_RETURN(auto engine, OpenEngine(f, /*create=*/false));
  struct Miss {
    std::string source, record_id, why;
  };
  std::vector<Miss> misses;
  absl::flat_hash_map<std::string, bool> patient_covered;  // every record so far objects and is denied
  uint64_t records = 0, with_objection = 0, denied = 0;
  for (const auto& row : truth) {
    if (!objecting.contains(row[2])) continue;
    ++records;
    bool ok = true;
    absl::StatusOr<Resolution> res = engine->Resolve(row[0], row[1], f.who);
    if (!res.ok()) {
      if (res.status().code() != absl::StatusCode::kNotFound) return res.status();
      misses.push_back({row[0], row[1], "not stored"});
      ok = false;
    } else if (res->objection) {
      ++with_objection;
    } else {
      misses.push_back({row[0], row[1], fmt::format("person {} has no objection", res->person_id)});
      ok = false;
    }
    EMPI_ASSIGN_OR_RETURN(ViewDecision view, engine->MayAssembleViewForRecord(row[0], row[1], f.who));
    if (!view.allowed) {
      ++denied;
    } else if (ok) {
      misses.push_back({row[0], row[1], "view allowed"});
      ok = false;
    }
    auto [it, inserted] = patient_covered.try_emplace(row[2], ok);
    if (!inserted) it->second = it->second && ok;
  }
  uint64_t covered = 0;
  for (const auto& [p, ok] : patient_covered) covered += ok;
  // The price: records of patients who did not object that carry an
  // objection, read from the store (not audited as lookups).
  absl::flat_hash_map<std::string, std::string> patient_of;
  for (const auto& row : truth) {
    Record k;
    k.source = row[0];
    k.record_id = row[1];
    patient_of.emplace(k.Key(), row[2]);
  }
  absl::flat_hash_map<uint64_t, index::PersonValue> persons;
  EMPI_RETURN_IF_ERROR(StoreOf(engine.get())->ForEachPerson([&](uint64_t pid, const index::PersonValue& p) {
    if (p.objection || p.objection_in_review) persons.emplace(pid, p);
    return true;
  }));
  uint64_t others = 0, others_objecting = 0, others_in_review = 0;
  EMPI_RETURN_IF_ERROR(StoreOf(engine.get())->ForEachRecord([&](const index::StoredRecord& r) {
    auto it = patient_of.find(r.record.Key());
    if (it == patient_of.end() || objecting.contains(it->second)) return true;
    ++others;
    auto p = persons.find(r.person_id);
    if (p != persons.end()) {
      ++others_objecting;
      others_in_review += !p->second.objection;
    }
    return true;
  }));
  std::cout << fmt::format("objecting patients        {}\n", objecting.size())
            << fmt::format("  with records in truth   {}\n", patient_covered.size())
            << fmt::format("  every record covered    {}\n", covered)
            << fmt::format("their records             {}\n", records)
            << fmt::format("  resolve with objection  {}\n", with_objection)
            << fmt::format("  view denied             {}\n", denied)
            << fmt::format("records failing           {}\n", misses.size())
            << fmt::format("other patients' records   {}\n", others)
            << fmt::format("  with an objection       {} ({} held in review)\n", others_objecting, others_in_review);
  for (size_t i = 0; i < misses.size() && i < f.limit; ++i) {
    std::cout << fmt::format("  {}/{}: {}\n", misses[i].source, misses[i].record_id, misses[i].why);
  }
  // The per-record lookups above are audited by the engine; the scan of
  // every record and person is one more read.
  return AuditRead(StoreOf(engine.get()), f.id, "check-objections",
                   fmt::format("ok: {} records of objecting patients, {} failing; {} other records scanned", records,
                               misses.size(), others));
}

// Registers `name` with common flags; `run` is called with the flags.
template <typename Fn>
CLI::App* Add(CLI::App& parent, const char* name, const char* help, int* exit_code, std::shared_ptr<Flags> f, Fn run) {
  CLI::App* c = parent.add_subcommand(name, help);
  AddCommon(c, f.get());
  std::string full = parent.get_parent() == nullptr ? name : fmt::format("{} {}", parent.get_name(), name);
  c->callback([f, exit_code, run, full] {
    *exit_code = kExitOk;
    f->who = Requester{f->id.Requester(), f->id.organisation, f->id.role, f->id.purpose};
    absl::Status s = run(*f, exit_code);
    if (!s.ok()) *exit_code = ReportError(full, s);
  });
  return c;
}

void AddAsOf(CLI::App* c, Flags* f) {
  c->add_option("--as-of-change", f->as_of_change,
                "Answer as the index stood once this change was committed (an audit event's at_change)");
  c->add_option("--as-of-time", f->as_of_time,
                "Answer as the index stood at this time: RFC 3339, or Unix microseconds (an audit event's time_us); "
                "with --as-of-change, the day ages are reckoned on");
}

void AddDemographics(CLI::App* c, Flags* f) {
  c->add_option("--nhs-number", f->nhs_number, "NHS number");
  c->add_option("--family-name", f->family_name, "Family name");
  c->add_option("--given-names", f->given_names, "Given names");
  c->add_option("--date-of-birth", f->date_of_birth, "Date of birth, YYYY-MM-DD");
  c->add_option("--postcode", f->postcode, "Postcode");
}

}  // namespace

void RegisterRealtimeCommands(CLI::App& app, int* exit_code) {
  auto plain = [](absl::Status (*fn)(const Flags&)) { return [fn](const Flags& f, int*) { return fn(f); }; };
  {
    auto f = std::make_shared<Flags>();
    auto* c =
        Add(app, "ingest", "Ingest records one at a time through the real-time path", exit_code, f, plain(RunIngest));
    c->add_option("file", f->file, "Canonical feed CSV, or - for stdin");
    c->add_flag("--warm-cache", f->warm_cache,
                "Read the store's index into the block cache first (worth it for a long feed on a large store)");
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c =
        Add(app, "resolve", "Resolve a record or NHS number to its person (JSON)", exit_code, f, plain(RunResolve));
    c->add_option("--source", f->source, "Contributor code");
    c->add_option("--record-id", f->record_id, "Contributor's record id");
    c->add_option("--nhs-number", f->nhs_number, "NHS number");
    AddAsOf(c, f.get());
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c = Add(app, "view", "Whether a care-record view may be assembled for a person (JSON)", exit_code, f,
                  plain(RunView));
    c->add_option("--person", f->person, "Person id");
    c->add_option("--source", f->source, "Contributor code");
    c->add_option("--record-id", f->record_id, "Contributor's record id");
    AddAsOf(c, f.get());
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c =
        Add(app, "search", "Search persons by demographics (JSON, FHIR match grades)", exit_code, f, plain(RunSearch));
    AddDemographics(c, f.get());
    c->add_option("--sex", f->sex, "Sex");
    c->add_option("--limit", f->limit, "Most candidates returned")->capture_default_str();
  }
  for (bool object : {true, false}) {
    auto f = std::make_shared<Flags>();
    auto* c = Add(app, object ? "object" : "withdraw-objection",
                  object ? "Register a patient's objection" : "Withdraw a patient's objection", exit_code, f,
                  [object](const Flags& fl, int* code) { return RunObjection(fl, object, code); });
    AddDemographics(c, f.get());
    c->add_option("--file", f->file, "CSV: nhs_number,family_name,given_names,date_of_birth,postcode");
    c->add_option("--method", f->method, "form, phone, letter, online or steward")->capture_default_str();
    c->add_option("--reference", f->reference, "Form reference");
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c = Add(app, "supersede", "Apply an NHS number supersession feed (CSV: old_nhs_number,new_nhs_number)",
                  exit_code, f, RunSupersede);
    c->add_option("file", f->file, "Supersession feed CSV")->required();
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c = Add(app, "merge", "Steward: merge the second person into the first", exit_code, f, plain(RunMerge));
    c->add_option("persons", f->args, "PERSON PERSON")->required();
    c->add_option("--reason", f->reason, "Why (kept in history)");
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c = Add(app, "split", "Steward: move records off a person into a new person", exit_code, f, plain(RunSplit));
    c->add_option("--person", f->person, "Person id")->required();
    c->add_option("records", f->args, "SOURCE:RECORD_ID ...")->required();
    c->add_option("--reason", f->reason, "Why (kept in history)");
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c = Add(app, "unmerge", "Steward: undo a merge event (see history)", exit_code, f, plain(RunUnmerge));
    c->add_option("--person", f->person, "Person id")->required();
    c->add_option("event", f->args, "Merge event id")->required();
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c = Add(app, "never-link", "Steward: mark two records never to be linked", exit_code, f, plain(RunNeverLink));
    c->add_option("records", f->args, "SOURCE:RECORD_ID SOURCE:RECORD_ID")->required();
    c->add_option("--reason", f->reason, "Why (kept in history)");
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c = Add(app, "changes",
                  "The change feed: each change to who is who after --since, as JSON lines (person ids and record "
                  "ids, no demographics)",
                  exit_code, f, plain(RunChanges));
    c->add_option("--since", f->since, "Sequence already handled (0: from the start)")->capture_default_str();
    c->add_flag("--follow", f->follow,
                "Keep waiting for more until SIGINT or SIGTERM (holds the store: to follow a store a service has "
                "open, use its GET /changes)");
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c = Add(app, "history", "A person's history of links made and broken", exit_code, f, plain(RunHistory));
    c->add_option("--person", f->person, "Person id")->required();
  }
  {
    auto f = std::make_shared<Flags>();
    f->limit = 20;
    auto* c = Add(app, "check-objections",
                  "Check that every record of every objecting patient resolves with the objection and is denied a view",
                  exit_code, f, plain(RunCheckObjections));
    c->add_option("--truth", f->truth, "truth.csv: source,record_id,person")->required();
    c->add_option("--objections-truth", f->objections_truth, "objections_truth.csv: row,person")->required();
    c->add_option("--max-listed", f->limit, "How many failing records to name")->capture_default_str();
  }
  CLI::App* audit = app.add_subcommand("audit", "Audit trail");
  audit->require_subcommand(1);
  {
    auto f = std::make_shared<Flags>();
    Add(*audit, "verify", "Verify the audit hash chain (opens the store read-only)", exit_code, f,
        plain(RunAuditVerify));
  }
  {
    auto f = std::make_shared<Flags>();
    Add(*audit, "quarantine-tail",
        "Move a damaged audit log tail aside into audit.log.damaged-<time> in the store, kept as evidence, and "
        "continue the chain (audited)",
        exit_code, f, plain(RunAuditQuarantine));
  }
  {
    auto f = std::make_shared<Flags>();
    auto* c = Add(*audit, "person", "Who looked at a person's records, and when", exit_code, f, plain(RunAuditPerson));
    c->add_option("person", f->args, "Person id")->required();
  }
}

}  // namespace empi::cli
