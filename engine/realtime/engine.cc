// Copyright EMPI developers.
//
// engine.cc: opening the real-time engine, the names of its result enums,
// and the plumbing every part of EngineImpl uses (engine_impl.h says which
// file holds which part, and the lock discipline).
#include "empi/engine.h"

#include <algorithm>
#include <atomic>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "empi/status_macros.h"
#include "engine/linkage/linker.h"
#include "engine/linkage/model.h"
#include "engine/linkage/review_objections.h"
#include "engine/linkage/store_events.h"
#include "engine/realtime/engine_impl.h"
#include "engine/realtime/engine_internal.h"
#include "matchers/date_of_birth.h"
#include "matchers/nhs_number.h"
#include "xxhash.h"

namespace empi {

std::string_view MatchGradeName(MatchGrade g) {
  switch (g) {
    case MatchGrade::kCertain: return "certain";
    case MatchGrade::kProbable: return "probable";
    case MatchGrade::kPossible: return "possible";
    case MatchGrade::kCertainlyNot: return "certainly-not";
  }
  return "certainly-not";
}

std::string_view IngestOutcomeName(IngestOutcome o) {
  switch (o) {
    case IngestOutcome::kLinked: return "linked";
    case IngestOutcome::kNewPerson: return "new person";
    case IngestOutcome::kReview: return "review";
    case IngestOutcome::kUnchanged: return "unchanged";
  }
  return "";
}

std::string_view ObjectionOutcomeName(ObjectionOutcome o) {
  switch (o) {
    case ObjectionOutcome::kApplied: return "applied";
    case ObjectionOutcome::kPending: return "pending";
    case ObjectionOutcome::kRefused: return "refused";
  }
  return "";
}
namespace realtime {
namespace {

// The UTC date of `t` as yyyymmdd.
int32_t YmdOf(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

// Today's UTC date as yyyymmdd, computed once per day: a view decision asks
// for it on every call.
int32_t TodayYmd() {
  static std::atomic<uint64_t> cached{0};  // (days since the epoch << 32) | yyyymmdd
  const std::time_t t = std::time(nullptr);
  const uint64_t day = static_cast<uint64_t>(t / 86400);
  const uint64_t c = cached.load(std::memory_order_relaxed);
  if (c >> 32 == day) return static_cast<int32_t>(c & 0xFFFFFFFF);
  const int32_t ymd = YmdOf(t);
  cached.store(day << 32 | static_cast<uint32_t>(ymd), std::memory_order_relaxed);
  return ymd;
}

// The model's version as answers carry it: a hash of its JSON.
std::string ModelVersion(const Model& model) {
  const std::string json = model.ToJson().dump();
  return absl::StrCat(absl::Hex(XXH3_64bits(json.data(), json.size()), absl::kZeroPad16));
}

}  // namespace

absl::Status CheckQueryDate(std::string_view date) {
  if (date.empty() || ParseDate(date, DateFormat::kIso)) return absl::OkStatus();
  return absl::InvalidArgumentError("date_of_birth: not a valid date (YYYY-MM-DD, a day that exists)");
}

Record QueryRecord(std::string source, const Demographics& d) {
  Record r;
  r.source = std::move(source);
  r.record_id = "query";
  r.nhs_number = d.nhs_number;
  r.family_name = d.family_name;
  r.given_names = d.given_names;
  r.date_of_birth = d.date_of_birth;
  r.postcode = d.postcode;
  r.sex = d.sex;
  return r;
}

std::string RecordKey(std::string_view source, std::string_view record_id) {
  Record r;
  r.source = source;
  r.record_id = record_id;
  return r.Key();
}

std::vector<std::string> RecordKeysOf(const nlohmann::json& records) {
  std::vector<std::string> keys;
  if (!records.is_array()) return keys;
  for (const nlohmann::json& r : records) {
    if (!r.is_object() || !r.contains("source") || !r["source"].is_string() || !r.contains("record_id") ||
        !r["record_id"].is_string()) {
      continue;
    }
    keys.push_back(RecordKey(r["source"].get<std::string>(), r["record_id"].get<std::string>()));
  }
  return keys;
}

RecordRef RefOf(std::string_view record_key) {
  std::string_view source, record_id;
  SplitRecordKey(record_key, &source, &record_id);
  return RecordRef{std::string(source), std::string(record_id)};
}

std::string PendingKey(uint64_t nhs) { return FormatNhsNumber(nhs); }

EngineImpl::EngineImpl(const EngineOptions& options, std::unique_ptr<index::Store> store, Model model,
                       ModelProvenance stored, bool model_stored, FieldConventions conventions, ContributorRegister reg,
                       BlockingRules rules)
    : options_(options),
      store_(std::move(store)),
      model_stored_(model_stored),
      conventions_(conventions),
      register_(std::move(reg)),
      rules_(std::move(rules)),
      syncer_(options_.sync ? std::make_unique<index::WalSyncer>([s = store_.get()] { return s->SyncWal(); })
                            : nullptr),
      fixed_today_(ParseDate(options_.today, DateFormat::kIso).value_or(0)) {
  absl::MutexLock lock(&write_mu_);  // for the annotations: nothing else holds the engine yet
  UseModel(std::move(model), std::move(stored));
}

void EngineImpl::UseModel(Model model, ModelProvenance stored) {
  auto live = std::make_unique<LiveModel>(LiveModel{std::move(model), "", std::move(stored)});
  live->version = ModelVersion(live->model);
  live_.store(live.get(), std::memory_order_release);
  models_.push_back(std::move(live));
}

ModelInfo EngineImpl::CurrentModel() const {
  const LiveModel& live = *live_.load(std::memory_order_acquire);
  const ModelProvenance& p = live.stored;
  return ModelInfo{.version = live.version,
                   .untrusted_reason = UntrustedReason(p),
                   .origin = p.origin,
                   .records = p.records,
                   .candidate_pairs = p.candidate_pairs,
                   .em_iterations = p.em_iterations,
                   .em_converged = p.em_converged,
                   .estimated_matches = p.estimated_matches,
                   .trained_at = p.trained_at};
}

absl::StatusOr<EngineOverview> EngineImpl::Overview(const Requester& who) {
  EngineOverview o;
  o.model = CurrentModel();
  o.last_change = store_->last_change();
  EMPI_ASSIGN_OR_RETURN(o.records, RecordCount());
  o.write_failure = std::string(store_->WriteFailure().message());
  {
    absl::MutexLock lock(&write_mu_);
    o.next_model_estimate_at = next_estimate_at_;
  }
  index::AuditEvent ev = AuditEventFor(who, "overview");
  ev.outcome = absl::StrCat("ok: ", o.records, " records");
  EMPI_RETURN_IF_ERROR(CommitAudit(ev));
  return o;
}

int32_t EngineImpl::Today() const { return fixed_today_ != 0 ? fixed_today_ : TodayYmd(); }

absl::Status EngineImpl::CommitAudit(const index::AuditEvent& ev) {
  index::ChangeSet none = store_->NewChangeSet();
  return store_->Commit(&none, &ev, /*sync=*/false);
}

absl::Status EngineImpl::CommitWithReviewObjections(index::ChangeSet* cs, const index::AuditEvent* ev,
                                                    const absl::flat_hash_set<uint64_t>& persons) {
  if (persons.empty()) return store_->Commit(cs, ev, false);
  EMPI_RETURN_IF_ERROR(MarkReviewObjectionsDirty(*store_, cs));
  EMPI_RETURN_IF_ERROR(store_->Commit(cs, ev, false));
  return UpdateReviewObjections(store_.get(), persons);
}

PreparedRecord EngineImpl::Prepare(const Record& r) const {
  PreparedRecord p = PrepareRecord(r, conventions_);
  {
    absl::ReaderMutexLock lock(&supersessions_mu_);
    supersessions_.Apply(&p);
  }
  model().Annotate(&p);
  return p;
}

uint64_t EngineImpl::CurrentNhs(uint64_t nhs) const {
  absl::ReaderMutexLock lock(&supersessions_mu_);
  return supersessions_.Current(nhs);
}

absl::StatusOr<std::vector<uint64_t>> EngineImpl::PersonsOf(const std::vector<std::string>& keys,
                                                            const rocksdb::Snapshot* snap) const {
  std::vector<uint64_t> persons;
  EMPI_ASSIGN_OR_RETURN(auto records, store_->GetRecords(keys, snap));
  for (const auto& got : records) {
    if (got) persons.push_back(got->person_id);
  }
  std::sort(persons.begin(), persons.end());
  persons.erase(std::unique(persons.begin(), persons.end()), persons.end());
  return persons;
}

void EngineImpl::Stamp(const Answered& when, index::AuditEvent* ev) const {
  ev->at_change = when.at_change;
  ev->model_version = model_version();
  ev->as_of = when.as_of;
}

absl::StatusOr<uint64_t> EngineImpl::ChangeOf(const AsOf& as_of) const {
  uint64_t change = as_of.change;
  if (change == 0 && as_of.time_us != 0) {
    EMPI_ASSIGN_OR_RETURN(change, store_->ChangeAtTime(as_of.time_us));
  }
  const uint64_t last = store_->last_change();
  if (change > last) {
    return absl::InvalidArgumentError(absl::StrCat("as_of.change: ", change, " is after the last change, ", last));
  }
  if (change < store_->history_from()) {
    return absl::FailedPreconditionError(absl::StrCat("as_of: this store's history begins at change ",
                                                      store_->history_from(), " (its upgrade to format 7)"));
  }
  return change;
}

int32_t EngineImpl::DayOf(const AsOf& as_of) const {
  if (fixed_today_ != 0 || as_of.time_us == 0) return Today();
  return YmdOf(static_cast<std::time_t>(as_of.time_us / 1'000'000));
}

nlohmann::json EngineImpl::HistoryJson(const char* event, const Requester& who, const std::string& reason) {
  nlohmann::json h;
  h["event"] = event;
  h["time_us"] = NowUs();
  h["by"] = who.requester;
  h["organisation"] = who.organisation;
  h["role"] = who.role;
  h["reason"] = reason;
  return h;
}

}  // namespace realtime

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options, const std::string& path) {
  return OpenEngineWithEnv(options, path, nullptr);
}

index::Store* StoreOf(Engine* engine) { return static_cast<realtime::EngineImpl*>(engine)->store(); }

absl::StatusOr<std::unique_ptr<Engine>> OpenEngineWithEnv(const EngineOptions& options, const std::string& path,
                                                          rocksdb::Env* env) {
  if (!options.today.empty() && !ParseDate(options.today, DateFormat::kIso)) {
    return absl::InvalidArgumentError(absl::StrCat("today: \"", options.today, "\" is not a date YYYY-MM-DD"));
  }
  EMPI_ASSIGN_OR_RETURN(ContributorRegister reg,
                        ContributorRegister::Load(options.contributor_register, options.region));
  index::StoreOptions store_options;
  store_options.block_cache_bytes = options.block_cache_bytes;
  store_options.read_cache_persons = options.read_cache_persons;
  store_options.env = env;
  EMPI_ASSIGN_OR_RETURN(auto store, index::Store::Open(path, store_options));
  // A crash between a change and its objection_in_review update.
  EMPI_RETURN_IF_ERROR(RecomputeReviewObjectionsIfDirty(store.get()));
  bool stored = true;
  absl::StatusOr<Model> model = LoadModel(*store);
  if (absl::IsNotFound(model.status())) {
    model = Model::Informed();
    stored = false;
  }
  EMPI_RETURN_IF_ERROR(model.status());
  const ModelProvenance provenance = model->provenance;
  // A model not trained on enough evidence (a first link of a few records)
  // does not score: the informed priors do, until the engine (or a link)
  // estimates it again.
  if (!UntrustedReason(provenance).empty()) model = Model::Informed();
  EMPI_ASSIGN_OR_RETURN(FieldConventions conventions, StoredConventions(*store));
  EMPI_ASSIGN_OR_RETURN(std::optional<BlockingSettings> blocking, StoredBlocking(*store));
  auto engine =
      std::make_unique<realtime::EngineImpl>(options, std::move(store), std::move(*model), provenance, stored,
                                             conventions, std::move(reg), blocking.value_or(BlockingSettings{}).rules);
  EMPI_RETURN_IF_ERROR(engine->LoadSupersessions());
  EMPI_RETURN_IF_ERROR(engine->LoadPendingForms());
  EMPI_RETURN_IF_ERROR(engine->PlanModelEstimate());
  EMPI_RETURN_IF_ERROR(engine->LoadUnrevisitedFrom());
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace empi
