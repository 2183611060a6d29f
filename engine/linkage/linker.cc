// Copyright EMPI developers.
#include "engine/linkage/linker.h"

#include <algorithm>
#include <optional>
#include <chrono>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "empi/status_macros.h"
#include "engine/linkage/clustering.h"
#include "engine/linkage/supersession.h"
#include "tbb/parallel_for.h"

namespace empi {
namespace {

using Clock = std::chrono::steady_clock;

class StageTimer {
 public:
  explicit StageTimer(LinkSummary* s) : summary_(s), start_(Clock::now()) {}
  void Done(std::string name) {
    auto now = Clock::now();
    summary_->stage_seconds.emplace_back(std::move(name), std::chrono::duration<double>(now - start_).count());
    start_ = now;
  }

 private:
  LinkSummary* summary_;
  Clock::time_point start_;
};

// What the linker knows of one record of its working set, beside the
// record itself (kept apart so the records are never copied).
struct Entry {
  uint64_t old_person = 0;  // stored person before this run (0: none)
  bool stored = false;      // unchanged stored neighbour: not rewritten
  bool inherit_objection = false;
};

uint64_t ReadU64Meta(const index::Store& store, std::string_view key) {
  auto v = store.GetMeta(key);
  if (!v.ok() || !v->has_value()) return 0;
  return std::strtoull((*v)->c_str(), nullptr, 10);
}

ModelProvenance TrainedProvenance(const TrainingReport& t, size_t records) {
  ModelProvenance p;
  p.origin = "trained";
  p.records = records;
  p.candidate_pairs = t.em_pairs;
  p.em_iterations = t.em_iterations;
  p.em_converged = t.em_converged;
  p.estimated_matches = t.lambda_candidates * static_cast<double>(t.em_pairs);
  p.trained_at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  return p;
}

}  // namespace

std::string BlockKeyBytes(uint64_t key) {
  // Hex, because the block index separates key and record with a NUL byte.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, key >>= 4) out[static_cast<size_t>(i)] = kHex[key & 0xF];
  return out;
}

namespace {
std::string ConventionsMeta(const FieldConventions& c) {
  return absl::StrCat("nhs=", c.validate_nhs_number ? "validated" : "raw",
                      ";postcode=", c.postcode_format == PostcodeFormat::kUk ? "uk" : "raw");
}

constexpr std::string_view kBlockingMeta = "blocking";

std::string BlockingMeta(const BlockingSettings& b) {
  nlohmann::json j = {{"blocking_rules", b.rules.ToJson()}, {"max_block_size", b.max_block_size}};
  return j.dump();
}
}  // namespace

absl::StatusOr<std::optional<BlockingSettings>> StoredBlocking(const index::Store& store) {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> v, store.GetMeta(kBlockingMeta));
  if (!v) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*v, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("blocking_rules") || !j.contains("max_block_size") ||
      !j["max_block_size"].is_number_unsigned() || j["max_block_size"].get<uint64_t>() == 0) {
    return absl::DataLossError("meta \"blocking\": not {\"blocking_rules\": [...], \"max_block_size\": n}");
  }
  auto rules = BlockingRules::FromJson(j["blocking_rules"]);
  if (!rules.ok()) return absl::DataLossError(absl::StrCat("meta \"blocking\": ", rules.status().message()));
  BlockingSettings b;
  b.rules = *std::move(rules);
  b.max_block_size = j["max_block_size"].get<size_t>();
  return b;
}

absl::StatusOr<FieldConventions> StoredConventions(const index::Store& store) {
  FieldConventions c;
  EMPI_ASSIGN_OR_RETURN(auto v, store.GetMeta("field_conventions"));
  if (v) {
    c.validate_nhs_number = v->find("nhs=raw") == std::string::npos;
    if (v->find("postcode=raw") != std::string::npos) c.postcode_format = PostcodeFormat::kRaw;
  }
  return c;
}

absl::StatusOr<Model> LoadModel(const index::Store& store) {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> json, store.GetModel());
  if (!json) return absl::NotFoundError("the database has no model yet");
  nlohmann::json j = nlohmann::json::parse(*json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::DataLossError("the stored model is not valid JSON");
  return Model::FromJson(j);
}

absl::StatusOr<std::optional<Model>> LoadModelIfAny(const index::Store& store) {
  absl::StatusOr<Model> loaded = LoadModel(store);
  if (loaded.ok()) return std::optional<Model>(*std::move(loaded));
  if (absl::IsNotFound(loaded.status())) return std::optional<Model>();
  return loaded.status();
}

absl::StatusOr<RunModel> ModelForRun(bool train, std::optional<Model> trusted_stored, const ModelSettings& settings,
                                     const std::vector<PreparedRecord>& prepared,
                                     const std::vector<CandidatePair>& candidates, const std::vector<BlockKeys>& keys,
                                     const BlockingRules& rules, TrainingReport* report) {
  // A model not trained on enough evidence never scores: the informed
  // default priors do (model.h), and the trained one is stored with its
  // provenance so that the next link estimates it again.
  RunModel out{Model::Informed(settings), std::nullopt};
  if (train && !candidates.empty()) {
    out.trained = Model::Default(settings);
    EMPI_RETURN_IF_ERROR(Train(prepared, candidates, keys, rules, &*out.trained, report));
    out.trained->provenance = TrainedProvenance(*report, prepared.size());
    out.trained->provenance.lambda = out.trained->lambda();
    if (UntrustedReason(out.trained->provenance).empty()) out.scoring = *out.trained;
  } else if (trusted_stored) {
    out.scoring = *std::move(trusted_stored);
  }
  return out;
}

std::vector<ScoredLink> ScoreCandidates(const Model& model, std::vector<PreparedRecord>* prepared,
                                        std::vector<CandidatePair> candidates) {
  for (PreparedRecord& p : *prepared) model.Annotate(&p);
  const double review_weight = model.review_weight();
  std::vector<ScoredLink> links;
  std::mutex mu;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, candidates.size(), 1 << 14), [&](const auto& r) {
    std::vector<ScoredLink> local;
    for (size_t i = r.begin(); i != r.end(); ++i) {
      const CandidatePair& c = candidates[i];
      double w = model.Weight(c.pattern, (*prepared)[c.a]);
      if (w < review_weight) continue;
      SafetyVerdict v = CheckPairSafety((*prepared)[c.a], (*prepared)[c.b], c.pattern);
      w = model.Capped(w, v.safety);
      if (w >= review_weight) local.push_back({c.a, c.b, w, v.reason});
    }
    std::lock_guard<std::mutex> lock(mu);
    links.insert(links.end(), local.begin(), local.end());
  });
  return links;
}

absl::StatusOr<absl::flat_hash_set<std::pair<uint32_t, uint32_t>>> NeverLinkPairs(const index::Store& store,
                                                                                const std::vector<Record>& recs) {
  // Read in one scan: every marked pair of the working set, so that
  // clustering keeps the two apart whether or not they are a candidate
  // link themselves.
  absl::flat_hash_set<std::pair<uint32_t, uint32_t>> never_link;
  std::vector<std::pair<std::string, std::string>> marks;
  EMPI_RETURN_IF_ERROR(store.ForEachNeverLink([&](std::string_view a, std::string_view b) {
    marks.emplace_back(a, b);
    return true;
  }));
  if (marks.empty()) return never_link;
  constexpr uint32_t kAbsent = UINT32_MAX;
  absl::flat_hash_map<std::string, uint32_t> index_of;  // marked keys only
  for (const auto& [a, b] : marks) {
    index_of.emplace(a, kAbsent);
    index_of.emplace(b, kAbsent);
  }
  for (uint32_t i = 0; i < recs.size(); ++i) {
    auto it = index_of.find(recs[i].Key());
    if (it != index_of.end()) it->second = i;
  }
  for (const auto& [a, b] : marks) {
    uint32_t x = index_of[a], y = index_of[b];
    if (x != kAbsent && y != kAbsent) never_link.insert({std::min(x, y), std::max(x, y)});
  }
  return never_link;
}

absl::StatusOr<LinkSummary> LinkRecords(index::Store* store, std::vector<Record> input,
                                        const LinkOptions& options) {
  LinkSummary summary;
  summary.records_in = input.size();
  StageTimer timer(&summary);
  auto progress = [&](std::string_view stage, uint64_t done, uint64_t total) {
    if (options.progress) options.progress(stage, done, total);
  };
  // Whether the store holds records is read from the records family itself,
  // never from meta "record_count" (a count is only as good as the last
  // write that kept it).
  bool has_records = false;
  EMPI_RETURN_IF_ERROR(store->ForEachRecord([&](const index::StoredRecord&) {
    has_records = true;
    return false;
  }));
  uint64_t stored_before = 0;
  if (has_records) {
    EMPI_ASSIGN_OR_RETURN(std::optional<std::string> count, store->GetMeta("record_count"));
    if (count) {
      stored_before = ReadU64Meta(*store, "record_count");
    } else {
      // Records without a count (a store written before counts were kept):
      // counted once, so that this run's count is right.
      EMPI_RETURN_IF_ERROR(store->ForEachRecord([&](const index::StoredRecord&) {
        ++stored_before;
        return true;
      }));
    }
  }
  // Stored records are prepared as the database prepares them (its first
  // run's conventions), whatever this run's feeds say.
  EMPI_ASSIGN_OR_RETURN(const FieldConventions stored_conventions, StoredConventions(*store));
  EMPI_ASSIGN_OR_RETURN(std::optional<BlockingSettings> stored_blocking, StoredBlocking(*store));
  BlockingSettings blocking = stored_blocking.value_or(BlockingSettings{});
  if (options.rules) {
    if (has_records && stored_blocking && options.rules->Names() != stored_blocking->rules.Names()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "blocking rules ", options.rules->Names(), " differ from the rules this database was linked with (",
          stored_blocking->rules.Names(), "); its block index holds keys of those rules only"));
    }
    blocking.rules = *options.rules;
  }
  if (options.max_block_size) blocking.max_block_size = *options.max_block_size;
  const BlockingRules& rules = blocking.rules;
  const size_t max_block_size = blocking.max_block_size;

  // 1. New, changed or unchanged: look every key up (skipped on an empty
  // database, the first bulk load).
  std::vector<uint8_t> state(input.size(), 0);  // 0 new, 1 updated, 2 unchanged
  // Stored versions of updated records, found only when the store is not
  // empty (a pointer per record, not a record, on a first bulk load).
  std::vector<std::unique_ptr<index::StoredRecord>> old;
  if (has_records) {
    old.resize(input.size());
    std::mutex error_mu;
    absl::Status error;
    tbb::parallel_for(size_t{0}, input.size(), [&](size_t i) {
      auto got = store->GetRecord(input[i].Key());
      if (!got.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        error = got.status();
        return;
      }
      if (got->has_value()) {
        state[i] = (*got)->record == input[i] ? 2 : 1;
        if (state[i] == 1) old[i] = std::make_unique<index::StoredRecord>(**std::move(got));
      }
    });
    EMPI_RETURN_IF_ERROR(error);
  }
  // The working set: incoming records compacted in place, then stored
  // neighbours appended; work[i] describes recs[i].
  std::vector<Record>& recs = input;
  std::vector<Entry> work;
  work.reserve(input.size());
  std::vector<index::StoredRecord> replaced;  // old versions of updated records
  size_t kept = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    if (state[i] == 2) {
      ++summary.unchanged_records;
      continue;
    }
    if (state[i] == 1) {
      ++summary.updated_records;
      replaced.push_back(std::move(*old[i]));
    } else {
      ++summary.new_records;
    }
    if (kept != i) recs[kept] = std::move(recs[i]);
    ++kept;
    work.emplace_back();
  }
  recs.resize(kept);
  std::vector<std::unique_ptr<index::StoredRecord>>().swap(old);
  std::vector<uint8_t>().swap(state);
  timer.Done("lookup");

  // 2. Prepare the incoming records, each with its current NHS number.
  EMPI_ASSIGN_OR_RETURN(const NhsSupersessions supersessions, LoadSupersessions(*store));
  const size_t n_incoming = work.size();
  std::vector<PreparedRecord> prepared(n_incoming);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, n_incoming, 4096), [&](const auto& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      prepared[i] = PrepareRecord(recs[i], options.conventions);
      supersessions.Apply(&prepared[i]);
    }
  });
  progress("prepare", n_incoming, n_incoming);
  timer.Done("prepare");

  // Objections of persons that lose an updated record follow the record.
  absl::flat_hash_set<std::string> inherit;
  for (const index::StoredRecord& r : replaced) {
    EMPI_ASSIGN_OR_RETURN(auto person, store->GetPerson(r.person_id));
    if (person && person->objection) inherit.insert(r.record.Key());
  }
  for (size_t i = 0; i < work.size(); ++i) work[i].inherit_objection = inherit.contains(recs[i].Key());

  // The stored model, unless it was estimated from too little evidence (a
  // 20-record test extract, a feed without duplicates): then this run
  // estimates it again, on every stored record as well as the new ones.
  EMPI_ASSIGN_OR_RETURN(std::optional<Model> stored_model, LoadModelIfAny(*store));
  if (stored_model) summary.model_untrusted_reason = UntrustedReason(stored_model->provenance);
  const bool train = !stored_model || options.retrain || !summary.model_untrusted_reason.empty();
  const bool fetch_all_stored = stored_model && !summary.model_untrusted_reason.empty();

  // 3. Stored neighbours: records sharing a blocking key with an incoming
  // record, and every record of the persons they belong to (every stored
  // record when the model is estimated again).
  std::vector<BlockKeys> keys(n_incoming);
  for (size_t i = 0; i < n_incoming; ++i) keys[i] = ComputeBlockKeys(rules, prepared[i]);
  if (has_records && n_incoming > 0) {
    absl::flat_hash_set<std::string> incoming_keys;
    for (const Record& r : recs) incoming_keys.insert(r.Key());
    std::mutex mu;
    absl::flat_hash_set<std::string> neighbour_keys;
    absl::Status error;
    tbb::parallel_for(size_t{0}, n_incoming, [&](size_t i) {
      for (size_t r = 0; r < rules.rules().size(); ++r) {
        if (keys[i][r] == 0) continue;
        bool truncated = false;
        auto members = store->BlockMembers(rules.rules()[r].id, BlockKeyBytes(keys[i][r]),
                                           max_block_size, &truncated);
        std::lock_guard<std::mutex> lock(mu);
        if (!members.ok()) {
          error = members.status();
          return;
        }
        for (std::string& k : *members) {
          if (!incoming_keys.contains(k)) neighbour_keys.insert(std::move(k));
        }
      }
    });
    EMPI_RETURN_IF_ERROR(error);
    if (fetch_all_stored) {
      EMPI_RETURN_IF_ERROR(store->ForEachRecord([&](const index::StoredRecord& r) {
        std::string k = r.record.Key();
        if (!incoming_keys.contains(k)) neighbour_keys.insert(std::move(k));
        return true;
      }));
    }
    absl::flat_hash_set<uint64_t> persons;
    absl::flat_hash_set<std::string> all_stored;
    for (const std::string& k : neighbour_keys) {
      EMPI_ASSIGN_OR_RETURN(auto rec, store->GetRecord(k));
      if (!rec) continue;
      if (persons.insert(rec->person_id).second) {
        EMPI_ASSIGN_OR_RETURN(auto members, store->PersonRecords(rec->person_id));
        for (std::string& m : members) {
          if (!incoming_keys.contains(m)) all_stored.insert(std::move(m));
        }
      }
    }
    std::vector<std::string> sorted(all_stored.begin(), all_stored.end());
    std::sort(sorted.begin(), sorted.end());
    for (const std::string& k : sorted) {
      EMPI_ASSIGN_OR_RETURN(auto rec, store->GetRecord(k));
      if (!rec) continue;
      recs.push_back(std::move(rec->record));
      work.push_back({rec->person_id, /*stored=*/true, false});
    }
    prepared.resize(work.size());
    keys.resize(work.size());
    tbb::parallel_for(n_incoming, work.size(), [&](size_t i) {
      prepared[i] = PrepareRecord(recs[i], stored_conventions);
      supersessions.Apply(&prepared[i]);
      keys[i] = ComputeBlockKeys(rules, prepared[i]);
    });
    summary.stored_records_fetched = work.size() - n_incoming;
  }
  timer.Done("fetch stored neighbours");

  // 4. Candidate pairs.
  std::vector<bool> stored(work.size());
  // Estimating the model again, pairs of two stored records are evidence
  // too; scored, a pair of two stored persons can only go to review
  // ("existing persons"), which is how links missed under the untrusted
  // model reach a steward.
  for (size_t i = 0; i < work.size(); ++i) stored[i] = work[i].stored && !fetch_all_stored;
  std::vector<CandidatePair> candidates =
      GenerateCandidates(prepared, keys, stored, rules, max_block_size, &summary.blocking);
  summary.candidate_pairs = candidates.size();
  progress("compare", candidates.size(), candidates.size());
  timer.Done("block and compare");

  // 5. The model: stored, or trained now.
  EMPI_ASSIGN_OR_RETURN(
      RunModel run_model,
      ModelForRun(train, summary.model_untrusted_reason.empty() ? std::move(stored_model) : std::nullopt,
                  options.settings, prepared, candidates, keys, rules, &summary.training));
  const Model& model = run_model.scoring;
  std::optional<Model>& trained = run_model.trained;
  summary.trained = trained.has_value();
  summary.model = trained ? trained->provenance : model.provenance;
  timer.Done("train");

  // 6. Score and cluster.
  std::vector<ScoredLink> links = ScoreCandidates(model, &prepared, std::move(candidates));
  std::vector<uint64_t> existing(work.size());
  for (size_t i = 0; i < work.size(); ++i) existing[i] = work[i].stored ? work[i].old_person : 0;
  absl::flat_hash_set<std::pair<uint32_t, uint32_t>> never_link;
  // Never-link marks are made by stewards, so only in a non-empty store.
  if (has_records) {
    EMPI_ASSIGN_OR_RETURN(never_link, NeverLinkPairs(*store, recs));
  }
  ClusterInput cin{&prepared, &existing, &never_link, &model};
  Clustering clusters = ClusterRecords(cin, std::move(links));
  summary.links = clusters.links_applied;
  summary.review_pairs = clusters.review.size();
  timer.Done("cluster");

  // 7. Person ids: the stored person of a group, else a new id in input order.
  index::ChangeSet header = store->NewChangeSet();
  absl::flat_hash_map<uint32_t, uint64_t> person_of_group;
  for (size_t i = 0; i < work.size(); ++i) {
    if (work[i].stored) person_of_group[clusters.group[i]] = work[i].old_person;
  }
  std::vector<uint32_t> new_groups;
  for (size_t i = 0; i < work.size(); ++i) {
    uint32_t g = clusters.group[i];
    if (!person_of_group.contains(g)) {
      person_of_group[g] = 0;
      new_groups.push_back(g);
    }
  }
  uint64_t first_id = new_groups.empty() ? 0 : store->AllocatePersonIds(new_groups.size(), &header);
  for (size_t k = 0; k < new_groups.size(); ++k) person_of_group[new_groups[k]] = first_id + k;
  summary.persons_new = new_groups.size();

  // Persons that gain an objection from an updated record.
  absl::flat_hash_set<uint64_t> objecting;
  for (size_t i = 0; i < work.size(); ++i) {
    if (work[i].inherit_objection) objecting.insert(person_of_group[clusters.group[i]]);
  }

  // 8. Write: updated records leave their old person and old keys; then
  // whole persons per batch.
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  // The old version's keys were written with the database's conventions,
  // or with this run's if an earlier feed with this run's mapping stored it:
  // both are deleted (deleting an absent key is harmless).
  std::vector<FieldConventions> old_conventions = {stored_conventions};
  if (!(options.conventions == stored_conventions)) old_conventions.push_back(options.conventions);
  for (const index::StoredRecord& r : replaced) {
    std::string key = r.record.Key();
    for (const FieldConventions& c : old_conventions) {
      PreparedRecord p = PrepareRecord(r.record, c);
      supersessions.Apply(&p);
      BlockKeys k = ComputeBlockKeys(rules, p);
      for (size_t q = 0; q < rules.rules().size(); ++q) {
        if (k[q] != 0) header.DeleteBlockKey(rules.rules()[q].id, BlockKeyBytes(k[q]), key);
      }
      if (p.nhs != 0) header.DeleteNhs(p.nhs, key);
    }
    header.RemoveMembership(r.person_id, key);
  }
  if (trained) header.PutModel(trained->ToJson().dump());
  if (!has_records) header.PutMeta("field_conventions", ConventionsMeta(options.conventions));
  header.PutMeta(kBlockingMeta, BlockingMeta(blocking));
  // Records move and review pairs appear: persons' objection_in_review is
  // out of date until the caller recomputes it (index/review_objections.h).
  header.PutMeta(index::kMetaReviewObjectionsDirty, "");
  for (uint64_t pid : objecting) {
    EMPI_ASSIGN_OR_RETURN(auto pv, store->GetPerson(pid));
    index::PersonValue v = pv.value_or(index::PersonValue{});
    if (!v.objection) {
      v.objection = true;
      v.objection_time_us = now_us;
      v.objection_method = index::ObjectionMethod::kSteward;
      v.objection_reference = "inherited: a record of an objecting person was relinked";
    }
    if (v.created_time_us == 0) v.created_time_us = now_us;
    header.PutPerson(pid, v);
  }
  for (const ReviewPair& rp : clusters.review) {
    header.PutReview(recs[rp.a].Key(), recs[rp.b].Key(),
                     {rp.match_weight, Model::Probability(rp.match_weight), rp.reason});
  }
  // Persons that every stored record leaves (all of their records are
  // updated and relinked elsewhere) are deleted in the same write, so no
  // state without them is ever visible. Computed from the stored membership
  // before writing.
  absl::flat_hash_set<uint64_t> target_persons;
  for (const auto& [g, pid] : person_of_group) target_persons.insert(pid);
  std::vector<uint64_t> emptied;
  {
    absl::flat_hash_set<std::string> moved;
    for (const index::StoredRecord& r : replaced) moved.insert(r.record.Key());
    absl::flat_hash_set<uint64_t> seen;
    for (const index::StoredRecord& r : replaced) {
      if (target_persons.contains(r.person_id) || !seen.insert(r.person_id).second) continue;
      EMPI_ASSIGN_OR_RETURN(auto members, store->PersonRecords(r.person_id));
      if (std::all_of(members.begin(), members.end(), [&](const std::string& k) { return moved.contains(k); })) {
        emptied.push_back(r.person_id);
      }
    }
    std::sort(emptied.begin(), emptied.end());
  }
  const uint64_t records_total = stored_before + summary.new_records;
  auto write_tail = [&](index::ChangeSet* cs) {
    for (uint64_t pid : emptied) cs->DeletePerson(pid);
    cs->PutMeta("record_count", std::to_string(records_total));
  };
  index::AuditEvent event;
  event.time_us = now_us;
  event.requester = options.requester;
  event.organisation = options.organisation;
  event.role = options.role;
  event.purpose = options.purpose;
  event.action = "link";
  event.outcome = absl::StrCat("ok: ", summary.new_records, " new, ", summary.updated_records, " updated, ",
                               summary.persons_new, " new persons, ", summary.review_pairs, " review pairs");
  auto hook = [&](std::string_view point) {
    return options.write_hook ? options.write_hook(point) : absl::OkStatus();
  };
  // Large runs are bulk-loaded (sorted SST files, one atomic ingestion)
  // instead of committed as one WriteBatch; see docs/format/store.md,
  // "Bulk ingestion".
  const bool bulk = n_incoming >= std::max<size_t>(1, options.bulk_ingest_records);

  // Incoming records ordered by person, so each batch holds whole persons.
  std::vector<uint32_t> order;
  order.reserve(n_incoming);
  for (uint32_t i = 0; i < n_incoming; ++i) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    uint64_t px = person_of_group[clusters.group[x]], py = person_of_group[clusters.group[y]];
    return px != py ? px < py : x < y;
  });
  // Rounds overlap, so each family's rounds land in level 0 as separate
  // files until compacted: at most kMaxBulkRounds of them (the bulk-load
  // options stop writes at 60 level-0 files), by enlarging rounds for
  // loads beyond kMaxBulkRounds * bulk_round_records records.
  constexpr size_t kMaxBulkRounds = 32;
  const size_t round_records = std::max<size_t>(
      {size_t{1}, options.bulk_round_records, (n_incoming + kMaxBulkRounds - 1) / kMaxBulkRounds});
  const size_t chunk_records = std::min<size_t>(20000, round_records);
  std::vector<std::pair<size_t, size_t>> chunks;
  for (size_t b = 0; b < order.size();) {
    size_t e = std::min(order.size(), b + chunk_records);
    while (e < order.size() && person_of_group[clusters.group[order[e]]] ==
                                   person_of_group[clusters.group[order[e - 1]]]) {
      ++e;
    }
    chunks.emplace_back(b, e);
    b = e;
  }
  absl::flat_hash_set<uint64_t> new_person_set;
  for (uint32_t g : new_groups) new_person_set.insert(person_of_group[g]);
  absl::flat_hash_map<std::string, const index::StoredRecord*> replaced_by_key;
  for (const index::StoredRecord& r : replaced) replaced_by_key.emplace(r.record.Key(), &r);
  // The change feed: one change per person for its new records, one per
  // updated record.
  auto write_chunk = [&](size_t c, index::ChangeSet* cs) {
    uint64_t last_person = 0;
    index::Change linked;
    auto add_linked = [&] {
      if (!linked.records.empty()) cs->AddChange(std::move(linked));
      linked = index::Change{};
    };
    for (size_t k = chunks[c].first; k < chunks[c].second; ++k) {
      uint32_t i = order[k];
      uint64_t pid = person_of_group[clusters.group[i]];
      std::string key = recs[i].Key();
      index::StoredRecord sr{std::move(recs[i]), pid};
      if (pid != last_person) {
        add_linked();
        linked.kind = new_person_set.contains(pid) ? "new-person" : "record-linked";
        linked.persons = {pid};
      }
      if (auto old = replaced_by_key.find(key); old != replaced_by_key.end()) {
        index::AddRecordChanges(old->second, sr, new_person_set.contains(pid), cs);
      } else {
        linked.records.push_back(key);
      }
      cs->PutRecord(sr);
      cs->AddMembership(pid, key);
      for (size_t q = 0; q < rules.rules().size(); ++q) {
        if (keys[i][q] != 0) cs->PutBlockKey(rules.rules()[q].id, BlockKeyBytes(keys[i][q]), key);
      }
      if (prepared[i].nhs != 0) cs->PutNhs(prepared[i].nhs, key);
      if (pid != last_person && new_person_set.contains(pid) && !objecting.contains(pid)) {
        index::PersonValue v;
        v.created_time_us = now_us;
        cs->PutPerson(pid, v);
      }
      last_person = pid;
    }
    add_linked();
  };

  if (!bulk) {
    // One WriteBatch, synced, with the audit event: the header's deletes,
    // every person and the tail become visible together or not at all.
    for (size_t c = 0; c < chunks.size(); ++c) write_chunk(c, &header);
    write_tail(&header);
    progress("write", n_incoming, n_incoming);
    EMPI_RETURN_IF_ERROR(hook("commit"));
    EMPI_RETURN_IF_ERROR(store->Commit(&header, &event, /*sync=*/true));
  } else {
    // One bulk load: the header (with the person-id counter), rounds of
    // about round_records records (whole chunks, so whole persons; memory
    // holds one round) and the tail are written to SST files, then
    // ingested in one call. The audit event follows in its own synced
    // commit: a crash between the two leaves the run applied but
    // unaudited, and a re-run finds every record unchanged.
    EMPI_ASSIGN_OR_RETURN(std::unique_ptr<index::BulkLoad> load, store->StartBulkLoad());
    {
      std::vector<index::ChangeSet> first;
      first.push_back(std::move(header));
      EMPI_RETURN_IF_ERROR(load->AddRound(first));
      EMPI_RETURN_IF_ERROR(hook("round"));
    }
    const size_t per_round = std::max<size_t>(1, round_records / chunk_records);
    std::atomic<uint64_t> written{0};
    for (size_t c0 = 0; c0 < chunks.size(); c0 += per_round) {
      const size_t c1 = std::min(chunks.size(), c0 + per_round);
      std::vector<index::ChangeSet> sets(c1 - c0);
      tbb::parallel_for(c0, c1, [&](size_t c) {
        sets[c - c0] = store->NewChangeSet();
        write_chunk(c, &sets[c - c0]);
        written += chunks[c].second - chunks[c].first;
      });
      EMPI_RETURN_IF_ERROR(load->AddRound(sets));
      progress("write", written.load(), n_incoming);
      EMPI_RETURN_IF_ERROR(hook("round"));
    }
    {
      std::vector<index::ChangeSet> last(1);
      last[0] = store->NewChangeSet();
      write_tail(&last[0]);
      EMPI_RETURN_IF_ERROR(load->AddRound(last));
    }
    EMPI_RETURN_IF_ERROR(hook("ingest"));
    EMPI_RETURN_IF_ERROR(load->Finish());
    // Bulk-ingested person views are merge operands until compacted;
    // real-time reads of a freshly loaded store should not pay for folding
    // them.
    EMPI_RETURN_IF_ERROR(store->CompactPersonView());
    index::ChangeSet none = store->NewChangeSet();
    EMPI_RETURN_IF_ERROR(hook("commit"));
    EMPI_RETURN_IF_ERROR(store->Commit(&none, &event, /*sync=*/true));
  }
  summary.records_total = records_total;
  timer.Done("write");
  return summary;
}

}  // namespace empi
