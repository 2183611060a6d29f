// Copyright EMPI developers.
#include "engine/linkage/linker.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "empi/status_macros.h"
#include "engine/linkage/clustering.h"
#include "engine/linkage/safety.h"
#include "engine/linkage/store_events.h"
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
    if (UntrustedReason(out.trained->provenance).empty()) {
      out.scoring = *out.trained;
      out.trained_scores = true;
      return out;
    }
  }
  if (trusted_stored) out.scoring = *std::move(trusted_stored);
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
      double w = model.Weight(c.pattern, (*prepared)[c.a], (*prepared)[c.b]);
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

namespace {

// One LinkRecords run: its working set, and the stages it goes through in
// order (Run). The working set is the incoming records compacted in place
// (new and updated ones), then the stored neighbours appended; work_[i]
// describes recs_[i].
class LinkRun {
 public:
  LinkRun(index::Store* store, std::vector<Record> input, const LinkOptions& options)
      : store_(store), options_(options), recs_(std::move(input)), timer_(&summary_) {
    summary_.records_in = recs_.size();
  }

  absl::StatusOr<LinkSummary> Run() {
    EMPI_RETURN_IF_ERROR(ReadStoreState());
    EMPI_RETURN_IF_ERROR(Lookup());
    DecideTraining();
    EMPI_RETURN_IF_ERROR(PrepareIncoming());
    EMPI_RETURN_IF_ERROR(FetchStoredNeighbours());
    EMPI_RETURN_IF_ERROR(ScoreAndCluster());
    index::ChangeSet header = store_->NewChangeSet();
    AssignPersonIds(&header);
    NoteRevisit();
    EMPI_RETURN_IF_ERROR(Write(std::move(header)));
    return summary_;
  }

 private:
  void Progress(std::string_view stage, uint64_t done, uint64_t total) const {
    if (options_.progress) options_.progress(stage, done, total);
  }
  uint64_t PersonOf(size_t i) const { return person_of_group_.at(clusters_.group[i]); }

  absl::Status ReadStoreState();
  absl::Status Lookup();
  void DecideTraining();
  absl::Status PrepareIncoming();
  absl::Status FetchStoredNeighbours();
  absl::Status ScoreAndCluster();
  void NoteRevisit();
  void AssignPersonIds(index::ChangeSet* header);
  absl::Status Write(index::ChangeSet header);
  absl::Status WriteHeader(index::ChangeSet* header, int64_t now_us);
  absl::Status RemarkStoredHolders(const absl::flat_hash_set<uint64_t>& old_numbers, index::ChangeSet* header) const;
  absl::StatusOr<std::vector<uint64_t>> EmptiedPersons() const;
  void WriteChunk(size_t c, int64_t now_us, index::ChangeSet* cs);
  void WriteTail(index::ChangeSet* cs) const;
  absl::Status CommitOneBatch(index::ChangeSet* header, const index::AuditEvent& event, int64_t now_us);
  absl::Status CommitBulk(index::ChangeSet header, const index::AuditEvent& event, int64_t now_us, size_t round_records,
                          size_t chunk_records);
  absl::Status Hook(std::string_view point) const {
    return options_.write_hook ? options_.write_hook(point) : absl::OkStatus();
  }

  index::Store* const store_;
  const LinkOptions& options_;
  LinkSummary summary_;
  std::vector<Record> recs_;
  StageTimer timer_;

  // The store before the run.
  bool has_records_ = false;
  uint64_t stored_before_ = 0;
  FieldConventions stored_conventions_;
  BlockingSettings blocking_;
  NhsSupersessions supersessions_;
  std::optional<Model> stored_model_;
  bool train_ = false;
  bool fetch_all_stored_ = false;
  bool stored_trusted_ = false;  // the stored model may score
  bool estimate_kept_ = false;   // model_.trained replaces the stored model

  // The working set.
  std::vector<Entry> work_;
  size_t n_incoming_ = 0;
  std::vector<index::StoredRecord> replaced_;  // old versions of updated records
  std::vector<PreparedRecord> prepared_;
  std::vector<BlockKeys> keys_;

  // Scoring and clustering.
  RunModel model_;
  Clustering clusters_;

  // Persons.
  absl::flat_hash_map<uint32_t, uint64_t> person_of_group_;
  absl::flat_hash_set<uint64_t> new_persons_;
  absl::flat_hash_set<uint64_t> objecting_;  // gain an objection from an updated record

  // Writing: incoming records ordered by person, in chunks of whole persons.
  std::vector<uint32_t> order_;
  std::vector<std::pair<size_t, size_t>> chunks_;
  absl::flat_hash_map<std::string, const index::StoredRecord*> replaced_by_key_;
  std::vector<uint64_t> emptied_;  // persons every stored record leaves
  uint64_t records_total_ = 0;
};

absl::Status LinkRun::ReadStoreState() {
  // Whether the store holds records is read from the records family itself,
  // never from meta "record_count" (a count is only as good as the last
  // write that kept it).
  EMPI_RETURN_IF_ERROR(store_->ForEachRecord([&](const index::StoredRecord&) {
    has_records_ = true;
    return false;
  }));
  if (has_records_) {
    EMPI_ASSIGN_OR_RETURN(std::optional<std::string> count, store_->GetMeta("record_count"));
    if (count) {
      stored_before_ = ReadU64Meta(*store_, "record_count");
    } else {
      // Records without a count (a store written before counts were kept):
      // counted once, so that this run's count is right.
      EMPI_RETURN_IF_ERROR(store_->ForEachRecord([&](const index::StoredRecord&) {
        ++stored_before_;
        return true;
      }));
    }
  }
  // Stored records are prepared as the database prepares them (its first
  // run's conventions), whatever this run's feeds say.
  EMPI_ASSIGN_OR_RETURN(stored_conventions_, StoredConventions(*store_));
  EMPI_ASSIGN_OR_RETURN(std::optional<BlockingSettings> stored_blocking, StoredBlocking(*store_));
  blocking_ = stored_blocking.value_or(BlockingSettings{});
  if (options_.rules) {
    if (has_records_ && stored_blocking && options_.rules->Names() != stored_blocking->rules.Names()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "blocking rules ", options_.rules->Names(), " differ from the rules this database was linked with (",
          stored_blocking->rules.Names(), "); its block index holds keys of those rules only"));
    }
    blocking_.rules = *options_.rules;
  }
  if (options_.max_block_size) blocking_.max_block_size = *options_.max_block_size;
  EMPI_ASSIGN_OR_RETURN(supersessions_, LoadSupersessions(*store_));
  // The stored model, unless it was estimated from too little evidence (a
  // 20-record test extract, a feed without duplicates): then this run
  // estimates it again, on every stored record as well as the new ones.
  EMPI_ASSIGN_OR_RETURN(stored_model_, LoadModelIfAny(*store_));
  if (stored_model_) summary_.model_untrusted_reason = UntrustedReason(stored_model_->provenance);
  stored_trusted_ = stored_model_ && summary_.model_untrusted_reason.empty();
  return absl::OkStatus();
}

// Whether this run estimates the model, and on what: after Lookup, which
// counts the records this run brings. A model the store holds is estimated
// again on every stored record when it is not trusted, or when it was
// trained on less than half the records the store will hold (the first
// feeds, one contributor's or a test extract, need not look like the rest);
// while the estimate is not trusted, the stored model keeps scoring.
void LinkRun::DecideTraining() {
  if (stored_trusted_ && !options_.retrain && stored_model_->provenance.origin == "trained" && n_incoming_ > 0) {
    const uint64_t trained_on = stored_model_->provenance.records;
    const uint64_t will_hold = stored_before_ + summary_.new_records;
    if (will_hold >= 2 * std::max<uint64_t>(trained_on, 1)) {
      summary_.model_untrusted_reason =
          absl::StrCat("it was trained on ", trained_on, " records and the store will hold ", will_hold);
    }
  }
  train_ = !stored_model_ || options_.retrain || !summary_.model_untrusted_reason.empty();
  fetch_all_stored_ = stored_model_ && !summary_.model_untrusted_reason.empty();
}

// 1. New, changed or unchanged: every key looked up (skipped on an empty
// database, the first bulk load); unchanged records leave the working set.
absl::Status LinkRun::Lookup() {
  std::vector<uint8_t> state(recs_.size(), 0);  // 0 new, 1 updated, 2 unchanged
  // Stored versions of updated records, found only when the store is not
  // empty (a pointer per record, not a record, on a first bulk load).
  std::vector<std::unique_ptr<index::StoredRecord>> old;
  if (has_records_) {
    old.resize(recs_.size());
    std::mutex error_mu;
    absl::Status error;
    tbb::parallel_for(size_t{0}, recs_.size(), [&](size_t i) {
      auto got = store_->GetRecord(recs_[i].Key());
      if (!got.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        error = got.status();
        return;
      }
      if (got->has_value()) {
        state[i] = (*got)->record == recs_[i] ? 2 : 1;
        if (state[i] == 1) old[i] = std::make_unique<index::StoredRecord>(**std::move(got));
      }
    });
    EMPI_RETURN_IF_ERROR(error);
  }
  work_.reserve(recs_.size());
  size_t kept = 0;
  for (size_t i = 0; i < recs_.size(); ++i) {
    if (state[i] == 2) {
      ++summary_.unchanged_records;
      continue;
    }
    if (state[i] == 1) {
      ++summary_.updated_records;
      replaced_.push_back(std::move(*old[i]));
    } else {
      ++summary_.new_records;
    }
    if (kept != i) recs_[kept] = std::move(recs_[i]);
    ++kept;
    work_.emplace_back();
  }
  recs_.resize(kept);
  n_incoming_ = kept;
  timer_.Done("lookup");
  return absl::OkStatus();
}

// 2. The incoming records prepared, each with its current NHS number; the
// objections of persons that lose an updated record follow the record.
absl::Status LinkRun::PrepareIncoming() {
  prepared_.resize(n_incoming_);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, n_incoming_, 4096), [&](const auto& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      prepared_[i] = PrepareRecord(recs_[i], options_.conventions);
      supersessions_.Apply(&prepared_[i]);
    }
  });
  Progress("prepare", n_incoming_, n_incoming_);
  timer_.Done("prepare");
  absl::flat_hash_set<std::string> inherit;
  for (const index::StoredRecord& r : replaced_) {
    EMPI_ASSIGN_OR_RETURN(auto person, store_->GetPerson(r.person_id));
    if (person && person->objection) inherit.insert(r.record.Key());
  }
  for (size_t i = 0; i < n_incoming_; ++i) work_[i].inherit_objection = inherit.contains(recs_[i].Key());
  keys_.resize(n_incoming_);
  for (size_t i = 0; i < n_incoming_; ++i) keys_[i] = ComputeBlockKeys(blocking_.rules, prepared_[i]);
  return absl::OkStatus();
}

// 3. Stored neighbours: records sharing a blocking key with an incoming
// record, and every record of the persons they belong to (every stored
// record when the model is estimated again).
absl::Status LinkRun::FetchStoredNeighbours() {
  if (!has_records_ || n_incoming_ == 0) {
    timer_.Done("fetch stored neighbours");
    return absl::OkStatus();
  }
  const BlockingRules& rules = blocking_.rules;
  absl::flat_hash_set<std::string> incoming_keys;
  for (const Record& r : recs_) incoming_keys.insert(r.Key());
  std::mutex mu;
  absl::flat_hash_set<std::string> neighbour_keys;
  absl::Status error;
  tbb::parallel_for(size_t{0}, n_incoming_, [&](size_t i) {
    for (size_t r = 0; r < rules.rules().size(); ++r) {
      if (keys_[i][r] == 0) continue;
      bool truncated = false;
      auto members =
          store_->BlockMembers(rules.rules()[r].id, BlockKeyBytes(keys_[i][r]), blocking_.max_block_size, &truncated);
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
  if (fetch_all_stored_) {
    EMPI_RETURN_IF_ERROR(store_->ForEachRecord([&](const index::StoredRecord& r) {
      std::string k = r.record.Key();
      if (!incoming_keys.contains(k)) neighbour_keys.insert(std::move(k));
      return true;
    }));
  }
  absl::flat_hash_set<uint64_t> persons;
  absl::flat_hash_set<std::string> all_stored;
  for (const std::string& k : neighbour_keys) {
    EMPI_ASSIGN_OR_RETURN(auto rec, store_->GetRecord(k));
    if (!rec) continue;
    if (persons.insert(rec->person_id).second) {
      EMPI_ASSIGN_OR_RETURN(auto members, store_->PersonRecords(rec->person_id));
      for (std::string& m : members) {
        if (!incoming_keys.contains(m)) all_stored.insert(std::move(m));
      }
    }
  }
  std::vector<std::string> sorted(all_stored.begin(), all_stored.end());
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& k : sorted) {
    EMPI_ASSIGN_OR_RETURN(auto rec, store_->GetRecord(k));
    if (!rec) continue;
    recs_.push_back(std::move(rec->record));
    work_.push_back({rec->person_id, /*stored=*/true, false});
  }
  prepared_.resize(work_.size());
  keys_.resize(work_.size());
  tbb::parallel_for(n_incoming_, work_.size(), [&](size_t i) {
    prepared_[i] = PrepareRecord(recs_[i], stored_conventions_);
    supersessions_.Apply(&prepared_[i]);
    keys_[i] = ComputeBlockKeys(rules, prepared_[i]);
  });
  summary_.stored_records_fetched = work_.size() - n_incoming_;
  timer_.Done("fetch stored neighbours");
  return absl::OkStatus();
}

// 4 to 6. Candidate pairs, the model (stored, or trained now), scores and
// clusters.
absl::Status LinkRun::ScoreAndCluster() {
  // Estimating the model again, pairs of two stored records are evidence
  // too; scored, a pair of two stored persons can only go to review
  // ("existing persons"), which is how links missed under the untrusted
  // model reach a steward.
  std::vector<bool> stored(work_.size());
  for (size_t i = 0; i < work_.size(); ++i) stored[i] = work_[i].stored && !fetch_all_stored_;
  MarkRelativesNumbers(&prepared_);
  std::vector<CandidatePair> candidates =
      GenerateCandidates(prepared_, keys_, stored, blocking_.rules, blocking_.max_block_size, &summary_.blocking);
  summary_.candidate_pairs = candidates.size();
  Progress("compare", candidates.size(), candidates.size());
  timer_.Done("block and compare");

  EMPI_ASSIGN_OR_RETURN(
      model_, ModelForRun(train_, stored_trusted_ ? std::move(stored_model_) : std::nullopt, options_.settings,
                          prepared_, candidates, keys_, blocking_.rules, &summary_.training));
  summary_.trained = model_.trained.has_value();
  // An untrusted estimate is kept (reported, and stored for the next link
  // to estimate again) only in place of a stored model that may not score
  // either.
  estimate_kept_ = model_.trained && (model_.trained_scores || !stored_trusted_);
  summary_.model = estimate_kept_ ? model_.trained->provenance : model_.scoring.provenance;
  timer_.Done("train");

  std::vector<ScoredLink> links = ScoreCandidates(model_.scoring, &prepared_, std::move(candidates));
  std::vector<uint64_t> existing(work_.size());
  for (size_t i = 0; i < work_.size(); ++i) existing[i] = work_[i].stored ? work_[i].old_person : 0;
  absl::flat_hash_set<std::pair<uint32_t, uint32_t>> never_link;
  // Never-link marks are made by stewards, so only in a non-empty store.
  if (has_records_) {
    EMPI_ASSIGN_OR_RETURN(never_link, NeverLinkPairs(*store_, recs_));
  }
  clusters_ = ClusterRecords(ClusterInput{&prepared_, &existing, &never_link, &model_.scoring}, std::move(links));
  summary_.links = clusters_.links_applied;
  summary_.review_pairs = clusters_.review.size();
  summary_.review_existing_persons =
      static_cast<uint64_t>(std::count_if(clusters_.review.begin(), clusters_.review.end(),
                                          [](const ReviewPair& r) { return r.reason == kReasonExistingPersons; }));
  timer_.Done("cluster");
  return absl::OkStatus();
}

// The persons to relink after the write (LinkSummary::revisit_persons).
void LinkRun::NoteRevisit() {
  if (summary_.stored_records_fetched == 0 || !UntrustedReason(model_.scoring.provenance).empty()) return;
  absl::flat_hash_set<uint64_t> persons;
  for (size_t i = 0; i < work_.size(); ++i) persons.insert(PersonOf(i));
  summary_.revisit_persons.assign(persons.begin(), persons.end());
  std::sort(summary_.revisit_persons.begin(), summary_.revisit_persons.end());
  summary_.revisit_all = fetch_all_stored_;
}

// 7. Person ids: the stored person of a group, else a new id in input order.
void LinkRun::AssignPersonIds(index::ChangeSet* header) {
  for (size_t i = 0; i < work_.size(); ++i) {
    if (work_[i].stored) person_of_group_[clusters_.group[i]] = work_[i].old_person;
  }
  std::vector<uint32_t> new_groups;
  for (size_t i = 0; i < work_.size(); ++i) {
    uint32_t g = clusters_.group[i];
    if (!person_of_group_.contains(g)) {
      person_of_group_[g] = 0;
      new_groups.push_back(g);
    }
  }
  uint64_t first_id = new_groups.empty() ? 0 : store_->AllocatePersonIds(new_groups.size(), header);
  for (size_t k = 0; k < new_groups.size(); ++k) {
    person_of_group_[new_groups[k]] = first_id + k;
    new_persons_.insert(first_id + k);
  }
  summary_.persons_new = new_groups.size();
  for (size_t i = 0; i < work_.size(); ++i) {
    if (work_[i].inherit_objection) objecting_.insert(PersonOf(i));
  }
}

// The header: updated records leave their old person and old keys; the
// model, meta, inherited objections and the review pairs.
absl::Status LinkRun::WriteHeader(index::ChangeSet* header, int64_t now_us) {
  const BlockingRules& rules = blocking_.rules;
  // The old version's keys were written with the database's conventions,
  // or with this run's if an earlier feed with this run's mapping stored it:
  // both are deleted (deleting an absent key is harmless).
  std::vector<FieldConventions> old_conventions = {stored_conventions_};
  if (!(options_.conventions == stored_conventions_)) old_conventions.push_back(options_.conventions);
  absl::flat_hash_set<uint64_t> old_numbers;
  for (const index::StoredRecord& r : replaced_) {
    std::string key = r.record.Key();
    for (const FieldConventions& c : old_conventions) {
      PreparedRecord p = PrepareRecord(r.record, c);
      supersessions_.Apply(&p);
      BlockKeys k = ComputeBlockKeys(rules, p);
      for (size_t q = 0; q < rules.rules().size(); ++q) {
        if (k[q] != 0) header->DeleteBlockKey(rules.rules()[q].id, BlockKeyBytes(k[q]), key);
      }
      if (p.nhs != 0) header->DeleteNhs(p.nhs, key);
      if (p.nhs_validated) old_numbers.insert(p.nhs);
    }
    header->RemoveMembership(r.person_id, key);
  }
  EMPI_RETURN_IF_ERROR(RemarkStoredHolders(old_numbers, header));
  if (estimate_kept_) header->PutModel(model_.trained->ToJson().dump());
  if (!has_records_) header->PutMeta("field_conventions", ConventionsMeta(options_.conventions));
  header->PutMeta(kBlockingMeta, BlockingMeta(blocking_));
  // Records move and review pairs appear: persons' objection_in_review is
  // out of date until the caller recomputes it (engine/linkage/review_objections.h).
  header->PutMeta(index::kMetaReviewObjectionsDirty, "");
  if (!summary_.revisit_persons.empty()) {
    header->PutMeta(kMetaRevisitPending, EncodeRevisitScope(summary_.revisit_persons, summary_.revisit_all));
  }
  for (uint64_t pid : objecting_) {
    EMPI_ASSIGN_OR_RETURN(auto pv, store_->GetPerson(pid));
    index::PersonValue v = pv.value_or(index::PersonValue{});
    if (!v.objection) {
      v.objection = true;
      v.objection_time_us = now_us;
      v.objection_method = index::ObjectionMethod::kSteward;
      v.objection_reference = "inherited: a record of an objecting person was relinked";
    }
    if (v.created_time_us == 0) v.created_time_us = now_us;
    header->PutPerson(pid, v);
  }
  for (const ReviewPair& rp : clusters_.review) {
    header->PutReview(recs_[rp.a].Key(), recs_[rp.b].Key(),
                      {rp.match_weight, Model::Probability(rp.match_weight), rp.reason});
  }
  return absl::OkStatus();
}

// The stored holders of the numbers this link gives holders to, or takes
// them from (`old_numbers`: the numbers of the records it replaces), whose
// marks change (number_marks.h): judged among this link's records where
// they hold every holder, else against the store.
absl::Status LinkRun::RemarkStoredHolders(const absl::flat_hash_set<uint64_t>& old_numbers,
                                          index::ChangeSet* header) const {
  if (!has_records_) return absl::OkStatus();
  std::vector<std::string> keys(work_.size());
  absl::flat_hash_map<std::string_view, uint32_t> index_of;
  for (uint32_t i = 0; i < work_.size(); ++i) {
    keys[i] = recs_[i].Key();
    index_of.emplace(keys[i], i);
  }
  const std::vector<uint64_t> brought = JudgedNumbers(prepared_, n_incoming_);
  Remarked remarked;
  auto find = [&](std::string_view key) {
    const auto it = index_of.find(key);
    if (it == index_of.end()) return Found{};
    return Found{&prepared_[it->second], PersonOf(it->second), it->second < n_incoming_};
  };
  EMPI_RETURN_IF_ERROR(RemarkFromPrepared(*store_, &brought, find, header, &remarked));
  absl::flat_hash_set<std::string> leaving;
  for (const index::StoredRecord& r : replaced_) leaving.insert(r.record.Key());
  auto prepare = [this](const Record& r) {
    PreparedRecord p = PrepareRecord(r, stored_conventions_);
    supersessions_.Apply(&p);
    return p;
  };
  for (uint64_t nhs : old_numbers) {
    if (std::binary_search(brought.begin(), brought.end(), nhs)) continue;
    EMPI_RETURN_IF_ERROR(JudgeStoredNumber(*store_, nhs, leaving, {}, prepare, header, &remarked));
  }
  AddJudgedChange(remarked, header);
  return absl::OkStatus();
}

// Persons that every stored record leaves (all of their records are
// updated and relinked elsewhere), computed from the stored membership
// before writing; deleted in the same write, so no state without them is
// ever visible.
absl::StatusOr<std::vector<uint64_t>> LinkRun::EmptiedPersons() const {
  absl::flat_hash_set<uint64_t> target_persons;
  for (const auto& [g, pid] : person_of_group_) target_persons.insert(pid);
  std::vector<uint64_t> emptied;
  absl::flat_hash_set<std::string> moved;
  for (const index::StoredRecord& r : replaced_) moved.insert(r.record.Key());
  absl::flat_hash_set<uint64_t> seen;
  for (const index::StoredRecord& r : replaced_) {
    if (target_persons.contains(r.person_id) || !seen.insert(r.person_id).second) continue;
    EMPI_ASSIGN_OR_RETURN(auto members, store_->PersonRecords(r.person_id));
    if (std::all_of(members.begin(), members.end(), [&](const std::string& k) { return moved.contains(k); })) {
      emptied.push_back(r.person_id);
    }
  }
  std::sort(emptied.begin(), emptied.end());
  return emptied;
}

// The incoming records of chunk `c`, with their memberships, keys, new
// persons and change-feed entries: one change per person for its new
// records, one per updated record.
void LinkRun::WriteChunk(size_t c, int64_t now_us, index::ChangeSet* cs) {
  const BlockingRules& rules = blocking_.rules;
  uint64_t last_person = 0;
  index::Change linked;
  auto add_linked = [&] {
    if (!linked.records.empty()) cs->AddChange(std::move(linked));
    linked = index::Change{};
  };
  for (size_t k = chunks_[c].first; k < chunks_[c].second; ++k) {
    uint32_t i = order_[k];
    uint64_t pid = PersonOf(i);
    std::string key = recs_[i].Key();
    index::StoredRecord sr{std::move(recs_[i]), pid};
    if (pid != last_person) {
      add_linked();
      linked.kind = new_persons_.contains(pid) ? "new-person" : "record-linked";
      linked.persons = {pid};
    }
    if (auto old = replaced_by_key_.find(key); old != replaced_by_key_.end()) {
      index::AddRecordChanges(old->second, sr, new_persons_.contains(pid), cs);
    } else {
      linked.records.push_back(key);
    }
    cs->PutRecord(sr);
    cs->AddMembership(pid, key);
    for (size_t q = 0; q < rules.rules().size(); ++q) {
      if (keys_[i][q] != 0) cs->PutBlockKey(rules.rules()[q].id, BlockKeyBytes(keys_[i][q]), key);
    }
    if (prepared_[i].nhs != 0) cs->PutNhs(prepared_[i].nhs, key, prepared_[i].nhs_relatives);
    if (pid != last_person && new_persons_.contains(pid) && !objecting_.contains(pid)) {
      index::PersonValue v;
      v.created_time_us = now_us;
      cs->PutPerson(pid, v);
    }
    last_person = pid;
  }
  add_linked();
}

// 8. Write: the header, then whole persons per chunk, then the tail (emptied
// persons, the record count), in one WriteBatch or one bulk load.
absl::Status LinkRun::Write(index::ChangeSet header) {
  const int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  EMPI_RETURN_IF_ERROR(WriteHeader(&header, now_us));
  EMPI_ASSIGN_OR_RETURN(emptied_, EmptiedPersons());
  records_total_ = stored_before_ + summary_.new_records;

  // Incoming records ordered by person, so each chunk holds whole persons.
  order_.reserve(n_incoming_);
  for (uint32_t i = 0; i < n_incoming_; ++i) order_.push_back(i);
  std::sort(order_.begin(), order_.end(), [&](uint32_t x, uint32_t y) {
    uint64_t px = PersonOf(x), py = PersonOf(y);
    return px != py ? px < py : x < y;
  });
  // Rounds overlap, so each family's rounds land in level 0 as separate
  // files until compacted: at most kMaxBulkRounds of them (the bulk-load
  // options stop writes at 60 level-0 files), by enlarging rounds for
  // loads beyond kMaxBulkRounds * bulk_round_records records.
  constexpr size_t kMaxBulkRounds = 32;
  const size_t round_records =
      std::max<size_t>({size_t{1}, options_.bulk_round_records, (n_incoming_ + kMaxBulkRounds - 1) / kMaxBulkRounds});
  const size_t chunk_records = std::min<size_t>(20000, round_records);
  for (size_t b = 0; b < order_.size();) {
    size_t e = std::min(order_.size(), b + chunk_records);
    while (e < order_.size() && PersonOf(order_[e]) == PersonOf(order_[e - 1])) ++e;
    chunks_.emplace_back(b, e);
    b = e;
  }
  for (const index::StoredRecord& r : replaced_) replaced_by_key_.emplace(r.record.Key(), &r);

  index::AuditEvent event =
      AuditEventFor(Requester{options_.requester, options_.organisation, options_.role, options_.purpose}, "link");
  event.time_us = now_us;
  event.outcome = absl::StrCat("ok: ", summary_.new_records, " new, ", summary_.updated_records, " updated, ",
                               summary_.persons_new, " new persons, ", summary_.review_pairs, " review pairs");
  // Large runs are bulk-loaded (sorted SST files, one atomic ingestion)
  // instead of committed as one WriteBatch; see docs/format/store.md,
  // "Bulk ingestion".
  if (n_incoming_ < std::max<size_t>(1, options_.bulk_ingest_records)) {
    EMPI_RETURN_IF_ERROR(CommitOneBatch(&header, event, now_us));
  } else {
    EMPI_RETURN_IF_ERROR(CommitBulk(std::move(header), event, now_us, round_records, chunk_records));
  }
  summary_.records_total = records_total_;
  timer_.Done("write");
  return absl::OkStatus();
}

void LinkRun::WriteTail(index::ChangeSet* cs) const {
  for (uint64_t pid : emptied_) cs->DeletePerson(pid);
  cs->PutMeta("record_count", std::to_string(records_total_));
}

// One WriteBatch, synced, with the audit event: the header's deletes, every
// person and the tail become visible together or not at all.
absl::Status LinkRun::CommitOneBatch(index::ChangeSet* header, const index::AuditEvent& event, int64_t now_us) {
  for (size_t c = 0; c < chunks_.size(); ++c) WriteChunk(c, now_us, header);
  WriteTail(header);
  Progress("write", n_incoming_, n_incoming_);
  EMPI_RETURN_IF_ERROR(Hook("commit"));
  return store_->Commit(header, &event, /*sync=*/true);
}

// One bulk load: the header (with the person-id counter), rounds of about
// round_records records (whole chunks, so whole persons; memory holds one
// round) and the tail are written to SST files, then ingested in one call.
// The audit event follows in its own synced commit: a crash between the two
// leaves the run applied but unaudited, and a re-run finds every record
// unchanged.
absl::Status LinkRun::CommitBulk(index::ChangeSet header, const index::AuditEvent& event, int64_t now_us,
                                 size_t round_records, size_t chunk_records) {
  EMPI_ASSIGN_OR_RETURN(std::unique_ptr<index::BulkLoad> load, store_->StartBulkLoad());
  {
    std::vector<index::ChangeSet> first;
    first.push_back(std::move(header));
    EMPI_RETURN_IF_ERROR(load->AddRound(first));
    EMPI_RETURN_IF_ERROR(Hook("round"));
  }
  const size_t per_round = std::max<size_t>(1, round_records / chunk_records);
  std::atomic<uint64_t> written{0};
  for (size_t c0 = 0; c0 < chunks_.size(); c0 += per_round) {
    const size_t c1 = std::min(chunks_.size(), c0 + per_round);
    std::vector<index::ChangeSet> sets(c1 - c0);
    tbb::parallel_for(c0, c1, [&](size_t c) {
      sets[c - c0] = store_->NewChangeSet();
      WriteChunk(c, now_us, &sets[c - c0]);
      written += chunks_[c].second - chunks_[c].first;
    });
    EMPI_RETURN_IF_ERROR(load->AddRound(sets));
    Progress("write", written.load(), n_incoming_);
    EMPI_RETURN_IF_ERROR(Hook("round"));
  }
  {
    std::vector<index::ChangeSet> last(1);
    last[0] = store_->NewChangeSet();
    WriteTail(&last[0]);
    EMPI_RETURN_IF_ERROR(load->AddRound(last));
  }
  EMPI_RETURN_IF_ERROR(Hook("ingest"));
  EMPI_RETURN_IF_ERROR(load->Finish());
  // Bulk-ingested person views are merge operands until compacted;
  // real-time reads of a freshly loaded store should not pay for folding
  // them.
  EMPI_RETURN_IF_ERROR(store_->CompactPersonView());
  index::ChangeSet none = store_->NewChangeSet();
  EMPI_RETURN_IF_ERROR(Hook("commit"));
  return store_->Commit(&none, &event, /*sync=*/true);
}

}  // namespace

std::string EncodeRevisitScope(const std::vector<uint64_t>& sorted_persons, bool all) {
  if (all) return "all";
  std::string out;
  uint64_t last = 0;
  for (uint64_t pid : sorted_persons) {
    absl::StrAppend(&out, out.empty() ? "" : ",", pid - last);
    last = pid;
  }
  return out;
}

bool DecodeRevisitScope(std::string_view text, std::vector<uint64_t>* persons, bool* all) {
  persons->clear();
  *all = text == "all";
  if (*all || text.empty()) return true;
  uint64_t last = 0;
  for (absl::string_view gap : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    uint64_t g = 0;
    if (!absl::SimpleAtoi(gap, &g)) return false;
    last += g;
    persons->push_back(last);
  }
  return true;
}

absl::StatusOr<LinkSummary> LinkRecords(index::Store* store, std::vector<Record> input, const LinkOptions& options) {
  return LinkRun(store, std::move(input), options).Run();
}

}  // namespace empi
