// Copyright EMPI developers.
//
// engine_objections.cc: patients' objections. Registered or withdrawn by
// NHS number or by a demographic form; held pending when no record is
// there yet, and applied when one arrives (Ingest, ApplyPendingForms, and
// ApplyPendingObjections after a batch link). An objection is never lost:
// a withdrawal that may speak for another patient is refused.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "empi/status_macros.h"
#include "engine/linkage/comparisons.h"
#include "engine/linkage/review_objections.h"
#include "engine/linkage/store_events.h"
#include "engine/realtime/engine_impl.h"
#include "engine/realtime/engine_internal.h"
#include "matchers/date_of_birth.h"
#include "matchers/nhs_number.h"

namespace empi::realtime {
namespace {

// Why a form identifies nobody: no person scores even the review threshold.
// Such a form is held pending; a weak or ambiguous one is refused.
constexpr std::string_view kNoMatchingPerson = "no matching person";

constexpr char kPendingFormPrefix[] = "form:";

// The pending key of a demographic form: "form:" and its normalised
// fields, so that the patient's second form or withdrawal finds it.
std::string FormKey(const PreparedRecord& p) {
  return absl::StrCat(kPendingFormPrefix, p.family, "|", p.given1, " ", p.given2, "|", p.dob, "|", p.postcode_unit);
}

// What a pending objection stores: when, how and its reference, with the
// NHS number (`nhs`, 0 for none) and, for a demographic form, the form.
index::ObjectionValue PendingValue(const ObjectionRequest& req, int64_t when, uint64_t nhs, bool form) {
  index::ObjectionValue v;
  v.time_us = when;
  v.method = req.method;
  v.reference = req.reference;
  if (nhs != 0) v.nhs_number = FormatNhsNumber(nhs);
  if (form) {
    v.family_name = req.family_name;
    v.given_names = req.given_names;
    v.date_of_birth = req.date_of_birth;
    v.postcode = req.postcode;
  }
  return v;
}

bool SharesBlock(const BlockKeys& a, const BlockKeys& b) {
  for (size_t q = 0; q < a.size(); ++q) {
    if (a[q] != 0 && a[q] == b[q]) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<ObjectionResult> EngineImpl::RegisterObjection(const ObjectionRequest& req, const Requester& who) {
  return ChangeObjection(req, who, /*object=*/true);
}

absl::StatusOr<uint64_t> EngineImpl::ApplyPendingForms(const Requester& who) {
  uint64_t applied = 0;
  {
    absl::MutexLock lock(&write_mu_);
    std::vector<ObjectionRequest> due;
    for (const auto& [key, form] : forms_) {
      std::string why;
      EMPI_ASSIGN_OR_RETURN(auto match, MatchForm(form.prepared, &why));
      if (!match) continue;
      EMPI_ASSIGN_OR_RETURN(bool another, FormsNumberRulesOut(form, match->person));
      if (!another) due.push_back(form.request);
    }
    for (const ObjectionRequest& req : due) {
      EMPI_ASSIGN_OR_RETURN(ObjectionResult r, ChangeObjectionLocked(req, who, true, "apply-pending-objection"));
      applied += r.outcome == ObjectionOutcome::kApplied;
    }
  }
  if (applied > 0) EMPI_RETURN_IF_ERROR(Sync());
  return applied;
}

// Reads the pending demographic forms into forms_ (Engine::Open).
absl::Status EngineImpl::LoadPendingForms() {
  std::vector<std::pair<std::string, ObjectionRequest>> forms;
  EMPI_RETURN_IF_ERROR(store_->ForEachPendingObjection([&](std::string_view key, const index::ObjectionValue& v) {
    if (!IsPendingFormKey(key)) return true;
    forms.emplace_back(std::string(key), ObjectionRequest{v.nhs_number, v.family_name, v.given_names, v.date_of_birth,
                                                          v.postcode, v.method, v.reference, v.time_us});
    return true;
  }));
  absl::MutexLock lock(&write_mu_);
  for (auto& [key, req] : forms) AddForm(std::move(key), req);
  return absl::OkStatus();
}

absl::StatusOr<ObjectionResult> EngineImpl::WithdrawObjection(const ObjectionRequest& req, const Requester& who) {
  return ChangeObjection(req, who, /*object=*/false);
}

absl::StatusOr<std::vector<std::string>> EngineImpl::ObjectionsOnArrival(
    const PreparedRecord& p, const std::string& key, uint64_t target,
    const std::optional<index::PersonValue>& inherited, index::PersonValue* pv, bool* changed, index::ChangeSet* cs,
    IngestResult* result) {
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
    const Scored arriving{target, key, model().Score(form.prepared, p).match_weight, p, {}};
    std::string why;
    EMPI_ASSIGN_OR_RETURN(auto match, MatchForm(form.prepared, &why, &arriving));
    if (!match || match->person != target || (form.nhs != 0 && p.nhs != 0 && p.nhs != form.nhs)) continue;
    EMPI_ASSIGN_OR_RETURN(bool another, FormsNumberRulesOut(form, target));
    if (another) continue;
    *changed |= index::AdoptObjection(pv, form.request.time_us, form.request.method, form.request.reference);
    cs->DeletePendingObjection(form_key);
    forms_applied.push_back(form_key);
    result->objection_applied = true;
  }
  return forms_applied;
}

absl::StatusOr<std::optional<index::ObjectionValue>> EngineImpl::GetPending(uint64_t nhs) const {
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

absl::StatusOr<std::optional<EngineImpl::Scored>> EngineImpl::MatchForm(const PreparedRecord& form, std::string* reason,
                                                                        const Scored* arriving,
                                                                        bool hide_restricted) const {
  EMPI_ASSIGN_OR_RETURN(auto scored, Candidates(form, FormQueryKey(), nullptr));
  if (hide_restricted) {
    std::vector<Scored> kept;
    kept.reserve(scored.size());
    for (Scored& s : scored) {
      // Persons below the review weight decide nothing.
      if (s.weight >= model().review_weight()) {
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
    auto it = std::find_if(scored.begin(), scored.end(), [&](const Scored& s) { return s.person == arriving->person; });
    if (it == scored.end()) {
      scored.push_back(*arriving);
    } else if (arriving->weight > it->weight) {
      *it = *arriving;
    }
    std::sort(scored.begin(), scored.end(), BetterCandidate);
  }
  if (scored.empty() || scored[0].weight < model().review_weight()) {
    *reason = kNoMatchingPerson;
    return std::nullopt;
  }
  if (scored[0].weight < model().link_weight()) {
    *reason = "weak match: below the link threshold";
    return std::nullopt;
  }
  if (Contested(form, scored, model().review_weight())) {
    // Another person matches nearly as well: the form cannot tell them
    // apart (twins with one given name abbreviated, say).
    *reason = "ambiguous: more than one person matches";
    return std::nullopt;
  }
  return std::optional<Scored>(scored[0]);
}

absl::StatusOr<bool> EngineImpl::FormContradicts(const ObjectionRequest& req,
                                                 const std::vector<std::string>& keys) const {
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
    const bool name_agrees = agrees(comparison::kFamilyName, CompareFamily(form, o)) ||
                             agrees(comparison::kGivenNames, CompareGiven(form, o));
    if (name_agrees || o.dob == 0 || agrees(comparison::kDateOfBirth, CompareDob(form.dob, o.dob))) return false;
  }
  return compared;
}

PreparedRecord EngineImpl::PrepareForm(const ObjectionRequest& req) const {
  return Prepare(QueryRecord("objection", {"", req.family_name, req.given_names, req.date_of_birth, req.postcode, ""}));
}

const std::string& EngineImpl::FormQueryKey() {
  static const std::string key = QueryRecord("objection", {}).Key();
  return key;
}

void EngineImpl::AddForm(std::string key, const ObjectionRequest& req) {
  PendingForm f{req, PrepareForm(req), {}};
  f.keys = ComputeBlockKeys(rules_, f.prepared);
  if (const std::optional<uint64_t> n = ParseNhsNumber(req.nhs_number)) f.nhs = CurrentNhs(*n);
  f.request.nhs_number.clear();
  forms_.insert_or_assign(std::move(key), std::move(f));
}

absl::StatusOr<bool> EngineImpl::FormsNumberRulesOut(const PendingForm& form, uint64_t pid) const {
  if (form.nhs == 0) return false;
  return HoldsOtherNhs(pid, form.nhs);
}

absl::StatusOr<absl::flat_hash_set<uint64_t>> EngineImpl::NhsNumbersOf(uint64_t pid) const {
  EMPI_ASSIGN_OR_RETURN(auto keys, store_->PersonRecords(pid));
  EMPI_ASSIGN_OR_RETURN(auto records, store_->GetRecords(keys, nullptr));
  absl::flat_hash_set<uint64_t> out;
  for (const auto& r : records) {
    if (!r) continue;
    if (const std::optional<uint64_t> n = ParseNhsNumber(r->record.nhs_number)) out.insert(CurrentNhs(*n));
  }
  return out;
}

absl::StatusOr<bool> EngineImpl::HoldsOtherNhs(uint64_t pid, uint64_t nhs) const {
  EMPI_ASSIGN_OR_RETURN(auto numbers, NhsNumbersOf(pid));
  numbers.erase(nhs);
  return !numbers.empty();
}

absl::StatusOr<ObjectionResult> EngineImpl::ChangeObjection(const ObjectionRequest& req, const Requester& who,
                                                            bool object) {
  ObjectionResult result;
  {
    absl::MutexLock lock(&write_mu_);
    EMPI_ASSIGN_OR_RETURN(result, ChangeObjectionLocked(req, who, object, object ? "object" : "withdraw-objection"));
  }
  EMPI_RETURN_IF_ERROR(Sync());
  return result;
}

absl::Status EngineImpl::ObjectionByNumber(const ObjectionRequest& req, uint64_t nhs, bool object, int64_t when,
                                           bool demographics, ObjectionChange* c) {
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
    c->cs.PutPendingObjection(PendingKey(nhs), PendingValue(req, when, nhs, /*form=*/false));
    result.outcome = ObjectionOutcome::kPending;
    result.reason = "no record with this NHS number yet; applied when one arrives";
  } else {
    // The number's pending objection and every form pending with it.
    if (pending) c->cs.DeletePendingObjection(PendingKey(nhs));
    for (const auto& [key, form] : forms_) {
      if (form.nhs != nhs) continue;
      c->cs.DeletePendingObjection(key);
      c->forms_ended.push_back(key);
    }
    const bool withdrawn = pending || !c->forms_ended.empty();
    result.outcome = withdrawn ? ObjectionOutcome::kApplied : ObjectionOutcome::kRefused;
    result.reason =
        withdrawn ? "pending objection withdrawn" : "no record and no pending objection with this NHS number";
  }
  // The patient's records may carry no NHS number (an ambulance or a
  // social care record): the form's demographics can still identify them,
  // unless that person's records hold another number.
  if (!demographics) return absl::OkStatus();
  std::string why;
  const PreparedRecord form = PrepareForm(req);
  EMPI_ASSIGN_OR_RETURN(auto match, MatchForm(form, &why, nullptr, /*hide_restricted=*/true));
  if (!match && why == kNoMatchingPerson && object) {
    // Nor by demographics yet: the form is pending under both, so that a
    // record arriving without the number finds it too.
    c->form_added = FormKey(form);
    c->cs.PutPendingObjection(*c->form_added, PendingValue(req, when, nhs, /*form=*/true));
  }
  if (!match) return absl::OkStatus();
  EMPI_ASSIGN_OR_RETURN(bool other, HoldsOtherNhs(match->person, nhs));
  if (!other) {
    c->persons = {match->person};
    c->ev.records.push_back(match->key);
    c->by_demographics = true;
  }
  return absl::OkStatus();
}

absl::Status EngineImpl::ObjectionByForm(const ObjectionRequest& req, bool object, int64_t when, ObjectionChange* c) {
  const PreparedRecord form = PrepareForm(req);
  const std::string form_key = FormKey(form);
  ObjectionResult& result = c->result;
  EMPI_ASSIGN_OR_RETURN(auto match, MatchForm(form, &result.reason, nullptr, /*hide_restricted=*/true));
  if (match) {
    c->persons = {match->person};
    c->ev.records = {match->key};
    if (forms_.contains(form_key)) c->forms_ended.push_back(form_key);
  } else if (result.reason == kNoMatchingPerson && object) {
    // The patient's records have not arrived: the objection waits for
    // them (docs/realtime.md, "Objections").
    c->cs.PutPendingObjection(form_key, PendingValue(req, when, 0, /*form=*/true));
    c->form_added = form_key;
    result.outcome = ObjectionOutcome::kPending;
    result.reason = "no person matches yet; applied when a record that matches the form arrives";
  } else if (result.reason == kNoMatchingPerson && forms_.contains(form_key)) {
    c->forms_ended.push_back(form_key);
    result.outcome = ObjectionOutcome::kApplied;
    result.reason = "pending objection withdrawn";
  }
  for (const std::string& key : c->forms_ended) c->cs.DeletePendingObjection(key);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint64_t>> EngineImpl::KeepOtherPatientsObjections(std::optional<uint64_t> nhs,
                                                                              ObjectionChange* c) {
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

absl::StatusOr<ObjectionResult> EngineImpl::ChangeObjectionLocked(const ObjectionRequest& req, const Requester& who,
                                                                  bool object, const char* action) {
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
  for (const std::string& key : c.forms_ended) forms_.erase(key);
  return result;
}

}  // namespace empi::realtime

namespace empi {

bool IsPendingFormKey(std::string_view key) { return key.starts_with(realtime::kPendingFormPrefix); }

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
  EMPI_RETURN_IF_ERROR(MarkReviewObjectionsDirty(*store, &cs));
  EMPI_RETURN_IF_ERROR(store->Commit(&cs, &ev, /*sync=*/true));
  EMPI_RETURN_IF_ERROR(
      UpdateReviewObjections(store, absl::flat_hash_set<uint64_t>(ev.persons.begin(), ev.persons.end())));
  return applied;
}

}  // namespace empi
