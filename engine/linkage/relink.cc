// Copyright EMPI developers.
#include "engine/linkage/relink.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "empi/status_macros.h"
#include "engine/linkage/clustering.h"
#include "engine/linkage/linker.h"
#include "engine/linkage/store_events.h"
#include "engine/linkage/supersession.h"
#include "nlohmann/json.hpp"
#include "tbb/parallel_for.h"

namespace empi {
namespace {

using Clock = std::chrono::steady_clock;

// Every stored record, in key order, with its person.
struct StoredSet {
  std::vector<Record> records;
  std::vector<uint64_t> person;
};

// Every stored record, or every record of `scope`'s persons, in key order.
absl::StatusOr<StoredSet> ReadStored(const index::Store& store, const absl::flat_hash_set<uint64_t>* scope) {
  StoredSet s;
  if (scope == nullptr) {
    EMPI_RETURN_IF_ERROR(store.ForEachRecord([&](const index::StoredRecord& r) {
      s.records.push_back(r.record);
      s.person.push_back(r.person_id);
      return true;
    }));
    return s;
  }
  std::vector<std::string> keys;
  for (uint64_t pid : *scope) {
    EMPI_ASSIGN_OR_RETURN(std::vector<std::string> members, store.PersonRecords(pid));
    keys.insert(keys.end(), std::make_move_iterator(members.begin()), std::make_move_iterator(members.end()));
  }
  std::sort(keys.begin(), keys.end());
  EMPI_ASSIGN_OR_RETURN(auto records, store.GetRecords(keys, nullptr));
  for (auto& r : records) {
    if (!r) continue;
    s.records.push_back(std::move(r->record));
    s.person.push_back(r->person_id);
  }
  return s;
}

// Persons whose records a steward decided: merged, split or unmerged;
// among `scope`'s persons when given.
absl::StatusOr<absl::flat_hash_set<uint64_t>> StewardPersons(const index::Store& store,
                                                             const absl::flat_hash_set<uint64_t>* scope) {
  absl::flat_hash_set<uint64_t> pinned;
  absl::Status bad;
  auto read = [&](uint64_t person, std::string_view json) {
    // Most events are links and ingests: parse only those that can name a
    // steward's decision ("unmerge" contains "merge").
    if (json.find("merge") == std::string_view::npos && json.find("split") == std::string_view::npos) return true;
    nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      bad = absl::DataLossError(absl::StrCat("history: an event of person ", person, " is not JSON"));
      return false;
    }
    const std::string event = j.value("event", "");
    if (event == "merge" || event == "split" || event == "unmerge") pinned.insert(person);
    return true;
  };
  if (scope == nullptr) {
    EMPI_RETURN_IF_ERROR(store.ForEachHistoryEvent(
        [&](uint64_t person, uint64_t, std::string_view json) { return read(person, json); }));
  } else {
    for (uint64_t pid : *scope) {
      EMPI_RETURN_IF_ERROR(store.ForEachHistory(pid, [&](uint64_t, std::string_view json) { return read(pid, json); }));
      EMPI_RETURN_IF_ERROR(bad);
    }
  }
  EMPI_RETURN_IF_ERROR(bad);
  return pinned;
}

// The records, prepared as the store prepares them, and their block keys.
struct Prepared {
  std::vector<PreparedRecord> records;
  std::vector<BlockKeys> keys;
};

absl::StatusOr<Prepared> PrepareStored(const index::Store& store, const std::vector<Record>& recs,
                                       const BlockingRules& rules) {
  EMPI_ASSIGN_OR_RETURN(const FieldConventions conventions, StoredConventions(store));
  EMPI_ASSIGN_OR_RETURN(const NhsSupersessions supersessions, LoadSupersessions(store));
  Prepared p;
  p.records.resize(recs.size());
  p.keys.resize(recs.size());
  tbb::parallel_for(tbb::blocked_range<size_t>(0, recs.size(), 4096), [&](const auto& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      p.records[i] = PrepareRecord(recs[i], conventions);
      supersessions.Apply(&p.records[i]);
      p.keys[i] = ComputeBlockKeys(rules, p.records[i]);
    }
  });
  return p;
}

// What the relink writes, worked out before anything is.
struct Plan {
  std::vector<uint64_t> new_person;     // of each record
  std::vector<size_t> moved;            // records whose person changes, in key order
  std::vector<uint64_t> removed;        // persons every record leaves
  absl::flat_hash_set<uint64_t> fresh;  // ids allocated by this run
};

// The person value of `pid` after the run: an objection of any person a
// record came from holds (the earliest, as a merge keeps it).
absl::StatusOr<std::optional<index::PersonValue>> PersonAfter(const index::Store& store, uint64_t pid, bool fresh,
                                                              const absl::flat_hash_set<uint64_t>& sources,
                                                              int64_t now_us, bool* inherited) {
  index::PersonValue v;
  if (!fresh) {
    EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonValue> got, store.GetPerson(pid));
    if (got) v = *got;
  } else {
    v.created_time_us = now_us;
  }
  std::optional<index::PersonValue> objecting;
  for (uint64_t from : sources) {
    EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonValue> p, store.GetPerson(from));
    if (p && p->objection && (!objecting || p->objection_time_us < objecting->objection_time_us)) objecting = *p;
  }
  *inherited = objecting && index::AdoptObjection(&v, *objecting);
  if (!fresh && !*inherited) return std::nullopt;  // unchanged
  return v;
}

// Person ids for the new groups (KeepPersonIds; new ids allocated in `cs`),
// and which records move; the persons' counts go to `summary`.
Plan PlanMoves(index::Store* store, const StoredSet& set, const std::vector<PreparedRecord>& prepared,
               const std::vector<uint32_t>& group, const absl::flat_hash_set<uint64_t>& pinned, index::ChangeSet* cs,
               RelinkSummary* summary) {
  const size_t n = set.records.size();
  Plan plan;
  std::vector<bool> numbered(n);
  for (size_t i = 0; i < n; ++i) numbered[i] = prepared[i].OwnNumber();
  std::vector<uint64_t> person_of_group = KeepPersonIds(group, set.person, pinned, numbered);
  std::vector<uint32_t> fresh_groups;
  for (size_t i = 0; i < n; ++i) {
    if (person_of_group[group[i]] == 0) {
      person_of_group[group[i]] = UINT64_MAX;  // placeholder, allocated below
      fresh_groups.push_back(group[i]);
    }
  }
  if (!fresh_groups.empty()) {
    const uint64_t first = store->AllocatePersonIds(fresh_groups.size(), cs);
    for (size_t k = 0; k < fresh_groups.size(); ++k) {
      person_of_group[fresh_groups[k]] = first + k;
      plan.fresh.insert(first + k);
    }
  }
  absl::flat_hash_set<uint64_t> before, after, changed;
  plan.new_person.resize(n);
  for (size_t i = 0; i < n; ++i) {
    plan.new_person[i] = person_of_group[group[i]];
    before.insert(set.person[i]);
    after.insert(plan.new_person[i]);
    if (plan.new_person[i] == set.person[i]) continue;
    plan.moved.push_back(i);
    changed.insert(set.person[i]);
    changed.insert(plan.new_person[i]);
    std::string_view source, id;
    const std::string key = set.records[i].Key();
    SplitRecordKey(key, &source, &id);
    summary->moves.push_back({std::string(source), std::string(id), set.person[i], plan.new_person[i]});
  }
  for (uint64_t pid : before) {
    if (!after.contains(pid)) plan.removed.push_back(pid);
  }
  std::sort(plan.removed.begin(), plan.removed.end());
  summary->persons_before = before.size();
  summary->persons_after = after.size();
  summary->persons_new = plan.fresh.size();
  summary->persons_removed = plan.removed.size();
  for (uint64_t pid : pinned) summary->persons_pinned += before.contains(pid) ? 1 : 0;
  for (uint64_t pid : before) summary->persons_unchanged += changed.contains(pid) ? 0 : 1;
  return plan;
}

// The NHS index's marks of the records read, judged again among them
// (number_marks.h): into `cs`, with their change; returns how many changed.
// `every_record`: every stored record was read, so every number in the
// index is judged, in one scan of it (a mark a store lacks, as one from
// before format version 10, is written); else the numbers a mark can be
// true on (JudgedNumbers).
absl::StatusOr<uint64_t> RemarkNumbers(const index::Store& store, const StoredSet& set, const Prepared& prepared,
                                       const Plan& plan, bool every_record, index::ChangeSet* cs) {
  absl::flat_hash_map<std::string, uint32_t> index_of;
  for (uint32_t i = 0; i < set.records.size(); ++i) index_of.emplace(set.records[i].Key(), i);
  auto find = [&](std::string_view key) {
    const auto it = index_of.find(absl::string_view(key.data(), key.size()));
    if (it == index_of.end()) return Found{};
    return Found{&prepared.records[it->second], plan.new_person[it->second], false};
  };
  const std::vector<uint64_t> scoped =
      every_record ? std::vector<uint64_t>{} : JudgedNumbers(prepared.records, set.records.size());
  Remarked remarked;
  EMPI_RETURN_IF_ERROR(RemarkFromPrepared(store, every_record ? nullptr : &scoped, find, cs, &remarked));
  if (every_record) cs->DeleteMeta(index::kMetaNhsMarksPending);
  AddJudgedChange(remarked, cs);
  return remarked.records.size();
}

// Moves, persons, histories and change-feed entries of the plan.
absl::Status WriteMoves(const index::Store& store, const StoredSet& set, const Plan& plan, const RelinkOptions& options,
                        std::string_view reason, index::ChangeSet* cs, RelinkSummary* summary) {
  const int64_t now_us = NowUs();
  // Records in and out of each person, and the moves by (from, to).
  std::map<uint64_t, std::pair<std::vector<std::string>, std::vector<std::string>>> in_out;
  std::map<std::pair<uint64_t, uint64_t>, std::vector<std::string>> by_pair;
  absl::flat_hash_map<uint64_t, absl::flat_hash_set<uint64_t>> sources;
  for (size_t i : plan.moved) {
    const uint64_t from = set.person[i], to = plan.new_person[i];
    const std::string key = set.records[i].Key();
    cs->PutRecord({set.records[i], to});
    cs->RemoveMembership(from, key);
    cs->AddMembership(to, key);
    in_out[to].first.push_back(key);
    in_out[from].second.push_back(key);
    by_pair[{from, to}].push_back(key);
    sources[to].insert(from);
  }
  for (const auto& [to, from] : sources) {
    bool inherited = false;
    EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonValue> v,
                          PersonAfter(store, to, plan.fresh.contains(to), from, now_us, &inherited));
    if (v) cs->PutPerson(to, *v);
    if (inherited) ++summary->objections_inherited;
  }
  for (uint64_t pid : plan.removed) cs->DeletePerson(pid);
  EMPI_ASSIGN_OR_RETURN(const uint64_t seq, store.NextHistorySequence(cs));
  for (const auto& [pid, io] : in_out) {
    nlohmann::json h = {{"event", "relink"},
                        {"time_us", now_us},
                        {"by", options.requester.requester},
                        {"organisation", options.requester.organisation},
                        {"role", options.requester.role},
                        {"reason", reason},
                        {"records_in", RecordsJson(io.first)},
                        {"records_out", RecordsJson(io.second)}};
    cs->AppendHistory(pid, seq, h.dump());
  }
  for (auto& [pair, keys] : by_pair) {
    cs->AddChange({.kind = "record-moved", .persons = {pair.first, pair.second}, .records = std::move(keys)});
  }
  return absl::OkStatus();
}

// The review queue replaced by the run's, in `cs`: pairs no longer in
// review are deleted, new ones written.
struct ReviewChange {
  size_t stored_before = 0;  // pairs in the queue before the run
  bool changed = false;
};

// With `scoped`, only pairs of two records of the set are the run's to
// replace; the rest of the queue stays.
absl::StatusOr<ReviewChange> ReplaceReview(const index::Store& store, const StoredSet& set,
                                           const std::vector<ReviewPair>& review, bool scoped, index::ChangeSet* cs) {
  absl::flat_hash_map<std::string, index::ReviewValue> now;
  for (const ReviewPair& rp : review) {
    now[index::PairKey(set.records[rp.a].Key(), set.records[rp.b].Key())] = {
        rp.match_weight, Model::Probability(rp.match_weight), rp.reason};
  }
  absl::flat_hash_set<std::string> in_set;
  if (scoped) {
    for (const Record& r : set.records) in_set.insert(r.Key());
  }
  ReviewChange change;
  EMPI_RETURN_IF_ERROR(store.ForEachReview([&](std::string_view a, std::string_view b, const index::ReviewValue& v) {
    if (scoped && !(in_set.contains(std::string(a)) && in_set.contains(std::string(b)))) return true;
    ++change.stored_before;
    auto it = now.find(index::PairKey(a, b));
    if (it == now.end()) {
      cs->DeleteReview(a, b);
      change.changed = true;
    } else if (it->second.reason == v.reason && it->second.match_weight == v.match_weight) {
      now.erase(it);  // already there
    }
    return true;
  }));
  for (const auto& [pair, v] : now) {
    std::string a, b;
    index::SplitPairKey(pair, &a, &b);
    cs->PutReview(a, b, v);
    change.changed = true;
  }
  return change;
}

// The model the relink scores with: the stored one when it is trusted and
// no retraining was asked for, else one estimated by EM on every stored
// record. FailedPrecondition when neither is trusted.
absl::StatusOr<RunModel> RelinkModel(const index::Store& store, const RelinkOptions& options, const Prepared& prepared,
                                     const std::vector<CandidatePair>& candidates, const BlockingRules& rules,
                                     bool scoped, RelinkSummary* summary) {
  EMPI_ASSIGN_OR_RETURN(std::optional<Model> stored_model, LoadModelIfAny(store));
  summary->model_reestimated_reason = !stored_model     ? "none stored"
                                      : options.retrain ? "--retrain"
                                                        : UntrustedReason(stored_model->provenance);
  if (scoped && !summary->model_reestimated_reason.empty()) {
    // A model is estimated on every record, never on a neighbourhood.
    return absl::FailedPreconditionError(
        absl::StrCat("revisit: no trusted stored model (", summary->model_reestimated_reason, ")"));
  }
  ModelSettings settings;
  settings.seed = options.seed;
  if (options.link_threshold > 0) settings.link_threshold = options.link_threshold;
  if (options.review_threshold > 0) settings.review_threshold = options.review_threshold;
  TrainingReport training;
  const bool train = !summary->model_reestimated_reason.empty();
  EMPI_ASSIGN_OR_RETURN(RunModel run_model, ModelForRun(train, train ? std::nullopt : std::move(stored_model), settings,
                                                        prepared.records, candidates, prepared.keys, rules, &training));
  summary->model_trained = run_model.trained.has_value();
  summary->em_iterations = training.em_iterations;
  summary->em_converged = training.em_converged;
  summary->estimated_matches = run_model.trained ? run_model.trained->provenance.estimated_matches : 0;
  if (run_model.scoring.provenance.origin == "default") {
    const std::string why = run_model.trained ? UntrustedReason(run_model.trained->provenance)
                                              : "there are no candidate pairs to estimate it from";
    return absl::FailedPreconditionError(absl::StrCat(
        "relink: no trusted model (", why,
        "); relinking would score every record with the informed default priors. Link more records first"));
  }
  return run_model;
}

}  // namespace

std::vector<uint64_t> KeepPersonIds(const std::vector<uint32_t>& group, const std::vector<uint64_t>& old_person,
                                    const absl::flat_hash_set<uint64_t>& pinned, const std::vector<bool>& numbered) {
  // (group, person): records shared, and how many of them carry a number.
  absl::flat_hash_map<std::pair<uint32_t, uint64_t>, std::pair<int64_t, int64_t>> shared;
  for (size_t i = 0; i < group.size(); ++i) {
    auto& [n, with_number] = shared[{group[i], old_person[i]}];
    ++n;
    if (i < numbered.size() && numbered[i]) ++with_number;
  }
  // (not pinned, -shared, -shared with a number, person, group): pinned
  // persons first, then the largest shares.
  std::vector<std::tuple<bool, int64_t, int64_t, uint64_t, uint32_t>> order;
  order.reserve(shared.size());
  for (const auto& [gp, n] : shared) {
    order.emplace_back(!pinned.contains(gp.second), -n.first, -n.second, gp.second, gp.first);
  }
  std::sort(order.begin(), order.end());
  std::vector<uint64_t> person_of_group(group.size(), 0);
  absl::flat_hash_set<uint64_t> used;
  for (const auto& [unpinned, n, with_number, person, g] : order) {
    if (person_of_group[g] != 0 || used.contains(person)) continue;
    person_of_group[g] = person;
    used.insert(person);
  }
  return person_of_group;
}

absl::StatusOr<RelinkSummary> RelinkStore(index::Store* store, const RelinkOptions& options,
                                          const LinkProgress& progress, const absl::flat_hash_set<uint64_t>* scope) {
  const auto start = Clock::now();
  auto stage_start = start;
  RelinkSummary summary;
  auto stage = [&](std::string name) {
    const auto now = Clock::now();
    summary.stage_seconds.emplace_back(std::move(name), std::chrono::duration<double>(now - stage_start).count());
    stage_start = now;
  };
  auto report = [&](std::string_view name, uint64_t done, uint64_t total) {
    if (progress) progress(name, done, total);
  };

  EMPI_ASSIGN_OR_RETURN(StoredSet set, ReadStored(*store, scope));
  const size_t n = set.records.size();
  summary.records = n;
  EMPI_ASSIGN_OR_RETURN(std::optional<BlockingSettings> stored_blocking, StoredBlocking(*store));
  const BlockingSettings blocking = stored_blocking.value_or(BlockingSettings{});
  EMPI_ASSIGN_OR_RETURN(Prepared prepared, PrepareStored(*store, set.records, blocking.rules));
  report("prepare", n, n);
  stage("read and prepare");

  BlockingReport blocking_report;
  MarkRelativesNumbers(&prepared.records);
  std::vector<CandidatePair> candidates =
      GenerateCandidates(prepared.records, prepared.keys, std::vector<bool>(n, false), blocking.rules,
                         blocking.max_block_size, &blocking_report);
  summary.candidate_pairs = candidates.size();
  report("compare", candidates.size(), candidates.size());
  stage("block and compare");

  EMPI_ASSIGN_OR_RETURN(RunModel run_model,
                        RelinkModel(*store, options, prepared, candidates, blocking.rules, scope != nullptr, &summary));
  stage("model");

  std::vector<ScoredLink> links = ScoreCandidates(run_model.scoring, &prepared.records, std::move(candidates));
  EMPI_ASSIGN_OR_RETURN(const absl::flat_hash_set<uint64_t> pinned, StewardPersons(*store, scope));
  std::vector<uint64_t> existing(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (pinned.contains(set.person[i])) existing[i] = set.person[i];
  }
  EMPI_ASSIGN_OR_RETURN(const auto never_link, NeverLinkPairs(*store, set.records));
  Clustering clusters =
      ClusterRecords(ClusterInput{&prepared.records, &existing, &never_link, &run_model.scoring}, std::move(links));
  summary.links = clusters.links_applied;
  summary.review_pairs = clusters.review.size();
  stage("score and cluster");

  index::ChangeSet cs = store->NewChangeSet();
  const Plan plan = PlanMoves(store, set, prepared.records, clusters.group, pinned, &cs, &summary);
  EMPI_ASSIGN_OR_RETURN(const ReviewChange review, ReplaceReview(*store, set, clusters.review, scope != nullptr, &cs));
  summary.review_pairs_before = review.stored_before;

  const char* action = scope ? "link: revisit" : options.dry_run ? "relink (dry run)" : "relink";
  index::AuditEvent event = AuditEventFor(options.requester, action);
  event.outcome = absl::StrCat("ok: ", summary.moves.size(), " records moved, ", summary.persons_new, " new persons, ",
                               summary.persons_removed, " persons removed, ", summary.review_pairs, " review pairs");
  if (options.dry_run) {
    index::ChangeSet none = store->NewChangeSet();
    EMPI_RETURN_IF_ERROR(store->Commit(&none, &event, /*sync=*/true));
  } else {
    EMPI_RETURN_IF_ERROR(
        WriteMoves(*store, set, plan, options,
                   scope ? "a link's stored neighbours scored again with its records (empi link)" : options.reason, &cs,
                   &summary));
    EMPI_ASSIGN_OR_RETURN(summary.nhs_marks_changed,
                          RemarkNumbers(*store, set, prepared, plan, /*every_record=*/scope == nullptr, &cs));
    if (run_model.trained) cs.PutModel(run_model.trained->ToJson().dump());
    // Objection-in-review flags follow the new queue (review_objections.h).
    if (review.changed || !plan.moved.empty()) cs.PutMeta(index::kMetaReviewObjectionsDirty, "");
    cs.DeleteMeta(kMetaRevisitPending);
    if (!scope) cs.DeleteMeta(kMetaUnrevisitedFrom);
    summary.applied = review.changed || !plan.moved.empty() || run_model.trained || summary.nhs_marks_changed > 0;
    report("write", plan.moved.size(), plan.moved.size());
    EMPI_RETURN_IF_ERROR(store->Commit(&cs, &event, /*sync=*/true));
  }
  stage("write");
  summary.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}

}  // namespace empi
