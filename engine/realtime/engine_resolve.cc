// Copyright EMPI developers.
//
// engine_resolve.cc: EngineImpl's reads that answer for a patient:
// resolution of a record, person or NHS number (now or as of a change),
// search by demographics, and whether a care-record view may be assembled.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "empi/status_macros.h"
#include "engine/linkage/comparisons.h"
#include "engine/linkage/store_events.h"
#include "engine/realtime/engine_impl.h"
#include "matchers/nhs_number.h"

namespace empi::realtime {
namespace {

// Candidates below this probability are not worth showing a searcher.
constexpr double kPossibleProbability = 0.05;

}  // namespace

absl::StatusOr<Resolution> EngineImpl::Resolve(const std::string& source, const std::string& record_id,
                                               const Requester& who) {
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

absl::StatusOr<Resolution> EngineImpl::ResolveAsOf(const std::string& source, const std::string& record_id,
                                                   const AsOf& as_of, const Requester& who) {
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

absl::StatusOr<Resolution> EngineImpl::ResolvePerson(uint64_t person_id, const Requester& who) {
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

absl::StatusOr<Resolution> EngineImpl::ResolvePersonAsOf(uint64_t person_id, const AsOf& as_of, const Requester& who) {
  EMPI_ASSIGN_OR_RETURN(const uint64_t at, ChangeOf(as_of));
  index::AuditEvent ev = AuditEventFor(who, "resolve-person");
  ev.persons = {person_id};
  EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonView> view, store_->PersonViewAt(person_id, at));
  EMPI_ASSIGN_OR_RETURN(auto res, ResolutionOf(person_id, view ? &*view : nullptr, DayOf(as_of), true));
  return FinishResolve(std::move(res), view ? &*view : nullptr, Answered{at, true}, &ev,
                       absl::StrCat("person ", person_id, " not found"));
}

absl::StatusOr<Resolution> EngineImpl::ResolveByNhsNumber(const std::string& nhs_number, const Requester& who) {
  EMPI_ASSIGN_OR_RETURN(const uint64_t nhs, ParseNhsQuery(nhs_number));
  std::vector<uint64_t> persons;
  std::optional<index::PersonView> view;
  EMPI_ASSIGN_OR_RETURN(const uint64_t at, store_->ReadAtChange([&]() -> absl::Status {
    // The supersessions are read with the records: a read that saw a
    // supersession's records moved also follows it, as a replay does.
    SnapshotHolder snap(store_.get());
    uint64_t current = nhs;
    for (uint64_t hops = 0;; ++hops) {
      EMPI_ASSIGN_OR_RETURN(const uint64_t next, store_->SupersededBy(current, snap.get()));
      if (next == 0) break;
      if (hops == kMaxSupersessionHops) return absl::DataLossError("manual: supersessions form a cycle");
      current = next;
    }
    EMPI_ASSIGN_OR_RETURN(auto held, store_->NhsHoldersNow(current, snap.get()));
    EMPI_ASSIGN_OR_RETURN(persons, PersonsOf(held.Owners(), snap.get()));
    view.reset();
    if (persons.size() == 1) {
      EMPI_ASSIGN_OR_RETURN(view, store_->GetPersonView(persons[0], snap.get()));
    }
    return absl::OkStatus();
  }));
  return FinishResolveByNhs(persons, view ? &*view : nullptr, Answered{at, false}, Today(), who);
}

absl::StatusOr<Resolution> EngineImpl::ResolveByNhsNumberAsOf(const std::string& nhs_number, const AsOf& as_of,
                                                              const Requester& who) {
  EMPI_ASSIGN_OR_RETURN(const uint64_t nhs, ParseNhsQuery(nhs_number));
  EMPI_ASSIGN_OR_RETURN(const uint64_t at, ChangeOf(as_of));
  if (at < store_->nhs_history_from()) {
    return absl::FailedPreconditionError(absl::StrCat("as_of: this store's history of NHS numbers begins at change ",
                                                      store_->nhs_history_from(), " (its upgrade to format 9)"));
  }
  index::Store::NhsHolders held;
  for (uint64_t current = nhs, hops = 0;; current = held.superseded_by, ++hops) {
    EMPI_ASSIGN_OR_RETURN(held, store_->NhsHoldersAt(current, at));
    if (held.superseded_by == 0) break;
    if (hops == kMaxSupersessionHops) return absl::DataLossError("nhs_history: supersessions form a cycle");
  }
  std::vector<uint64_t> persons;
  for (const std::string& key : held.Owners()) {
    EMPI_ASSIGN_OR_RETURN(const uint64_t pid, store_->RecordPersonAt(key, at));
    if (pid != 0) persons.push_back(pid);
  }
  std::sort(persons.begin(), persons.end());
  persons.erase(std::unique(persons.begin(), persons.end()), persons.end());
  std::optional<index::PersonView> view;
  if (persons.size() == 1) {
    EMPI_ASSIGN_OR_RETURN(view, store_->PersonViewAt(persons[0], at));
  }
  return FinishResolveByNhs(persons, view ? &*view : nullptr, Answered{at, true}, DayOf(as_of), who);
}

absl::StatusOr<uint64_t> EngineImpl::ParseNhsQuery(const std::string& nhs_number) {
  std::optional<uint64_t> nhs = ParseNhsNumber(nhs_number);
  if (!nhs) return absl::InvalidArgumentError("nhs_number: not a valid NHS number");
  return *nhs;
}

absl::StatusOr<Resolution> EngineImpl::FinishResolveByNhs(const std::vector<uint64_t>& persons,
                                                          const index::PersonView* view, const Answered& when,
                                                          int32_t today, const Requester& who) {
  index::AuditEvent ev = AuditEventFor(who, "resolve-nhs");
  if (persons.size() > 1) {
    ev.persons = persons;
    ev.outcome = "refused: nhs number in several persons";
    Stamp(when, &ev);
    EMPI_RETURN_IF_ERROR(CommitAudit(ev));
    return absl::FailedPreconditionError(
        absl::StrCat("the NHS number is held by ", persons.size(),
                     " persons as their own (a pair awaiting review, or a relative's number its holders cannot "
                     "tell apart); resolve by record"));
  }
  std::optional<Resolution> res;
  if (persons.size() == 1) {
    EMPI_ASSIGN_OR_RETURN(res, StoredRecordResolution(persons[0], view, today));
  }
  return FinishResolve(std::move(res), view, when, &ev, "no record holds this NHS number");
}

absl::StatusOr<std::vector<Candidate>> EngineImpl::Search(const Demographics& d, const Requester& who, size_t limit) {
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
    ev.records.push_back(RecordKey(c.best_record.source, c.best_record.record_id));
  }
  ev.outcome = absl::StrCat("ok: ", out.size(), " candidates");
  EMPI_RETURN_IF_ERROR(CommitAudit(ev));
  return out;
}

absl::StatusOr<ViewDecision> EngineImpl::MayAssembleView(uint64_t person_id, const Requester& who) {
  std::shared_ptr<const index::PersonView> view;
  EMPI_ASSIGN_OR_RETURN(const uint64_t at, store_->ReadAtChange([&]() -> absl::Status {
    EMPI_ASSIGN_OR_RETURN(view, store_->LatestPersonView(person_id));
    return absl::OkStatus();
  }));
  EMPI_ASSIGN_OR_RETURN(auto res, ResolutionOf(person_id, view.get(), Today(), /*with_records=*/false));
  return DecideView(person_id, std::move(res), Answered{at, false}, who, {});
}

absl::StatusOr<ViewDecision> EngineImpl::MayAssembleViewAsOf(uint64_t person_id, const AsOf& as_of,
                                                             const Requester& who) {
  EMPI_ASSIGN_OR_RETURN(const uint64_t at, ChangeOf(as_of));
  EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonView> view, store_->PersonViewAt(person_id, at));
  EMPI_ASSIGN_OR_RETURN(auto res, ResolutionOf(person_id, view ? &*view : nullptr, DayOf(as_of), false));
  return DecideView(person_id, std::move(res), Answered{at, true}, who, {});
}

absl::StatusOr<ViewDecision> EngineImpl::MayAssembleViewForRecord(const std::string& source,
                                                                  const std::string& record_id, const Requester& who) {
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

absl::StatusOr<ViewDecision> EngineImpl::MayAssembleViewForRecordAsOf(const std::string& source,
                                                                      const std::string& record_id, const AsOf& as_of,
                                                                      const Requester& who) {
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

void EngineImpl::SetScope(std::string_view gp, int32_t gp_dob, int32_t any_dob, int32_t today, Resolution* res) {
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

absl::StatusOr<std::optional<Resolution>> EngineImpl::ResolutionOf(uint64_t pid, const index::PersonView* view,
                                                                   int32_t today, bool with_records) const {
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

absl::StatusOr<Resolution> EngineImpl::StoredRecordResolution(uint64_t pid, const index::PersonView* view,
                                                              int32_t today, bool with_records) const {
  EMPI_ASSIGN_OR_RETURN(auto res, ResolutionOf(pid, view, today, with_records));
  if (!res) return absl::DataLossError(absl::StrCat("person ", pid, " of a stored record has no person_view"));
  return std::move(*res);
}

absl::StatusOr<Resolution> EngineImpl::FinishResolve(std::optional<Resolution> res, const index::PersonView* view,
                                                     const Answered& when, index::AuditEvent* ev,
                                                     const std::string& not_found) {
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
  res->model_version = model_version();
  return std::move(*res);
}

absl::StatusOr<ViewDecision> EngineImpl::DecideView(uint64_t pid, std::optional<Resolution> res, const Answered& when,
                                                    const Requester& who, const std::string& record_key) {
  ViewDecision d;
  d.person_id = pid;
  d.at_change = when.at_change;
  d.model_version = model_version();
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

absl::StatusOr<std::vector<Candidate>> EngineImpl::SearchAt(const Record& r, size_t limit,
                                                            const rocksdb::Snapshot* snap) const {
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
    Explanation e = model().Explain(p, s.prepared, /*withhold_location=*/restricted);
    c.match_weight = e.total.match_weight;
    c.match_probability = e.total.match_probability;
    if (c.match_probability < kPossibleProbability) break;
    c.grade = c.match_probability >= model().settings().link_threshold     ? MatchGrade::kCertain
              : c.match_probability >= model().settings().review_threshold ? MatchGrade::kProbable
                                                                           : MatchGrade::kPossible;
    c.prior_weight = e.prior_weight;
    for (const ComparisonWeight& w : e.comparisons) {
      c.weights.push_back({std::string(comparisons[w.comparison].name), w.gamma, w.match_weight, w.withheld});
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace empi::realtime
