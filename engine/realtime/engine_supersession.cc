// Copyright EMPI developers.
//
// engine_supersession.cc: an NHS number superseded by another (a duplicate
// registration resolved nationally): the records move to the current
// number, objections under either number hold for every person holding
// them, and persons that now share a number go to review.

#include "absl/strings/str_cat.h"
#include "empi/status_macros.h"
#include "engine/linkage/linker.h"
#include "engine/linkage/review_objections.h"
#include "engine/linkage/store_events.h"
#include "engine/realtime/engine_impl.h"
#include "matchers/nhs_number.h"

namespace empi::realtime {

absl::StatusOr<SupersessionResult> EngineImpl::Supersede(const Supersession& supersession, const Requester& who) {
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

// Reads the stored supersessions (Engine::Open).
absl::Status EngineImpl::LoadSupersessions() {
  EMPI_ASSIGN_OR_RETURN(NhsSupersessions loaded, empi::LoadSupersessions(*store_));
  absl::MutexLock lock(&supersessions_mu_);
  supersessions_ = std::move(loaded);
  return absl::OkStatus();
}

absl::StatusOr<SupersessionResult> EngineImpl::SupersedeLocked(uint64_t old_nhs, uint64_t new_nhs,
                                                               const Requester& who) {
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
  std::vector<PreparedRecord> now(keys.size());
  std::vector<Arriving> arriving;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!moved[i]) continue;
    PreparedRecord p = PrepareRecord(moved[i]->record, conventions_);
    before.Apply(&p);
    const BlockKeys old_keys = ComputeBlockKeys(rules_, p);
    cs.DeleteNhs(p.nhs, keys[i]);
    next.Apply(&p);
    const BlockKeys new_keys = ComputeBlockKeys(rules_, p);
    for (size_t q = 0; q < rules_.rules().size(); ++q) {
      if (old_keys[q] == new_keys[q]) continue;
      if (old_keys[q] != 0) cs.DeleteBlockKey(rules_.rules()[q].id, BlockKeyBytes(old_keys[q]), keys[i]);
      if (new_keys[q] != 0) cs.PutBlockKey(rules_.rules()[q].id, BlockKeyBytes(new_keys[q]), keys[i]);
    }
    now[i] = std::move(p);
    arriving.push_back({keys[i], &now[i]});
  }
  // The moved records join the holders of the current number: whose
  // number each holds is judged again among them all.
  Remarked remarked;
  auto prepare = [&](const Record& r) {
    PreparedRecord p = PrepareRecord(r, conventions_);
    next.Apply(&p);
    return p;
  };
  EMPI_RETURN_IF_ERROR(JudgeStoredNumber(*store_, current, {}, arriving, prepare, &cs, &remarked));
  for (const Arriving& a : arriving) cs.PutNhs(a.record->nhs, a.key, a.record->nhs_relatives);
  AddJudgedChange(remarked, &cs);
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
  // A change even when no person holds either number: answers by NHS
  // number follow the supersession from this change on (nhs_history), and
  // one given before it must name an earlier change.
  cs.AddChange({.kind = "nhs-superseded", .persons = result.persons, .records = {}});
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

absl::StatusOr<uint64_t> EngineImpl::SupersessionReviewPairs(const std::vector<std::string>& keys,
                                                             const std::vector<uint64_t>& persons,
                                                             const NhsSupersessions& next, index::ChangeSet* cs) const {
  if (persons.size() < 2) return uint64_t{0};
  EMPI_ASSIGN_OR_RETURN(auto records, store_->GetRecords(keys, nullptr));
  absl::flat_hash_map<uint64_t, size_t> first;  // person -> index in keys
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i]) first.try_emplace(records[i]->person_id, i);
  }
  auto prepared = [&](size_t i) {
    PreparedRecord p = PrepareRecord(records[i]->record, conventions_);
    next.Apply(&p);
    model().Annotate(&p);
    return p;
  };
  const size_t a = first.at(persons[0]);
  const PreparedRecord pa = prepared(a);
  for (size_t j = 1; j < persons.size(); ++j) {
    const size_t b = first.at(persons[j]);
    const ScoredPair scored = model().Score(pa, prepared(b));
    index::ReviewValue v{scored.match_weight, scored.match_probability, "superseded NHS number"};
    cs->PutReview(keys[a], keys[b], v);
  }
  return uint64_t{persons.size() - 1};
}

}  // namespace empi::realtime
