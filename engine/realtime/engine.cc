// Copyright EMPI developers.
//
// The real-time engine. Writes follow engine/linkage/linker.cc exactly
// (record, membership, block keys under the rule ids, NHS index, persons,
// "record_count"), so batch and real-time share one store.
//
// Lock order: write_mu_ only; the store has its own internal locking.
#include "empi/engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "empi/status_macros.h"
#include "engine/linkage/blocking.h"
#include "engine/linkage/clustering.h"
#include "engine/linkage/comparisons.h"
#include "engine/linkage/linker.h"
#include "engine/linkage/model.h"
#include "engine/linkage/store_events.h"
#include "engine/linkage/supersession.h"
#include "engine/realtime/contributor_register.h"
#include "engine/realtime/engine_internal.h"
#include "index/review_objections.h"
#include "index/wal_syncer.h"
#include "matchers/date_of_birth.h"
#include "matchers/nhs_number.h"
#include "nlohmann/json.hpp"
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

namespace {

constexpr double kPossibleProbability = 0.05;
constexpr size_t kMaxJoinComparisons = 10'000;

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

// A search's or an objection form's demographics as a record of `source`,
// to be prepared and scored like any other.
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

// A query's date of birth: empty, or a real ISO date. The value is not
// repeated in the error (it is patient data).
absl::Status CheckQueryDate(std::string_view date) {
  if (date.empty() || ParseDate(date, DateFormat::kIso)) return absl::OkStatus();
  return absl::InvalidArgumentError("date_of_birth: not a valid date (YYYY-MM-DD, a day that exists)");
}

std::string RecordKey(const std::string& source, const std::string& record_id) {
  Record r;
  r.source = source;
  r.record_id = record_id;
  return r.Key();
}

// The model's version as answers carry it: a hash of its JSON.
std::string ModelVersion(const Model& model) {
  const std::string json = model.ToJson().dump();
  return absl::StrCat(absl::Hex(XXH3_64bits(json.data(), json.size()), absl::kZeroPad16));
}

// Releases a snapshot at scope exit.
class SnapshotHolder {
 public:
  explicit SnapshotHolder(const index::Store* s) : store_(s), snap_(s->GetSnapshot()) {}
  ~SnapshotHolder() { store_->ReleaseSnapshot(snap_); }
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  const index::Store* store_;
  const rocksdb::Snapshot* snap_;
};

std::string PendingKey(uint64_t nhs) { return FormatNhsNumber(nhs); }

// Why a form identifies nobody: no person scores even the review threshold.
// Such a form is held pending; a weak or ambiguous one is refused.
constexpr std::string_view kNoMatchingPerson = "no matching person";

constexpr char kPendingFormPrefix[] = "form:";

// The pending key of a demographic form: "form:" and its normalised
// fields, so that the patient's second form or withdrawal finds it.
std::string FormKey(const PreparedRecord& p) {
  return absl::StrCat(kPendingFormPrefix, p.family, "|", p.given1, " ", p.given2, "|", p.dob, "|", p.postcode_unit);
}

bool SharesBlock(const BlockKeys& a, const BlockKeys& b) {
  for (size_t q = 0; q < a.size(); ++q) {
    if (a[q] != 0 && a[q] == b[q]) return true;
  }
  return false;
}

constexpr size_t kMaxReviewPage = 1000;

// A review queue cursor: the pair key of the last pair on a page, web-safe
// base64 so that it can travel in a URL.
bool DecodeReviewCursor(const std::string& cursor, std::string* pair_key) {
  std::string a, b;
  return absl::WebSafeBase64Unescape(cursor, pair_key) && index::SplitPairKey(*pair_key, &a, &b) && !a.empty() &&
         !b.empty();
}

RecordRef RefOf(std::string_view record_key) {
  std::string_view source, record_id;
  SplitRecordKey(record_key, &source, &record_id);
  return RecordRef{std::string(source), std::string(record_id)};
}

ReviewQueueEntry ReviewEntryOf(std::string_view a, std::string_view b, const index::ReviewValue& v) {
  ReviewQueueEntry p;
  p.a = RefOf(a);
  p.b = RefOf(b);
  p.match_weight = v.match_weight;
  p.match_probability = v.match_probability;
  p.reason = v.reason;
  return p;
}

class EngineImpl final : public Engine {
 public:
  EngineImpl(const EngineOptions& options, std::unique_ptr<index::Store> store, Model model, bool model_stored,
             FieldConventions conventions, ContributorRegister reg, BlockingRules rules)
      : options_(options),
        store_(std::move(store)),
        model_(std::move(model)),
        model_stored_(model_stored),
        conventions_(conventions),
        register_(std::move(reg)),
        rules_(std::move(rules)),
        syncer_(options_.sync ? std::make_unique<index::WalSyncer>([s = store_.get()] { return s->SyncWal(); })
                              : nullptr) {}

  index::Store* store() { return store_.get(); }

  absl::StatusOr<uint64_t> WarmCache() override { return store_->WarmCache(); }

  // ---------------------------------------------------------------- reads

  absl::StatusOr<Resolution> Resolve(const std::string& source, const std::string& record_id,
                                     const Requester& who) override {
    const std::string key = RecordKey(source, record_id);
    index::AuditEvent ev = AuditEventFor(who, "resolve");
    ev.records = {key};
    std::optional<index::Store::RecordPerson> got;
    EMPI_ASSIGN_OR_RETURN(const uint64_t at, store_->ReadAtChange([&]() -> absl::Status {
      EMPI_ASSIGN_OR_RETURN(got, store_->LatestRecordPerson(key));
      return absl::OkStatus();
    }));
    std::optional<Resolution> res;
    if (got) {
      EMPI_ASSIGN_OR_RETURN(res, StoredRecordResolution(got->person_id, got->view.get(), Today()));
    }
    return FinishResolve(std::move(res), got ? got->view.get() : nullptr, Answered{at, false}, &ev,
                         absl::StrCat("record ", source, ":", record_id, " not found"));
  }

  absl::StatusOr<Resolution> ResolveAsOf(const std::string& source, const std::string& record_id, const AsOf& as_of,
                                         const Requester& who) override {
    EMPI_ASSIGN_OR_RETURN(const uint64_t at, ChangeOf(as_of));
    const std::string key = RecordKey(source, record_id);
    index::AuditEvent ev = AuditEventFor(who, "resolve");
    ev.records = {key};
    EMPI_ASSIGN_OR_RETURN(const uint64_t pid, store_->RecordPersonAt(key, at));
    std::optional<index::PersonView> view;
    std::optional<Resolution> res;
    if (pid != 0) {
      EMPI_ASSIGN_OR_RETURN(view, store_->PersonViewAt(pid, at));
      EMPI_ASSIGN_OR_RETURN(res, StoredRecordResolution(pid, view ? &*view : nullptr, DayOf(as_of)));
    }
    return FinishResolve(std::move(res), view ? &*view : nullptr, Answered{at, true}, &ev,
                         absl::StrCat("record ", source, ":", record_id, " not found"));
  }

  absl::StatusOr<Resolution> ResolvePerson(uint64_t person_id, const Requester& who) override {
    index::AuditEvent ev = AuditEventFor(who, "resolve-person");
    ev.persons = {person_id};
    std::shared_ptr<const index::PersonView> view;
    EMPI_ASSIGN_OR_RETURN(const uint64_t at, store_->ReadAtChange([&]() -> absl::Status {
      EMPI_ASSIGN_OR_RETURN(view, store_->LatestPersonView(person_id));
      return absl::OkStatus();
    }));
    EMPI_ASSIGN_OR_RETURN(auto res, ResolutionOf(person_id, view.get(), Today(), /*with_records=*/true));
    return FinishResolve(std::move(res), view.get(), Answered{at, false}, &ev,
                         absl::StrCat("person ", person_id, " not found"));
  }

  absl::StatusOr<Resolution> ResolvePersonAsOf(uint64_t person_id, const AsOf& as_of, const Requester& who) override {
    EMPI_ASSIGN_OR_RETURN(const uint64_t at, ChangeOf(as_of));
    index::AuditEvent ev = AuditEventFor(who, "resolve-person");
    ev.persons = {person_id};
    EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonView> view, store_->PersonViewAt(person_id, at));
    EMPI_ASSIGN_OR_RETURN(auto res, ResolutionOf(person_id, view ? &*view : nullptr, DayOf(as_of), true));
    return FinishResolve(std::move(res), view ? &*view : nullptr, Answered{at, true}, &ev,
                         absl::StrCat("person ", person_id, " not found"));
  }

  absl::StatusOr<Resolution> ResolveByNhsNumber(const std::string& nhs_number, const Requester& who) override {
    std::optional<uint64_t> nhs = ParseNhsNumber(nhs_number);
    if (!nhs) return absl::InvalidArgumentError("nhs_number: not a valid NHS number");
    nhs = CurrentNhs(*nhs);
    index::AuditEvent ev = AuditEventFor(who, "resolve-nhs");
    std::optional<Resolution> res;
    std::vector<uint64_t> persons;
    std::optional<index::PersonView> view;
    EMPI_ASSIGN_OR_RETURN(const uint64_t at, store_->ReadAtChange([&]() -> absl::Status {
      SnapshotHolder snap(store_.get());
      EMPI_ASSIGN_OR_RETURN(auto keys, store_->RecordsWithNhs(*nhs, snap.get()));
      EMPI_ASSIGN_OR_RETURN(persons, PersonsOf(keys, snap.get()));
      view.reset();
      if (persons.size() == 1) {
        EMPI_ASSIGN_OR_RETURN(view, store_->GetPersonView(persons[0], snap.get()));
      }
      return absl::OkStatus();
    }));
    if (persons.size() == 1) {
      EMPI_ASSIGN_OR_RETURN(res, StoredRecordResolution(persons[0], view ? &*view : nullptr, Today()));
    }
    if (persons.size() > 1) {
      ev.persons = persons;
      ev.outcome = "refused: nhs number in several persons";
      EMPI_RETURN_IF_ERROR(CommitAudit(ev));
      return absl::FailedPreconditionError(
          absl::StrCat("the NHS number is held by ", persons.size(), " persons awaiting review"));
    }
    return FinishResolve(std::move(res), view ? &*view : nullptr, Answered{at, false}, &ev,
                         "no record holds this NHS number");
  }

  absl::StatusOr<std::vector<Candidate>> Search(const Demographics& d, const Requester& who, size_t limit) override {
    EMPI_RETURN_IF_ERROR(CheckQueryDate(d.date_of_birth));
    const Record r = QueryRecord("search", d);
    std::vector<Candidate> out;
    {
      SnapshotHolder snap(store_.get());
      EMPI_ASSIGN_OR_RETURN(out, SearchAt(r, limit, snap.get()));
    }
    index::AuditEvent ev = AuditEventFor(who, "search");
    for (const Candidate& c : out) {
      ev.persons.push_back(c.person_id);
      Record k;
      k.source = c.best_record.source;
      k.record_id = c.best_record.record_id;
      ev.records.push_back(k.Key());
    }
    ev.outcome = absl::StrCat("ok: ", out.size(), " candidates");
    EMPI_RETURN_IF_ERROR(CommitAudit(ev));
    return out;
  }

  absl::StatusOr<ViewDecision> MayAssembleView(uint64_t person_id, const Requester& who) override {
    std::shared_ptr<const index::PersonView> view;
    EMPI_ASSIGN_OR_RETURN(const uint64_t at, store_->ReadAtChange([&]() -> absl::Status {
      EMPI_ASSIGN_OR_RETURN(view, store_->LatestPersonView(person_id));
      return absl::OkStatus();
    }));
    EMPI_ASSIGN_OR_RETURN(auto res, ResolutionOf(person_id, view.get(), Today(), /*with_records=*/false));
    return DecideView(person_id, std::move(res), Answered{at, false}, who, {});
  }

  absl::StatusOr<ViewDecision> MayAssembleViewAsOf(uint64_t person_id, const AsOf& as_of,
                                                   const Requester& who) override {
    EMPI_ASSIGN_OR_RETURN(const uint64_t at, ChangeOf(as_of));
    EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonView> view, store_->PersonViewAt(person_id, at));
    EMPI_ASSIGN_OR_RETURN(auto res, ResolutionOf(person_id, view ? &*view : nullptr, DayOf(as_of), false));
    return DecideView(person_id, std::move(res), Answered{at, true}, who, {});
  }

  absl::StatusOr<ViewDecision> MayAssembleViewForRecord(const std::string& source, const std::string& record_id,
                                                        const Requester& who) override {
    const std::string key = RecordKey(source, record_id);
    std::optional<index::Store::RecordPerson> got;
    EMPI_ASSIGN_OR_RETURN(const uint64_t at, store_->ReadAtChange([&]() -> absl::Status {
      EMPI_ASSIGN_OR_RETURN(got, store_->LatestRecordPerson(key));
      return absl::OkStatus();
    }));
    std::optional<Resolution> res;
    uint64_t pid = 0;
    if (got) {
      pid = got->person_id;
      EMPI_ASSIGN_OR_RETURN(res, StoredRecordResolution(pid, got->view.get(), Today(), /*with_records=*/false));
    }
    return DecideView(pid, std::move(res), Answered{at, false}, who, key);
  }

  absl::StatusOr<ViewDecision> MayAssembleViewForRecordAsOf(const std::string& source, const std::string& record_id,
                                                            const AsOf& as_of, const Requester& who) override {
    EMPI_ASSIGN_OR_RETURN(const uint64_t at, ChangeOf(as_of));
    const std::string key = RecordKey(source, record_id);
    EMPI_ASSIGN_OR_RETURN(const uint64_t pid, store_->RecordPersonAt(key, at));
    std::optional<Resolution> res;
    if (pid != 0) {
      EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonView> view, store_->PersonViewAt(pid, at));
      EMPI_ASSIGN_OR_RETURN(res, StoredRecordResolution(pid, view ? &*view : nullptr, DayOf(as_of), false));
    }
    return DecideView(pid, std::move(res), Answered{at, true}, who, key);
  }

  absl::StatusOr<SupersessionResult> Supersede(const Supersession& supersession, const Requester& who) override {
    const std::optional<uint64_t> old_nhs = ParseNhsNumber(supersession.old_nhs_number);
    if (!old_nhs) return absl::InvalidArgumentError("old_nhs_number: not a valid NHS number");
    const std::optional<uint64_t> new_nhs = ParseNhsNumber(supersession.new_nhs_number);
    if (!new_nhs) return absl::InvalidArgumentError("new_nhs_number: not a valid NHS number");
    SupersessionResult result;
    {
      absl::MutexLock lock(&write_mu_);
      EMPI_ASSIGN_OR_RETURN(result, SupersedeLocked(*old_nhs, *new_nhs, who));
    }
    if (result.added) EMPI_RETURN_IF_ERROR(Sync());
    return result;
  }

  absl::StatusOr<std::vector<ChangeEvent>> Changes(uint64_t since, size_t limit, std::chrono::milliseconds wait,
                                                   const Requester& who) override {
    if (limit == 0) return absl::InvalidArgumentError("changes: limit must be at least 1");
    if (wait.count() > 0 && store_->last_change() <= since) {
      store_->WaitForChange(since, absl::FromChrono(wait));
    }
    std::vector<ChangeEvent> out;
    EMPI_RETURN_IF_ERROR(store_->ForEachChange(since, [&](const index::StoredChange& c) {
      ChangeEvent e{c.sequence, c.change.time_us, c.change.kind, c.change.persons, {}};
      for (const std::string& key : c.change.records) e.records.push_back(RefOf(key));
      out.push_back(std::move(e));
      return out.size() < limit;
    }));
    index::AuditEvent ev = AuditEventFor(who, "changes");
    ev.outcome =
        out.empty() ? absl::StrCat("ok: none after ", since)
                    : absl::StrCat("ok: ", out.size(), " changes, ", out.front().sequence, " to ", out.back().sequence);
    EMPI_RETURN_IF_ERROR(CommitAudit(ev));
    return out;
  }

  uint64_t LastChange() const override { return store_->last_change(); }

  absl::StatusOr<std::vector<HistoryEntry>> History(uint64_t person, const Requester& who) override {
    std::vector<HistoryEntry> out;
    {
      SnapshotHolder snap(store_.get());
      EMPI_RETURN_IF_ERROR(store_->ForEachHistory(
          person,
          [&](uint64_t seq, std::string_view json) {
            out.push_back({seq, std::string(json)});
            return true;
          },
          snap.get()));
    }
    index::AuditEvent ev = AuditEventFor(who, "history");
    ev.persons = {person};
    ev.outcome = absl::StrCat("ok: ", out.size(), " events");
    EMPI_RETURN_IF_ERROR(CommitAudit(ev));
    return out;
  }

  absl::StatusOr<ReviewQueuePage> ReviewQueue(size_t limit, const std::string& after_cursor,
                                              const Requester& who) override {
    if (limit == 0 || limit > kMaxReviewPage) {
      return absl::InvalidArgumentError(absl::StrCat("limit: must be from 1 to ", kMaxReviewPage));
    }
    std::string after;
    if (!after_cursor.empty() && !DecodeReviewCursor(after_cursor, &after)) {
      return absl::InvalidArgumentError("cursor: not a review queue cursor");
    }
    ReviewQueuePage page;
    index::AuditEvent ev = AuditEventFor(who, "review queue");
    {
      SnapshotHolder snap(store_.get());
      std::vector<std::string> keys;  // a, b of each pair on the page
      EMPI_RETURN_IF_ERROR(store_->ForEachReview(
          [&](std::string_view a, std::string_view b, const index::ReviewValue& v) {
            if (page.pairs.size() == limit) {
              page.next_cursor = absl::WebSafeBase64Escape(index::DirectedPairKey(keys[keys.size() - 2], keys.back()));
              return false;
            }
            page.pairs.push_back(ReviewEntryOf(a, b, v));
            keys.emplace_back(a);
            keys.emplace_back(b);
            return true;
          },
          snap.get(), after));
      EMPI_ASSIGN_OR_RETURN(auto records, store_->GetRecords(keys, snap.get()));
      for (size_t i = 0; i < page.pairs.size(); ++i) {
        page.pairs[i].person_a = records[2 * i] ? records[2 * i]->person_id : 0;
        page.pairs[i].person_b = records[2 * i + 1] ? records[2 * i + 1]->person_id : 0;
      }
      ev.records = std::move(keys);
    }
    for (const ReviewQueueEntry& p : page.pairs) {
      for (uint64_t person : {p.person_a, p.person_b}) {
        if (person != 0 && std::find(ev.persons.begin(), ev.persons.end(), person) == ev.persons.end()) {
          ev.persons.push_back(person);
        }
      }
    }
    ev.outcome = absl::StrCat("ok: ", page.pairs.size(), " pairs");
    EMPI_RETURN_IF_ERROR(CommitAudit(ev));
    return page;
  }

  absl::Status AuditRefusal(const std::string& action, const std::string& outcome, uint64_t person_id,
                            const Requester& who) override {
    index::AuditEvent ev = AuditEventFor(who, action);
    if (person_id != 0) ev.persons = {person_id};
    ev.outcome = outcome;
    return CommitAudit(ev);
  }

  absl::StatusOr<std::vector<AuditEvent>> AuditForPerson(uint64_t person) override {
    std::vector<AuditEvent> out;
    EMPI_RETURN_IF_ERROR(store_->ForEachAuditEvent([&](const index::StoredAuditEvent& e) {
      if (std::find(e.event.persons.begin(), e.event.persons.end(), person) == e.event.persons.end()) {
        return true;
      }
      AuditEvent a;
      a.sequence = e.sequence;
      a.time_us = e.event.time_us;
      a.requester = e.event.requester;
      a.organisation = e.event.organisation;
      a.role = e.event.role;
      a.purpose = e.event.purpose;
      a.action = e.event.action;
      a.outcome = e.event.outcome;
      a.persons = e.event.persons;
      for (const std::string& key : e.event.records) a.records.push_back(RefOf(key));
      a.at_change = e.event.at_change;
      a.model_version = e.event.model_version;
      a.as_of = e.event.as_of;
      out.push_back(std::move(a));
      return true;
    }));
    return out;
  }

  absl::StatusOr<std::vector<AuditEvent>> ReadAuditTrail(uint64_t person, const Requester& who) override {
    EMPI_ASSIGN_OR_RETURN(std::vector<AuditEvent> events, AuditForPerson(person));
    index::AuditEvent ev = AuditEventFor(who, "audit person");
    ev.persons = {person};
    ev.outcome = absl::StrCat("ok: ", events.size(), " events");
    EMPI_RETURN_IF_ERROR(CommitAudit(ev));
    return events;
  }

  // --------------------------------------------------------------- writes

  absl::StatusOr<IngestResult> Ingest(const Record& rec, const Requester& who) override {
    if (rec.source.empty() || rec.record_id.empty()) {
      return absl::InvalidArgumentError("ingest: source and record_id must not be empty");
    }
    IngestResult result;
    {
      absl::MutexLock lock(&write_mu_);
      EMPI_ASSIGN_OR_RETURN(result, IngestLocked(rec, who));
    }
    EMPI_RETURN_IF_ERROR(Sync());
    return result;
  }

  absl::StatusOr<ObjectionResult> RegisterObjection(const ObjectionRequest& req, const Requester& who) override {
    return ChangeObjection(req, who, /*object=*/true);
  }
  absl::StatusOr<uint64_t> ApplyPendingForms(const Requester& who) override {
    uint64_t applied = 0;
    {
      absl::MutexLock lock(&write_mu_);
      std::vector<ObjectionRequest> due;
      for (const auto& [key, form] : forms_) {
        std::string why;
        EMPI_ASSIGN_OR_RETURN(auto match, MatchForm(form.prepared, &why));
        if (match) due.push_back(form.request);
      }
      for (const ObjectionRequest& req : due) {
        EMPI_ASSIGN_OR_RETURN(ObjectionResult r, ChangeObjectionLocked(req, who, true, "apply-pending-objection"));
        applied += r.outcome == ObjectionOutcome::kApplied;
      }
    }
    if (applied > 0) EMPI_RETURN_IF_ERROR(Sync());
    return applied;
  }

  // Reads the stored supersessions (Engine::Open).
  absl::Status LoadSupersessions() {
    EMPI_ASSIGN_OR_RETURN(NhsSupersessions loaded, empi::LoadSupersessions(*store_));
    absl::MutexLock lock(&supersessions_mu_);
    supersessions_ = std::move(loaded);
    return absl::OkStatus();
  }

  // Reads the pending demographic forms into forms_ (Engine::Open).
  absl::Status LoadPendingForms() {
    absl::MutexLock lock(&write_mu_);
    return store_->ForEachPendingObjection([&](std::string_view key, const index::ObjectionValue& v) {
      if (!IsPendingFormKey(key)) return true;
      ObjectionRequest req{"",         v.family_name, v.given_names, v.date_of_birth,
                           v.postcode, v.method,      v.reference,   v.time_us};
      AddForm(std::string(key), req);
      return true;
    });
  }
  absl::StatusOr<ObjectionResult> WithdrawObjection(const ObjectionRequest& req, const Requester& who) override {
    return ChangeObjection(req, who, /*object=*/false);
  }

  absl::StatusOr<uint64_t> Merge(uint64_t a, uint64_t b, const Requester& who, const std::string& reason) override {
    if (a == b) return absl::InvalidArgumentError("merge: the two persons are the same");
    uint64_t seq = 0;
    {
      absl::MutexLock lock(&write_mu_);
      EMPI_ASSIGN_OR_RETURN(auto pa, store_->GetPerson(a));
      EMPI_ASSIGN_OR_RETURN(auto pb, store_->GetPerson(b));
      if (!pa) return absl::NotFoundError(absl::StrCat("merge: person ", a, " not found"));
      if (!pb) return absl::NotFoundError(absl::StrCat("merge: person ", b, " not found"));
      EMPI_ASSIGN_OR_RETURN(auto ka, store_->PersonRecords(a));
      EMPI_ASSIGN_OR_RETURN(auto kb, store_->PersonRecords(b));
      for (const auto& x : ka) {
        for (const auto& y : kb) {
          EMPI_ASSIGN_OR_RETURN(bool never, store_->IsNeverLink(x, y));
          if (never) {
            return absl::FailedPreconditionError(
                absl::StrCat("merge: persons ", a, " and ", b, " hold records marked never to be linked"));
          }
        }
      }
      index::ChangeSet cs = store_->NewChangeSet();
      EMPI_RETURN_IF_ERROR(MoveRecords(kb, b, a, &cs));
      index::PersonValue merged = *pa;
      if (pb->objection) index::AdoptObjection(&merged, *pb);
      cs.PutPerson(a, merged);
      cs.DeletePerson(b);
      for (const auto& x : ka) {
        for (const auto& y : kb) cs.DeleteReview(x, y);
      }
      EMPI_ASSIGN_OR_RETURN(seq, NextHistory(&cs));
      nlohmann::json h = HistoryJson("merge", who, reason);
      h["into"] = a;
      h["from"] = b;
      h["records"] = RecordsJson(kb);
      h["from_objection"] = pb->objection;
      h["from_objection_time_us"] = pb->objection_time_us;
      h["from_objection_method"] = static_cast<int>(pb->objection_method);
      h["from_objection_reference"] = pb->objection_reference;
      h["from_created_time_us"] = pb->created_time_us;
      cs.AppendHistory(a, seq, h.dump());
      cs.AppendHistory(b, seq, h.dump());
      cs.AddChange({.kind = "merge", .persons = {a, b}, .records = kb});
      index::AuditEvent ev = AuditEventFor(who, "merge");
      ev.persons = {a, b};
      ev.records = kb;
      ev.outcome = absl::StrCat("ok: merge event ", seq);
      EMPI_RETURN_IF_ERROR(CommitWithReviewObjections(&cs, &ev, {a, b}));
    }
    EMPI_RETURN_IF_ERROR(Sync());
    return seq;
  }

  absl::StatusOr<uint64_t> Split(uint64_t person, const std::vector<RecordRef>& records, const Requester& who,
                                 const std::string& reason) override {
    uint64_t pid = 0;
    {
      absl::MutexLock lock(&write_mu_);
      std::vector<std::string> keys;
      for (const RecordRef& r : records) {
        Record k;
        k.source = r.source;
        k.record_id = r.record_id;
        keys.push_back(k.Key());
      }
      EMPI_ASSIGN_OR_RETURN(pid, SplitLocked(person, keys, 0, who, reason, "split"));
    }
    EMPI_RETURN_IF_ERROR(Sync());
    return pid;
  }

  absl::StatusOr<uint64_t> Unmerge(uint64_t person, uint64_t merge_event, const Requester& who) override {
    uint64_t pid = 0;
    {
      absl::MutexLock lock(&write_mu_);
      std::optional<nlohmann::json> event;
      EMPI_RETURN_IF_ERROR(store_->ForEachHistory(person, [&](uint64_t seq, std::string_view json) {
        if (seq != merge_event) return true;
        nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
        if (!j.is_discarded()) event = std::move(j);
        return false;
      }));
      if (!event || event->value("event", "") != "merge" || event->value("into", uint64_t{0}) != person) {
        return absl::NotFoundError(absl::StrCat("unmerge: person ", person, " has no merge event ", merge_event));
      }
      const uint64_t from = (*event)["from"].get<uint64_t>();
      EMPI_ASSIGN_OR_RETURN(auto existing, store_->GetPerson(from));
      if (existing) return absl::FailedPreconditionError(absl::StrCat("unmerge: person ", from, " exists again"));
      EMPI_ASSIGN_OR_RETURN(auto current, store_->PersonRecords(person));
      absl::flat_hash_set<std::string> in_person(current.begin(), current.end());
      std::vector<std::string> keys;
      for (const auto& r : (*event)["records"]) {
        Record k;
        k.source = r["source"].get<std::string>();
        k.record_id = r["record_id"].get<std::string>();
        if (in_person.contains(k.Key())) keys.push_back(k.Key());
      }
      if (keys.empty()) {
        return absl::FailedPreconditionError("unmerge: none of the merged records is still in the person");
      }
      index::PersonValue restored;
      restored.objection = (*event)["from_objection"].get<bool>();
      restored.objection_time_us = (*event)["from_objection_time_us"].get<int64_t>();
      restored.objection_method = static_cast<index::ObjectionMethod>((*event)["from_objection_method"].get<int>());
      restored.objection_reference = (*event)["from_objection_reference"].get<std::string>();
      restored.created_time_us = (*event)["from_created_time_us"].get<int64_t>();
      EMPI_ASSIGN_OR_RETURN(pid, SplitLocked(person, keys, from, who, absl::StrCat("unmerge of event ", merge_event),
                                             "unmerge", &restored));
    }
    EMPI_RETURN_IF_ERROR(Sync());
    return pid;
  }

  absl::Status NeverLink(const RecordRef& a, const RecordRef& b, const Requester& who,
                         const std::string& reason) override {
    Record ra, rb;
    ra.source = a.source;
    ra.record_id = a.record_id;
    rb.source = b.source;
    rb.record_id = b.record_id;
    const std::string ka = ra.Key(), kb = rb.Key();
    if (ka == kb) return absl::InvalidArgumentError("never-link: the two records are the same");
    {
      absl::MutexLock lock(&write_mu_);
      EMPI_ASSIGN_OR_RETURN(auto ga, store_->GetRecord(ka));
      EMPI_ASSIGN_OR_RETURN(auto gb, store_->GetRecord(kb));
      if (!ga)
        return absl::NotFoundError(absl::StrCat("never-link: record ", a.source, ":", a.record_id, " not found"));
      if (!gb)
        return absl::NotFoundError(absl::StrCat("never-link: record ", b.source, ":", b.record_id, " not found"));
      if (ga->person_id == gb->person_id) {
        return absl::FailedPreconditionError(
            absl::StrCat("never-link: both records are in person ", ga->person_id, "; split one off first"));
      }
      index::ChangeSet cs = store_->NewChangeSet();
      cs.PutNeverLink(ka, kb);
      cs.DeleteReview(ka, kb);
      EMPI_ASSIGN_OR_RETURN(uint64_t seq, NextHistory(&cs));
      nlohmann::json h = HistoryJson("never-link", who, reason);
      h["records"] = RecordsJson({ka, kb});
      cs.AppendHistory(ga->person_id, seq, h.dump());
      cs.AppendHistory(gb->person_id, seq, h.dump());
      cs.AddChange({.kind = "never-link", .persons = {ga->person_id, gb->person_id}, .records = {ka, kb}});
      index::AuditEvent ev = AuditEventFor(who, "never-link");
      ev.persons = {ga->person_id, gb->person_id};
      ev.records = {ka, kb};
      ev.outcome = "ok";
      EMPI_RETURN_IF_ERROR(CommitWithReviewObjections(&cs, &ev, {ga->person_id, gb->person_id}));
    }
    return Sync();
  }

 private:
  // Appends the audit event of a read (which changes nothing else). It is
  // chained and written to audit.log (the page cache) before the answer is
  // returned, so it survives a process crash, but it is not synced on its
  // own: a machine crash may lose the read events written since the log's
  // last checkpoint (every 1,024 change events, and on close), never a
  // change's, and the chain on disk is always a verifying prefix. It never
  // waits behind a change batch (index/audit_log.h).
  absl::Status CommitAudit(const index::AuditEvent& ev) {
    index::ChangeSet none = store_->NewChangeSet();
    return store_->Commit(&none, &ev, /*sync=*/false);
  }

  // Commits a change (unsynced) that may change the objection_in_review of
  // `persons` (index/review_objections.h), then brings their flags up to
  // date. Empty `persons`: a plain commit.
  absl::Status CommitWithReviewObjections(index::ChangeSet* cs, const index::AuditEvent* ev,
                                          const absl::flat_hash_set<uint64_t>& persons)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    if (persons.empty()) return store_->Commit(cs, ev, false);
    cs->PutMeta(index::kMetaReviewObjectionsDirty, "");
    EMPI_RETURN_IF_ERROR(store_->Commit(cs, ev, false));
    return index::UpdateReviewObjections(store_.get(), persons);
  }

  // Makes everything committed so far durable; runs outside write_mu_ so
  // that concurrent writers share one sync.
  absl::Status Sync() { return syncer_ ? syncer_->Sync() : absl::OkStatus(); }

  // options.today (parsed once), or today's UTC date.
  int32_t Today() const { return fixed_today_ != 0 ? fixed_today_ : TodayYmd(); }

  PreparedRecord Prepare(const Record& r) const {
    PreparedRecord p = PrepareRecord(r, conventions_);
    {
      absl::ReaderMutexLock lock(&supersessions_mu_);
      supersessions_.Apply(&p);
    }
    model_.Annotate(&p);
    return p;
  }

  // The NHS number `nhs` stands for today (supersession.h).
  uint64_t CurrentNhs(uint64_t nhs) const {
    absl::ReaderMutexLock lock(&supersessions_mu_);
    return supersessions_.Current(nhs);
  }

  absl::StatusOr<std::vector<uint64_t>> PersonsOf(const std::vector<std::string>& keys,
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

  // Sets res->in_scope and scope_reason. `gp`: the first (in key order)
  // record's source that is a practice of the region, empty if none;
  // `gp_dob`: that record's date of birth; `any_dob`: the first known date of
  // birth of any record. The practice's register is the authority on age.
  // `today`: the day age is reckoned on, yyyymmdd.
  static void SetScope(std::string_view gp, int32_t gp_dob, int32_t any_dob, int32_t today, Resolution* res) {
    const int32_t dob = gp_dob != 0 ? gp_dob : any_dob;
    if (gp.empty()) {
      res->scope_reason = "not registered with a GP practice of the region";
    } else if (dob == 0) {
      res->scope_reason = "date of birth unknown";
    } else if (today - dob < 180000) {
      res->scope_reason = "aged under 18";
    } else {
      res->in_scope = true;
      res->scope_reason = absl::StrCat("aged 18 or over and registered with ", std::string(gp));
    }
  }

  // The resolution of person `pid` from its view: person value (objection),
  // linked records (`with_records`; a view decision needs only objection and
  // scope), restricted flag and scope (age on `today`). nullopt when the
  // person does not exist (no view, or an empty one).
  absl::StatusOr<std::optional<Resolution>> ResolutionOf(uint64_t pid, const index::PersonView* view, int32_t today,
                                                         bool with_records) const {
    if (view == nullptr || (!view->person && view->members.empty())) return std::nullopt;
    Resolution res;
    res.person_id = pid;
    if (view->person) {
      res.objection = view->person->objection;
      res.objection_time_us = view->person->objection_time_us;
      res.objection_method = view->person->objection_method;
      if (!res.objection && view->person->objection_in_review) {
        res.objection = res.objection_in_review = true;
      }
    }
    int32_t any_dob = 0, gp_dob = 0;
    std::string gp;
    if (with_records) res.records.reserve(view->members.size());
    for (const index::PersonViewMember& m : view->members) {
      std::string_view source, id;
      if (!SplitRecordKey(m.record_key, &source, &id)) {
        return absl::DataLossError(absl::StrCat("person_view of person ", pid, ": a record key is malformed"));
      }
      std::string src(source);
      if (m.restricted) res.restricted = true;
      if (m.dob_ymd > 0 && any_dob == 0) any_dob = m.dob_ymd;
      if (gp.empty() && register_.IsRegionGp(src)) {
        gp = src;
        gp_dob = m.dob_ymd;
      }
      if (with_records) {
        std::string kind = register_.Kind(src);
        res.records.push_back({std::move(src), std::string(id), std::move(kind)});
      }
    }
    SetScope(gp, gp_dob, any_dob, today, &res);
    return res;
  }

  // ResolutionOf the person of a stored record: an absent person view is a
  // broken store, not "not found".
  absl::StatusOr<Resolution> StoredRecordResolution(uint64_t pid, const index::PersonView* view, int32_t today,
                                                    bool with_records = true) const {
    EMPI_ASSIGN_OR_RETURN(auto res, ResolutionOf(pid, view, today, with_records));
    if (!res) return absl::DataLossError(absl::StrCat("person ", pid, " of a stored record has no person_view"));
    return std::move(*res);
  }

  // When an answer was given: the change it saw, and whether that change
  // was asked for (an as-of answer).
  struct Answered {
    uint64_t at_change;
    bool as_of;
  };
  void Stamp(const Answered& when, index::AuditEvent* ev) const {
    ev->at_change = when.at_change;
    ev->model_version = model_version_;
    ev->as_of = when.as_of;
  }

  // The change an AsOf stands for: InvalidArgument after the last change,
  // FailedPrecondition before the store's history begins.
  absl::StatusOr<uint64_t> ChangeOf(const AsOf& as_of) const {
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
  // The day an as-of answer reckons age on.
  int32_t DayOf(const AsOf& as_of) const {
    if (fixed_today_ != 0 || as_of.time_us == 0) return Today();
    return YmdOf(static_cast<std::time_t>(as_of.time_us / 1'000'000));
  }

  // Audits a resolution: the person and every record returned, which are
  // the members of `view`, the view `res` was made from.
  absl::StatusOr<Resolution> FinishResolve(std::optional<Resolution> res, const index::PersonView* view,
                                           const Answered& when, index::AuditEvent* ev, const std::string& not_found) {
    Stamp(when, ev);
    if (!res) {
      ev->outcome = "not found";
      EMPI_RETURN_IF_ERROR(CommitAudit(*ev));
      return absl::NotFoundError(not_found);
    }
    ev->persons = {res->person_id};
    ev->records.clear();
    ev->records.reserve(view->members.size());
    for (const index::PersonViewMember& m : view->members) ev->records.push_back(m.record_key);
    ev->outcome = res->objection ? "ok: objection" : "ok";
    EMPI_RETURN_IF_ERROR(CommitAudit(*ev));
    res->at_change = when.at_change;
    res->model_version = model_version_;
    return std::move(*res);
  }

  absl::StatusOr<ViewDecision> DecideView(uint64_t pid, std::optional<Resolution> res, const Answered& when,
                                          const Requester& who, const std::string& record_key) {
    ViewDecision d;
    d.person_id = pid;
    d.at_change = when.at_change;
    d.model_version = model_version_;
    if (!res) {
      d.reason = "not found";
    } else if (res->objection_in_review) {
      d.reason = "objection: in review with a person who objected";
    } else if (res->objection) {
      d.reason = "objection";
    } else if (!res->in_scope) {
      d.reason = absl::StrCat("out of scope: ", res->scope_reason);
    } else {
      d.allowed = true;
      d.reason = "allowed";
    }
    index::AuditEvent ev = AuditEventFor(who, "view");
    Stamp(when, &ev);
    if (pid != 0) ev.persons = {pid};
    if (!record_key.empty()) ev.records = {record_key};
    ev.outcome = d.allowed ? "allowed" : absl::StrCat("denied: ", d.reason);
    EMPI_RETURN_IF_ERROR(CommitAudit(ev));
    return d;
  }

  // A demographic objection held pending, prepared like a query record.
  struct PendingForm {
    ObjectionRequest request;
    PreparedRecord prepared;
    BlockKeys keys;
  };

  // Candidates for `r`: every stored record sharing a block key, scored, the
  // best per person, best first. Excludes `self_key`.
  struct Scored {
    uint64_t person;
    std::string key;
    double weight;  // after the safety cap (safety.h)
    PreparedRecord prepared;
    std::string_view held_by;  // the safety rule's reason, or empty
  };
  // Candidates' order: best weight first, ties by person id.
  static bool BetterCandidate(const Scored& x, const Scored& y) {
    return x.weight != y.weight ? x.weight > y.weight : x.person < y.person;
  }
  // Whether the best of `scored` (best first) is contested: a second person
  // scoring at least `floor` comes within kDecisiveMarginBits of it.
  static bool Contested(const std::vector<Scored>& scored, double floor) {
    return scored.size() > 1 && scored[1].weight >= floor && scored[0].weight - scored[1].weight < kDecisiveMarginBits;
  }
  absl::StatusOr<std::vector<Scored>> Candidates(const PreparedRecord& p, const std::string& self_key,
                                                 const rocksdb::Snapshot* snap) const {
    BlockKeys keys = ComputeBlockKeys(rules_, p);
    // Every rule's members first, in rule order without repeats, then their
    // records with one MultiGet.
    absl::flat_hash_set<std::string> seen;
    std::vector<std::string> candidates;
    for (size_t q = 0; q < rules_.rules().size(); ++q) {
      if (keys[q] == 0) continue;
      bool truncated = false;
      EMPI_ASSIGN_OR_RETURN(auto members, store_->BlockMembers(rules_.rules()[q].id, BlockKeyBytes(keys[q]),
                                                               options_.max_block_size, &truncated, snap));
      for (auto& k : members) {
        if (k != self_key && seen.insert(k).second) candidates.push_back(std::move(k));
      }
    }
    EMPI_ASSIGN_OR_RETURN(auto records, store_->GetRecords(candidates, snap));
    absl::flat_hash_map<uint64_t, Scored> best;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (!records[i]) continue;
      const index::StoredRecord& got = *records[i];
      PreparedRecord o = Prepare(got.record);
      ScoredPair sp = model_.Score(p, o);
      auto it = best.find(got.person_id);
      if (it == best.end() || sp.match_weight > it->second.weight) {
        best[got.person_id] = Scored{got.person_id, candidates[i], sp.match_weight, std::move(o), sp.safety.reason};
      }
    }
    std::vector<Scored> out;
    for (auto& [pid, s] : best) out.push_back(std::move(s));
    std::sort(out.begin(), out.end(), BetterCandidate);
    return out;
  }

  // Search results. Restricted persons (any record restricted) are never
  // found by a search that gives a location (the postcode), as in PDS; in
  // any other search their location comparison is withheld.
  absl::StatusOr<std::vector<Candidate>> SearchAt(const Record& r, size_t limit, const rocksdb::Snapshot* snap) const {
    PreparedRecord p = Prepare(r);
    EMPI_ASSIGN_OR_RETURN(auto scored, Candidates(p, r.Key(), snap));
    std::vector<Candidate> out;
    const auto& comparisons = Comparisons();
    const bool uses_location = !r.postcode.empty() || !r.address.empty();
    for (const Scored& s : scored) {
      if (out.size() >= limit) break;
      EMPI_ASSIGN_OR_RETURN(auto view, store_->GetPersonView(s.person, snap));
      const bool restricted = view && std::any_of(view->members.begin(), view->members.end(),
                                                  [](const index::PersonViewMember& m) { return m.restricted; });
      if (restricted && uses_location) continue;
      Candidate c;
      c.person_id = s.person;
      std::string_view src, id;
      SplitRecordKey(s.key, &src, &id);
      c.best_record = {std::string(src), std::string(id)};
      Explanation e = model_.Explain(p, s.prepared);
      c.match_weight = e.total.match_weight;
      c.match_probability = e.total.match_probability;
      if (c.match_probability < kPossibleProbability) break;
      c.grade = c.match_probability >= model_.settings().link_threshold     ? MatchGrade::kCertain
                : c.match_probability >= model_.settings().review_threshold ? MatchGrade::kProbable
                                                                            : MatchGrade::kPossible;
      c.prior_weight = e.prior_weight;
      for (const ComparisonWeight& w : e.comparisons) {
        FieldWeight fw{std::string(comparisons[w.comparison].name), w.gamma, w.match_weight};
        if (restricted && RevealsLocation(w.comparison)) {
          fw.withheld = true;
          fw.gamma = -1;
          fw.match_weight = 0;
        }
        c.weights.push_back(std::move(fw));
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  // Whether p's NHS number is someone else's, as a batch link judges it
  // (clustering.h): another person carries it on more records than p and
  // `person`'s records with it (`person_records`) do, and p is a generation
  // apart from one of them (a parent's number on a child's record).
  absl::StatusOr<bool> NumberIsSomeoneElses(const PreparedRecord& p, const std::string& key, uint64_t person,
                                            const std::vector<PreparedRecord>& person_records) const {
    size_t mine = 1;
    for (const PreparedRecord& o : person_records) mine += o.nhs_validated && o.nhs == p.nhs;
    EMPI_ASSIGN_OR_RETURN(auto keys, store_->RecordsWithNhs(p.nhs));
    absl::flat_hash_map<uint64_t, std::vector<PreparedRecord>> by_person;
    for (const std::string& k : keys) {
      if (k == key) continue;
      EMPI_ASSIGN_OR_RETURN(auto got, store_->GetRecord(k));
      if (got && got->person_id != person) by_person[got->person_id].push_back(Prepare(got->record));
    }
    for (const auto& [other, theirs] : by_person) {
      if (theirs.size() <= mine) continue;
      for (const PreparedRecord& z : theirs) {
        const SafetyVerdict v = model_.Score(p, z).safety;
        if (v.safety == PairSafety::kDistinct && v.reason == kGenerationApart) return true;
      }
    }
    return false;
  }

  // Why `p` (key `key`) may not join `person`, or "" when it may: the
  // no-chaining rules of clustering.h applied to one record and one person.
  absl::StatusOr<std::string> JoinRefusal(const PreparedRecord& p, const std::string& key, uint64_t person) const {
    EMPI_ASSIGN_OR_RETURN(auto members, store_->PersonRecords(person));
    if (members.size() > kMaxJoinComparisons) return std::string("weak group");
    std::vector<PreparedRecord> others;
    for (const auto& m : members) {
      if (m == key) continue;
      EMPI_ASSIGN_OR_RETURN(bool never, store_->IsNeverLink(key, m));
      if (never) return std::string("never link");
      EMPI_ASSIGN_OR_RETURN(auto got, store_->GetRecord(m));
      if (got) others.push_back(Prepare(got->record));
    }
    std::vector<const PreparedRecord*> group;
    for (const PreparedRecord& o : others) group.push_back(&o);
    std::optional<bool> someone_elses;
    for (const PreparedRecord& o : others) {
      if (p.nhs_validated && o.nhs_validated && p.nhs != o.nhs) {
        if (!someone_elses) {
          EMPI_ASSIGN_OR_RETURN(someone_elses, NumberIsSomeoneElses(p, key, person, others));
        }
        if (!*someone_elses) return std::string("nhs conflict");
      }
      ScoredPair scored = model_.Score(p, o);
      if (scored.safety.safety != PairSafety::kSafe) {
        if (NamesConflictExplainedByGroup(model_, scored.safety, o, group, p)) continue;
        return std::string(scored.safety.reason);
      }
      if (scored.match_weight < model_.review_weight() && !DiffersOnlyByLifeEvents(scored.pattern)) {
        return std::string("weak group");
      }
    }
    return std::string();
  }

  // Engine::Supersede, under write_mu_: the store's changes in one commit,
  // then the in-memory supersessions.
  absl::StatusOr<SupersessionResult> SupersedeLocked(uint64_t old_nhs, uint64_t new_nhs, const Requester& who)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    SupersessionResult result;
    NhsSupersessions before;
    {
      absl::ReaderMutexLock lock(&supersessions_mu_);
      before = supersessions_;
    }
    NhsSupersessions next = before;
    EMPI_ASSIGN_OR_RETURN(result.added, next.Add(old_nhs, new_nhs));
    if (!result.added) return result;
    const uint64_t current = next.Current(new_nhs);
    index::ChangeSet cs = store_->NewChangeSet();
    cs.PutSupersession(old_nhs, new_nhs, NowUs());
    // nhs_index and the NHS number's blocking keys hold every record under
    // its current number.
    EMPI_ASSIGN_OR_RETURN(std::vector<std::string> keys, store_->RecordsWithNhs(old_nhs));
    EMPI_ASSIGN_OR_RETURN(auto moved, store_->GetRecords(keys, nullptr));
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!moved[i]) continue;
      PreparedRecord p = PrepareRecord(moved[i]->record, conventions_);
      before.Apply(&p);
      const BlockKeys old_keys = ComputeBlockKeys(rules_, p);
      cs.DeleteNhs(p.nhs, keys[i]);
      next.Apply(&p);
      const BlockKeys new_keys = ComputeBlockKeys(rules_, p);
      cs.PutNhs(p.nhs, keys[i]);
      for (size_t q = 0; q < rules_.rules().size(); ++q) {
        if (old_keys[q] == new_keys[q]) continue;
        if (old_keys[q] != 0) cs.DeleteBlockKey(rules_.rules()[q].id, BlockKeyBytes(old_keys[q]), keys[i]);
        if (new_keys[q] != 0) cs.PutBlockKey(rules_.rules()[q].id, BlockKeyBytes(new_keys[q]), keys[i]);
      }
    }
    EMPI_ASSIGN_OR_RETURN(std::vector<std::string> current_keys, store_->RecordsWithNhs(current));
    keys.insert(keys.end(), current_keys.begin(), current_keys.end());
    EMPI_ASSIGN_OR_RETURN(result.persons, PersonsOf(keys, nullptr));

    // The objection: the earliest of the persons' and a pending one under
    // either number holds for every person holding either number.
    std::optional<index::PersonValue> objection;
    auto consider = [&](int64_t time_us, index::ObjectionMethod method, const std::string& reference) {
      if (objection && objection->objection_time_us <= time_us) return;
      objection = index::PersonValue{};
      objection->objection = true;
      objection->objection_time_us = time_us;
      objection->objection_method = method;
      objection->objection_reference = reference;
    };
    for (uint64_t number : {old_nhs, current}) {
      EMPI_ASSIGN_OR_RETURN(auto pending, GetPending(number));
      if (!pending) continue;
      consider(pending->time_us, pending->method, pending->reference);
      cs.DeletePendingObjection(PendingKey(number));
      if (number == old_nhs && result.persons.empty()) {
        pending->nhs_number = FormatNhsNumber(current);
        cs.PutPendingObjection(PendingKey(current), *pending);
        result.pending_moved = true;
      }
    }
    std::vector<index::PersonValue> values;
    for (uint64_t pid : result.persons) {
      EMPI_ASSIGN_OR_RETURN(auto pv, store_->GetPerson(pid));
      values.push_back(pv.value_or(index::PersonValue{}));
      if (values.back().objection) {
        consider(values.back().objection_time_us, values.back().objection_method, values.back().objection_reference);
      }
    }
    EMPI_ASSIGN_OR_RETURN(uint64_t hseq, NextHistory(&cs));
    nlohmann::json h =
        HistoryJson("nhs-superseded", who, "NHS number superseded: a duplicate registration resolved nationally");
    h["old_nhs_number"] = FormatNhsNumber(old_nhs);
    h["new_nhs_number"] = FormatNhsNumber(new_nhs);
    for (size_t i = 0; i < result.persons.size(); ++i) {
      index::PersonValue& pv = values[i];
      if (objection && index::AdoptObjection(&pv, *objection)) {
        cs.PutPerson(result.persons[i], pv);
        result.objection_extended = true;
      }
      cs.AppendHistory(result.persons[i], hseq, h.dump());
    }
    if (!result.persons.empty()) cs.AddChange({.kind = "nhs-superseded", .persons = result.persons, .records = {}});
    // Persons that now share a number: a steward decides whether they are one.
    EMPI_ASSIGN_OR_RETURN(result.review_pairs, SupersessionReviewPairs(keys, result.persons, next, &cs));

    index::AuditEvent ev = AuditEventFor(who, "supersede");
    ev.persons = result.persons;
    ev.outcome = absl::StrCat("ok: ", result.persons.size(), " persons, ", result.review_pairs, " review pairs");
    EMPI_RETURN_IF_ERROR(CommitWithReviewObjections(
        &cs, &ev, absl::flat_hash_set<uint64_t>(result.persons.begin(), result.persons.end())));
    absl::MutexLock lock(&supersessions_mu_);
    supersessions_ = std::move(next);
    return result;
  }

  // One review pair (reason "superseded NHS number") between the first
  // person of `persons` and each other, each from the first record of
  // `keys` in that person, scored with the supersessions `next`. Returns
  // how many were added to *cs.
  absl::StatusOr<uint64_t> SupersessionReviewPairs(const std::vector<std::string>& keys,
                                                   const std::vector<uint64_t>& persons, const NhsSupersessions& next,
                                                   index::ChangeSet* cs) const {
    if (persons.size() < 2) return uint64_t{0};
    EMPI_ASSIGN_OR_RETURN(auto records, store_->GetRecords(keys, nullptr));
    absl::flat_hash_map<uint64_t, size_t> first;  // person -> index in keys
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i]) first.try_emplace(records[i]->person_id, i);
    }
    auto prepared = [&](size_t i) {
      PreparedRecord p = PrepareRecord(records[i]->record, conventions_);
      next.Apply(&p);
      model_.Annotate(&p);
      return p;
    };
    const size_t a = first.at(persons[0]);
    const PreparedRecord pa = prepared(a);
    for (size_t j = 1; j < persons.size(); ++j) {
      const size_t b = first.at(persons[j]);
      const ScoredPair scored = model_.Score(pa, prepared(b));
      index::ReviewValue v{scored.match_weight, scored.match_probability, "superseded NHS number"};
      cs->PutReview(keys[a], keys[b], v);
    }
    return uint64_t{persons.size() - 1};
  }

  absl::StatusOr<uint64_t> NextHistory(index::ChangeSet* cs) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    return store_->NextHistorySequence(cs);
  }

  static nlohmann::json HistoryJson(const char* event, const Requester& who, const std::string& reason) {
    nlohmann::json h;
    h["event"] = event;
    h["time_us"] = NowUs();
    h["by"] = who.requester;
    h["organisation"] = who.organisation;
    h["role"] = who.role;
    h["reason"] = reason;
    return h;
  }

  static RecordRef RefOf(std::string_view key) {
    std::string_view source, record_id;
    SplitRecordKey(key, &source, &record_id);
    return RecordRef{std::string(source), std::string(record_id)};
  }

  // Re-points the records `keys` from person `from` to `to`.
  absl::Status MoveRecords(const std::vector<std::string>& keys, uint64_t from, uint64_t to, index::ChangeSet* cs) {
    for (const auto& k : keys) {
      EMPI_ASSIGN_OR_RETURN(auto got, store_->GetRecord(k));
      if (!got) return absl::DataLossError("a person lists a record that is not stored");
      got->person_id = to;
      cs->PutRecord(*got);
      cs->RemoveMembership(from, k);
      cs->AddMembership(to, k);
    }
    return absl::OkStatus();
  }

  // Moves `keys` out of `person` into `new_id` (allocated when 0). The new
  // person objects if `person` objects (every part of a split objecting
  // person objects) or if `restored` does.
  absl::StatusOr<uint64_t> SplitLocked(uint64_t person, const std::vector<std::string>& keys, uint64_t new_id,
                                       const Requester& who, const std::string& reason, const char* action,
                                       const index::PersonValue* restored = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    EMPI_ASSIGN_OR_RETURN(auto pv, store_->GetPerson(person));
    if (!pv) return absl::NotFoundError(absl::StrCat(action, ": person ", person, " not found"));
    if (keys.empty()) return absl::InvalidArgumentError(absl::StrCat(action, ": no records given"));
    EMPI_ASSIGN_OR_RETURN(auto members, store_->PersonRecords(person));
    absl::flat_hash_set<std::string> mset(members.begin(), members.end());
    absl::flat_hash_set<std::string> kset;
    for (const auto& k : keys) {
      std::string_view s, id;
      SplitRecordKey(k, &s, &id);
      if (!mset.contains(k)) {
        return absl::InvalidArgumentError(
            absl::StrCat(action, ": record ", std::string(s), ":", std::string(id), " is not in person ", person));
      }
      kset.insert(k);
    }
    if (kset.size() == mset.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(action, ": every record of person ", person, " is listed; at least one must stay"));
    }
    std::vector<std::string> moved(kset.begin(), kset.end());
    std::sort(moved.begin(), moved.end());
    index::ChangeSet cs = store_->NewChangeSet();
    if (new_id == 0) new_id = store_->AllocatePersonIds(1, &cs);
    EMPI_RETURN_IF_ERROR(MoveRecords(moved, person, new_id, &cs));
    index::PersonValue nv = restored ? *restored : index::PersonValue{};
    if (nv.created_time_us == 0) nv.created_time_us = NowUs();
    if (pv->objection) index::AdoptObjection(&nv, *pv);
    cs.PutPerson(new_id, nv);
    EMPI_ASSIGN_OR_RETURN(uint64_t seq, NextHistory(&cs));
    nlohmann::json h = HistoryJson(action, who, reason);
    h["from"] = person;
    h["into"] = new_id;
    h["records"] = RecordsJson(moved);
    cs.AppendHistory(person, seq, h.dump());
    cs.AppendHistory(new_id, seq, h.dump());
    cs.AddChange({.kind = action, .persons = {person, new_id}, .records = moved});
    index::AuditEvent ev = AuditEventFor(who, action);
    ev.persons = {person, new_id};
    ev.records = moved;
    ev.outcome = absl::StrCat("ok: person ", new_id);
    EMPI_RETURN_IF_ERROR(CommitWithReviewObjections(&cs, &ev, {person, new_id}));
    return new_id;
  }

  // Objections that reach person `target` with the arriving record `p`
  // (`key`): its old person's (`inherited`), another person's holding its
  // NHS number (a record kept apart by review: the objection follows the
  // number), one pending under the number, and demographic forms waiting
  // for this patient's records. Updates *pv (*changed when it did), deletes
  // the pending entries used in `cs`, and returns the forms' keys.
  absl::StatusOr<std::vector<std::string>> ObjectionsOnArrival(const PreparedRecord& p, const std::string& key,
                                                               uint64_t target,
                                                               const std::optional<index::PersonValue>& inherited,
                                                               index::PersonValue* pv, bool* changed,
                                                               index::ChangeSet* cs, IngestResult* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    if (inherited) *changed |= index::AdoptObjection(pv, *inherited);
    if (p.nhs != 0 && !pv->objection) {
      EMPI_ASSIGN_OR_RETURN(auto same_nhs, store_->RecordsWithNhs(p.nhs));
      for (const auto& k : same_nhs) {
        if (k == key) continue;
        EMPI_ASSIGN_OR_RETURN(auto got, store_->GetRecord(k));
        if (!got) continue;
        EMPI_ASSIGN_OR_RETURN(auto other, store_->GetPerson(got->person_id));
        if (other && other->objection) {
          *changed |= index::AdoptObjection(pv, *other);
          break;
        }
      }
    }
    if (p.nhs != 0) {
      EMPI_ASSIGN_OR_RETURN(auto pending, GetPending(p.nhs));
      if (pending) {
        *changed |= index::AdoptObjection(pv, pending->time_us, pending->method, pending->reference);
        cs->DeletePendingObjection(PendingKey(p.nhs));
        result->objection_applied = true;
      }
    }
    const BlockKeys keys = ComputeBlockKeys(rules_, p);
    std::vector<std::string> forms_applied;
    for (const auto& [form_key, form] : forms_) {
      if (!SharesBlock(form.keys, keys)) continue;
      const Scored arriving{target, key, model_.Score(form.prepared, p).match_weight, p, {}};
      std::string why;
      EMPI_ASSIGN_OR_RETURN(auto match, MatchForm(form.prepared, &why, &arriving));
      if (!match || match->person != target) continue;
      *changed |= index::AdoptObjection(pv, form.request.time_us, form.request.method, form.request.reference);
      cs->DeletePendingObjection(form_key);
      forms_applied.push_back(form_key);
      result->objection_applied = true;
    }
    return forms_applied;
  }

  absl::StatusOr<IngestResult> IngestLocked(const Record& rec, const Requester& who)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    IngestResult result;
    const std::string key = rec.Key();
    index::ChangeSet cs = store_->NewChangeSet();
    index::AuditEvent ev = AuditEventFor(who, "ingest");
    ev.records = {key};
    EMPI_ASSIGN_OR_RETURN(auto old, store_->GetRecord(key));
    if (old && old->record == rec) {
      result.outcome = IngestOutcome::kUnchanged;
      result.person_id = old->person_id;
      ev.persons = {old->person_id};
      ev.outcome = "unchanged";
      EMPI_RETURN_IF_ERROR(store_->Commit(&cs, &ev, false));
      return result;
    }
    if (!model_stored_) {
      cs.PutModel(model_.ToJson().dump());
      cs.PutMeta("field_conventions", "nhs=validated;postcode=uk");
    }
    std::optional<index::PersonValue> inherited;  // objection of the old person
    EMPI_ASSIGN_OR_RETURN(uint64_t hseq, NextHistory(&cs));
    if (old) {
      const PreparedRecord op = Prepare(old->record);
      BlockKeys k = ComputeBlockKeys(rules_, op);
      for (size_t q = 0; q < rules_.rules().size(); ++q) {
        if (k[q] != 0) cs.DeleteBlockKey(rules_.rules()[q].id, BlockKeyBytes(k[q]), key);
      }
      if (op.nhs != 0) cs.DeleteNhs(op.nhs, key);
      cs.RemoveMembership(old->person_id, key);
      EMPI_ASSIGN_OR_RETURN(auto opv, store_->GetPerson(old->person_id));
      if (opv && opv->objection) inherited = *opv;
      EMPI_ASSIGN_OR_RETURN(auto members, store_->PersonRecords(old->person_id));
      nlohmann::json h = HistoryJson("record-changed", who, "record updated by its contributor; relinked");
      h["records"] = RecordsJson({key});
      cs.AppendHistory(old->person_id, hseq, h.dump());
      if (members.size() <= 1) cs.DeletePerson(old->person_id);
    }
    PreparedRecord p = Prepare(rec);
    EMPI_ASSIGN_OR_RETURN(auto scored, Candidates(p, key, nullptr));
    // Persons whose objection_in_review this ingest may change: those it
    // puts in review with the record, and the record's person when the
    // record moved or the person's objection changed.
    absl::flat_hash_set<uint64_t> involved;
    uint64_t target = 0;
    const bool contested = Contested(scored, model_.link_weight());
    for (size_t i = 0; i < scored.size(); ++i) {
      const Scored& s = scored[i];
      if (s.weight < model_.review_weight()) break;
      if (old && s.person == old->person_id) {
        // The old person may still hold the record's other records; it is a
        // candidate like any other (its membership is being removed).
      }
      std::string why;
      if (i == 0 && s.weight >= model_.link_weight() && contested) {
        why = "ambiguous: matches more than one person";
      } else if (i == 0 && s.weight >= model_.link_weight()) {
        EMPI_ASSIGN_OR_RETURN(why, JoinRefusal(p, key, s.person));
        if (why.empty()) {
          target = s.person;
          result.match_probability = Model::Probability(s.weight);
          continue;
        }
      } else if (s.weight >= model_.link_weight()) {
        why = "another person also matches";
      } else {
        why = s.held_by.empty() ? "between thresholds" : std::string(s.held_by);
      }
      if (i == 0) {
        result.match_probability = Model::Probability(s.weight);
        result.reason = why;
      }
      cs.PutReview(key, s.key, {s.weight, Model::Probability(s.weight), why});
      involved.insert(s.person);
      result.outcome = IngestOutcome::kReview;
    }
    if (target == 0 && !scored.empty() && result.match_probability == 0) {
      result.match_probability = Model::Probability(scored[0].weight);
    }
    index::PersonValue pv;
    bool write_person = false;
    if (target != 0) {
      result.outcome = IngestOutcome::kLinked;
      EMPI_ASSIGN_OR_RETURN(auto tv, store_->GetPerson(target));
      pv = tv.value_or(index::PersonValue{});
    } else {
      if (result.outcome != IngestOutcome::kReview) result.outcome = IngestOutcome::kNewPerson;
      target = store_->AllocatePersonIds(1, &cs);
      pv.created_time_us = NowUs();
      write_person = true;
    }
    result.person_id = target;
    EMPI_ASSIGN_OR_RETURN(const std::vector<std::string> forms_applied,
                          ObjectionsOnArrival(p, key, target, inherited, &pv, &write_person, &cs, &result));
    const BlockKeys keys = ComputeBlockKeys(rules_, p);
    if (write_person) cs.PutPerson(target, pv);
    if (!involved.empty() || (old && old->person_id != target) || (write_person && pv.objection)) {
      involved.insert(target);
      if (old) involved.insert(old->person_id);
    }
    index::StoredRecord sr{rec, target};
    cs.PutRecord(sr);
    cs.AddMembership(target, key);
    for (size_t q = 0; q < rules_.rules().size(); ++q) {
      if (keys[q] != 0) cs.PutBlockKey(rules_.rules()[q].id, BlockKeyBytes(keys[q]), key);
    }
    if (p.nhs != 0) cs.PutNhs(p.nhs, key);
    if (!old) {
      EMPI_ASSIGN_OR_RETURN(auto rc, store_->GetMeta("record_count"));
      uint64_t n = rc ? std::strtoull(rc->c_str(), nullptr, 10) : 0;
      cs.PutMeta("record_count", std::to_string(n + 1));
    }
    nlohmann::json h =
        HistoryJson("link", who,
                    result.outcome == IngestOutcome::kLinked ? "match at or above the link threshold"
                                                             : "no person matched well enough: new person");
    h["by"] = absl::StrCat("rule (", who.requester, ")");
    h["records"] = RecordsJson({key});
    h["match_probability"] = result.match_probability;
    if (result.objection_applied) h["objection"] = "pending objection applied";
    cs.AppendHistory(target, hseq, h.dump());
    index::AddRecordChanges(old ? &*old : nullptr, sr, result.outcome != IngestOutcome::kLinked, &cs);
    if (result.objection_applied) cs.AddChange({.kind = "objection-registered", .persons = {target}, .records = {}});
    ev.persons = {target};
    if (old && old->person_id != target) ev.persons.push_back(old->person_id);
    ev.outcome = std::string(IngestOutcomeName(result.outcome));
    EMPI_RETURN_IF_ERROR(CommitWithReviewObjections(&cs, &ev, involved));
    for (const std::string& k : forms_applied) forms_.erase(k);
    model_stored_ = true;
    return result;
  }

  absl::StatusOr<std::optional<index::ObjectionValue>> GetPending(uint64_t nhs) const {
    std::string value;
    rocksdb::Status s = store_->db()->Get(rocksdb::ReadOptions(), store_->cf(index::Cf::kObjections),
                                          absl::StrCat(std::string("pending\0", 8), PendingKey(nhs)), &value);
    if (s.IsNotFound()) return std::optional<index::ObjectionValue>();
    if (!s.ok()) return absl::UnavailableError(absl::StrCat("objections: ", s.ToString()));
    index::ObjectionValue v;
    if (!index::DecodeObjectionValue(value, &v))
      return absl::DataLossError("objections: a pending objection does not decode");
    return std::optional<index::ObjectionValue>(std::move(v));
  }

  // The one person a form's demographics identify: at or above the link
  // threshold and decisively better than any other possible match. Sets
  // `reason` when there is none. `arriving`, when given, is a record being
  // ingested, counted as a candidate of its person beside the stored ones
  // (a stored older version of it still counts for its old person, which
  // can only make the form contested).
  // With `hide_restricted` (a form as registered or withdrawn: its
  // postcode makes it a search that uses location) restricted persons are
  // left out, as from any such search: the answer for a restricted patient
  // is the answer for nobody ("no matching person", so the form waits), and
  // they cannot make a match weak or ambiguous either. Their objection is
  // applied when one of their records arrives (Ingest, ApplyPendingForms),
  // which tells the person who filed the form nothing.
  absl::StatusOr<std::optional<Scored>> MatchForm(const PreparedRecord& form, std::string* reason,
                                                  const Scored* arriving = nullptr,
                                                  bool hide_restricted = false) const {
    EMPI_ASSIGN_OR_RETURN(auto scored, Candidates(form, FormQueryKey(), nullptr));
    if (hide_restricted) {
      std::vector<Scored> kept;
      kept.reserve(scored.size());
      for (Scored& s : scored) {
        // Persons below the review weight decide nothing.
        if (s.weight >= model_.review_weight()) {
          EMPI_ASSIGN_OR_RETURN(auto view, store_->GetPersonView(s.person));
          if (view && std::any_of(view->members.begin(), view->members.end(),
                                  [](const index::PersonViewMember& m) { return m.restricted; })) {
            continue;
          }
        }
        kept.push_back(std::move(s));
      }
      scored = std::move(kept);
    }
    if (arriving != nullptr) {
      auto it =
          std::find_if(scored.begin(), scored.end(), [&](const Scored& s) { return s.person == arriving->person; });
      if (it == scored.end()) {
        scored.push_back(*arriving);
      } else if (arriving->weight > it->weight) {
        *it = *arriving;
      }
      std::sort(scored.begin(), scored.end(), BetterCandidate);
    }
    if (scored.empty() || scored[0].weight < model_.review_weight()) {
      *reason = kNoMatchingPerson;
      return std::nullopt;
    }
    if (scored[0].weight < model_.link_weight()) {
      *reason = "weak match: below the link threshold";
      return std::nullopt;
    }
    if (Contested(scored, model_.review_weight())) {
      // Another person matches nearly as well: the form cannot tell them
      // apart (twins with one given name abbreviated, say).
      *reason = "ambiguous: more than one person matches";
      return std::nullopt;
    }
    return std::optional<Scored>(scored[0]);
  }

  // Whether the form gives a name and a date of birth and the records `keys`
  // (those holding its NHS number) all disagree with both: for no record do
  // the family name, the given names or the date of birth reach a level of
  // their comparison above "else". A form without a name or date of birth
  // contradicts nothing, nor does a record without a date of birth.
  absl::StatusOr<bool> FormContradicts(const ObjectionRequest& req, const std::vector<std::string>& keys) const {
    const PreparedRecord form = PrepareForm(req);
    if (form.dob == 0 || (form.family.empty() && form.given1.empty()) || keys.empty()) return false;
    EMPI_ASSIGN_OR_RETURN(auto records, store_->GetRecords(keys, nullptr));
    bool compared = false;
    for (const auto& r : records) {
      if (!r) continue;
      const PreparedRecord o = Prepare(r->record);
      if (o.dob == 0 && o.family.empty() && o.given1.empty()) continue;
      compared = true;
      // Agreement is any level of the linkage comparison short of "else"
      // (a typo, a nickname, a swapped day and month still agree).
      const auto agrees = [](int comparison, int gamma) {
        return gamma > 0 && gamma + 1 < static_cast<int>(Comparisons()[comparison].levels.size()) &&
               Comparisons()[comparison].levels[gamma].label != "else";
      };
      const bool name_agrees =
          agrees(kFamilyName, CompareFamily(form, o)) || agrees(kGivenNames, CompareGiven(form, o));
      if (name_agrees || o.dob == 0 || agrees(kDateOfBirth, CompareDob(form.dob, o.dob))) return false;
    }
    return compared;
  }

  PreparedRecord PrepareForm(const ObjectionRequest& req) const {
    return Prepare(
        QueryRecord("objection", {"", req.family_name, req.given_names, req.date_of_birth, req.postcode, ""}));
  }
  static const std::string& FormQueryKey() {
    static const std::string key = QueryRecord("objection", {}).Key();
    return key;
  }

  void AddForm(std::string key, const ObjectionRequest& req) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    PendingForm f{req, PrepareForm(req), {}};
    f.keys = ComputeBlockKeys(rules_, f.prepared);
    forms_.insert_or_assign(std::move(key), std::move(f));
  }

  // Whether any record of `pid` holds a valid NHS number other than `nhs`.
  // The valid NHS numbers of a person's records.
  absl::StatusOr<absl::flat_hash_set<uint64_t>> NhsNumbersOf(uint64_t pid) const {
    EMPI_ASSIGN_OR_RETURN(auto keys, store_->PersonRecords(pid));
    EMPI_ASSIGN_OR_RETURN(auto records, store_->GetRecords(keys, nullptr));
    absl::flat_hash_set<uint64_t> out;
    for (const auto& r : records) {
      if (!r) continue;
      if (const std::optional<uint64_t> n = ParseNhsNumber(r->record.nhs_number)) out.insert(CurrentNhs(*n));
    }
    return out;
  }
  absl::StatusOr<bool> HoldsOtherNhs(uint64_t pid, uint64_t nhs) const {
    EMPI_ASSIGN_OR_RETURN(auto numbers, NhsNumbersOf(pid));
    numbers.erase(nhs);
    return !numbers.empty();
  }

  absl::StatusOr<ObjectionResult> ChangeObjection(const ObjectionRequest& req, const Requester& who, bool object) {
    ObjectionResult result;
    {
      absl::MutexLock lock(&write_mu_);
      EMPI_ASSIGN_OR_RETURN(result, ChangeObjectionLocked(req, who, object, object ? "object" : "withdraw-objection"));
    }
    EMPI_RETURN_IF_ERROR(Sync());
    return result;
  }

  // What registering or withdrawing one objection changes, gathered before
  // it is committed.
  struct ObjectionChange {
    index::ChangeSet cs;
    index::AuditEvent ev;
    ObjectionResult result;
    std::vector<uint64_t> persons;  // whose objection changes
    bool by_demographics = false;   // found by the form's demographics, not its number
    // A pending form this change adds (with its key) or ends.
    std::optional<std::string> form_added, form_ended;
  };

  // The persons holding NHS number `nhs`; with none, a pending objection
  // under the number (or its withdrawal), and the person the form's
  // demographics identify if its records carry no other number.
  // InvalidArgument (audited) when the records holding the number disagree
  // with the form.
  absl::Status ObjectionByNumber(const ObjectionRequest& req, uint64_t nhs, bool object, int64_t when,
                                 bool demographics, ObjectionChange* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    EMPI_ASSIGN_OR_RETURN(auto keys, store_->RecordsWithNhs(nhs));
    EMPI_ASSIGN_OR_RETURN(c->persons, PersonsOf(keys, nullptr));
    c->ev.records = keys;
    EMPI_ASSIGN_OR_RETURN(bool contradicts, FormContradicts(req, keys));
    if (contradicts) {
      // The number may be mistyped, or the form another patient's: an
      // objection (or its withdrawal) must not land on the wrong person.
      c->ev.persons = c->persons;
      c->ev.outcome = "refused: form contradicts the records with its NHS number";
      EMPI_RETURN_IF_ERROR(CommitAudit(c->ev));
      return absl::InvalidArgumentError(
          "nhs_number: the records holding this NHS number disagree with the form on both name "
          "and date_of_birth; not applied (check the form)");
    }
    EMPI_ASSIGN_OR_RETURN(auto pending, GetPending(nhs));
    if (!c->persons.empty()) {
      if (pending) c->cs.DeletePendingObjection(PendingKey(nhs));
      return absl::OkStatus();
    }
    ObjectionResult& result = c->result;
    if (object) {
      index::ObjectionValue v;
      v.time_us = when;
      v.method = req.method;
      v.reference = req.reference;
      v.nhs_number = FormatNhsNumber(nhs);
      c->cs.PutPendingObjection(PendingKey(nhs), v);
      result.outcome = ObjectionOutcome::kPending;
      result.reason = "no record with this NHS number yet; applied when one arrives";
    } else if (pending) {
      c->cs.DeletePendingObjection(PendingKey(nhs));
      result.outcome = ObjectionOutcome::kApplied;
      result.reason = "pending objection withdrawn";
    } else {
      result.outcome = ObjectionOutcome::kRefused;
      result.reason = "no record and no pending objection with this NHS number";
    }
    // The patient's records may carry no NHS number (an ambulance or a
    // social care record): the form's demographics can still identify them,
    // unless that person's records hold another number.
    if (!demographics) return absl::OkStatus();
    std::string why;
    EMPI_ASSIGN_OR_RETURN(auto match, MatchForm(PrepareForm(req), &why, nullptr, /*hide_restricted=*/true));
    if (!match) return absl::OkStatus();
    EMPI_ASSIGN_OR_RETURN(bool other, HoldsOtherNhs(match->person, nhs));
    if (!other) {
      c->persons = {match->person};
      c->ev.records.push_back(match->key);
      c->by_demographics = true;
    }
    return absl::OkStatus();
  }

  // The person a form without an NHS number identifies; with none, the
  // form waits for the patient's records (or its waiting twin is withdrawn).
  absl::Status ObjectionByForm(const ObjectionRequest& req, bool object, int64_t when, ObjectionChange* c)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    const PreparedRecord form = PrepareForm(req);
    const std::string form_key = FormKey(form);
    ObjectionResult& result = c->result;
    EMPI_ASSIGN_OR_RETURN(auto match, MatchForm(form, &result.reason, nullptr, /*hide_restricted=*/true));
    if (match) {
      c->persons = {match->person};
      c->ev.records = {match->key};
      if (forms_.contains(form_key)) c->form_ended = form_key;
    } else if (result.reason == kNoMatchingPerson && object) {
      // The patient's records have not arrived: the objection waits for
      // them (docs/realtime.md, "Objections").
      index::ObjectionValue v;
      v.time_us = when;
      v.method = req.method;
      v.reference = req.reference;
      v.family_name = req.family_name;
      v.given_names = req.given_names;
      v.date_of_birth = req.date_of_birth;
      v.postcode = req.postcode;
      c->cs.PutPendingObjection(form_key, v);
      c->form_added = form_key;
      result.outcome = ObjectionOutcome::kPending;
      result.reason = "no person matches yet; applied when a record that matches the form arrives";
    } else if (result.reason == kNoMatchingPerson && forms_.contains(form_key)) {
      c->form_ended = form_key;
      result.outcome = ObjectionOutcome::kApplied;
      result.reason = "pending objection withdrawn";
    }
    if (c->form_ended) c->cs.DeletePendingObjection(*c->form_ended);
    return absl::OkStatus();
  }

  // A withdrawal speaks for one patient. A person whose records also carry
  // another NHS number may hold another patient's records (two patients
  // linked together), and that patient's objection must stay: it is kept
  // until a steward splits the person. Returns the persons kept, leaving
  // the others in c->persons.
  absl::StatusOr<std::vector<uint64_t>> KeepOtherPatientsObjections(std::optional<uint64_t> nhs, ObjectionChange* c)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    std::vector<uint64_t> kept, withdrawn;
    for (uint64_t pid : c->persons) {
      EMPI_ASSIGN_OR_RETURN(auto pv, store_->GetPerson(pid));
      EMPI_ASSIGN_OR_RETURN(auto numbers, NhsNumbersOf(pid));
      if (nhs) numbers.erase(*nhs);
      const bool another = numbers.size() > (nhs ? 0u : 1u);
      (pv && pv->objection && another ? kept : withdrawn).push_back(pid);
    }
    c->persons = std::move(withdrawn);
    return kept;
  }

  absl::StatusOr<ObjectionResult> ChangeObjectionLocked(const ObjectionRequest& req, const Requester& who, bool object,
                                                        const char* action) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    EMPI_RETURN_IF_ERROR(CheckQueryDate(req.date_of_birth));
    std::optional<uint64_t> nhs;
    const bool demographics =
        !req.family_name.empty() && !req.given_names.empty() && !req.date_of_birth.empty() && !req.postcode.empty();
    if (!req.nhs_number.empty()) {
      nhs = ParseNhsNumber(req.nhs_number);
      if (!nhs) return absl::InvalidArgumentError("nhs_number: not a valid NHS number");
      nhs = CurrentNhs(*nhs);
    } else if (!demographics) {
      return absl::InvalidArgumentError(
          "give the NHS number, or all of family_name, given_names, date_of_birth and postcode");
    }
    const int64_t when = req.time_us != 0 ? req.time_us : NowUs();
    ObjectionChange c;
    c.cs = store_->NewChangeSet();
    c.ev = AuditEventFor(who, action);
    if (nhs) {
      EMPI_RETURN_IF_ERROR(ObjectionByNumber(req, *nhs, object, when, demographics, &c));
    } else {
      EMPI_RETURN_IF_ERROR(ObjectionByForm(req, object, when, &c));
    }
    std::vector<uint64_t> kept;
    if (!object) {
      EMPI_ASSIGN_OR_RETURN(kept, KeepOtherPatientsObjections(nhs, &c));
    }
    ObjectionResult& result = c.result;
    const std::vector<uint64_t>& persons = c.persons;
    uint64_t seq = 0;
    if (!persons.empty()) {
      EMPI_ASSIGN_OR_RETURN(seq, NextHistory(&c.cs));
    }
    for (uint64_t pid : persons) {
      EMPI_ASSIGN_OR_RETURN(auto pv, store_->GetPerson(pid));
      index::PersonValue v = pv.value_or(index::PersonValue{});
      v.objection = object;
      v.objection_time_us = when;
      v.objection_method = object ? req.method : index::ObjectionMethod::kNone;
      v.objection_reference = req.reference;
      c.cs.PutPerson(pid, v);
      nlohmann::json h = HistoryJson(action, who, req.reference);
      h["method"] = static_cast<int>(req.method);
      h["received_time_us"] = when;
      c.cs.AppendHistory(pid, seq, h.dump());
    }
    if (!persons.empty()) {
      c.cs.AddChange(
          {.kind = object ? "objection-registered" : "objection-withdrawn", .persons = persons, .records = {}});
      result.reason = object ? "objection recorded" : "objection withdrawn";
      if (c.by_demographics) {
        result.reason += " for the person the demographics identify (no record holds the NHS number)";
        if (object) result.reason += "; also pending for records that bring the number";
      }
      result.outcome = ObjectionOutcome::kApplied;
    }
    if (!kept.empty()) {
      if (persons.empty()) result.outcome = ObjectionOutcome::kRefused;
      absl::StrAppend(&result.reason, result.reason.empty() ? "" : "; ", "objection kept on person",
                      kept.size() > 1 ? "s " : " ", absl::StrJoin(kept, ", "),
                      ": its records carry another NHS number too, which may be another patient's; "
                      "a steward must split it first");
    }
    result.persons = persons;
    c.ev.persons = persons;
    c.ev.outcome = absl::StrCat(std::string(ObjectionOutcomeName(result.outcome)), ": ", result.reason);
    EMPI_RETURN_IF_ERROR(
        CommitWithReviewObjections(&c.cs, &c.ev, absl::flat_hash_set<uint64_t>(persons.begin(), persons.end())));
    if (c.form_added) {
      ObjectionRequest pending = req;
      pending.time_us = when;
      AddForm(*c.form_added, pending);
    }
    if (c.form_ended) forms_.erase(*c.form_ended);
    return result;
  }

  const EngineOptions options_;
  std::unique_ptr<index::Store> store_;
  const Model model_;
  const std::string model_version_ = ModelVersion(model_);
  bool model_stored_ ABSL_GUARDED_BY(write_mu_);
  const FieldConventions conventions_;
  const ContributorRegister register_;
  const BlockingRules rules_;
  // Syncs the WAL for every write that must be durable (null: options_.sync
  // off). Declared after store_, so it stops before the store closes.
  const std::unique_ptr<index::WalSyncer> syncer_;
  // Checked by Engine::Open.
  const int32_t fixed_today_ = ParseDate(options_.today, DateFormat::kIso).value_or(0);
  absl::Mutex write_mu_;
  // Supersessions (written under write_mu_ too, read by every Prepare).
  mutable absl::Mutex supersessions_mu_;
  NhsSupersessions supersessions_ ABSL_GUARDED_BY(supersessions_mu_);
  // Demographic objections pending (objections family, keys "form:..."),
  // as ingests check them: linear in their number per ingest, a few
  // nanoseconds each, for forms of patients with no records yet.
  absl::flat_hash_map<std::string, PendingForm> forms_ ABSL_GUARDED_BY(write_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options, const std::string& path) {
  return OpenEngineWithEnv(options, path, nullptr);
}

index::Store* StoreOf(Engine* engine) { return static_cast<EngineImpl*>(engine)->store(); }

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
  EMPI_RETURN_IF_ERROR(index::RecomputeReviewObjectionsIfDirty(store.get()));
  bool stored = true;
  absl::StatusOr<Model> model = LoadModel(*store);
  if (absl::IsNotFound(model.status())) {
    model = Model::Informed();
    stored = false;
  }
  EMPI_RETURN_IF_ERROR(model.status());
  // A model not trained on enough evidence (a first link of a few records)
  // does not score: the informed priors do, until a link estimates it again.
  if (!UntrustedReason(model->provenance).empty()) model = Model::Informed();
  EMPI_ASSIGN_OR_RETURN(FieldConventions conventions, StoredConventions(*store));
  EMPI_ASSIGN_OR_RETURN(std::optional<BlockingSettings> blocking, StoredBlocking(*store));
  auto engine = std::make_unique<EngineImpl>(options, std::move(store), std::move(*model), stored, conventions,
                                             std::move(reg), blocking.value_or(BlockingSettings{}).rules);
  EMPI_RETURN_IF_ERROR(engine->LoadSupersessions());
  EMPI_RETURN_IF_ERROR(engine->LoadPendingForms());
  return std::unique_ptr<Engine>(std::move(engine));
}

bool IsPendingFormKey(std::string_view key) { return key.starts_with(kPendingFormPrefix); }

absl::StatusOr<uint64_t> ApplyPendingObjections(index::Store* store, const Requester& who) {
  std::vector<std::pair<std::string, index::ObjectionValue>> pending;
  EMPI_RETURN_IF_ERROR(store->ForEachPendingObjection([&](std::string_view key, const index::ObjectionValue& v) {
    pending.emplace_back(std::string(key), v);
    return true;
  }));
  index::ChangeSet cs = store->NewChangeSet();
  index::AuditEvent ev = AuditEventFor(who, "apply-pending-objections");
  uint64_t applied = 0;
  for (const auto& [key, v] : pending) {
    std::optional<uint64_t> nhs = ParseNhsNumber(key);
    if (!nhs) continue;
    EMPI_ASSIGN_OR_RETURN(auto keys, store->RecordsWithNhs(*nhs));
    if (keys.empty()) continue;
    absl::flat_hash_set<uint64_t> persons;
    for (const auto& k : keys) {
      EMPI_ASSIGN_OR_RETURN(auto got, store->GetRecord(k));
      if (got) persons.insert(got->person_id);
    }
    for (uint64_t pid : persons) {
      EMPI_ASSIGN_OR_RETURN(auto pv, store->GetPerson(pid));
      index::PersonValue p = pv.value_or(index::PersonValue{});
      if (!p.objection) {
        p.objection = true;
        p.objection_time_us = v.time_us;
        p.objection_method = v.method;
        p.objection_reference = v.reference;
        cs.PutPerson(pid, p);
      }
      ev.persons.push_back(pid);
    }
    cs.DeletePendingObjection(key);
    ++applied;
  }
  if (applied == 0) return applied;
  ev.outcome = absl::StrCat("ok: ", applied, " applied");
  cs.PutMeta(index::kMetaReviewObjectionsDirty, "");
  EMPI_RETURN_IF_ERROR(store->Commit(&cs, &ev, /*sync=*/true));
  EMPI_RETURN_IF_ERROR(
      index::UpdateReviewObjections(store, absl::flat_hash_set<uint64_t>(ev.persons.begin(), ev.persons.end())));
  return applied;
}

}  // namespace empi
