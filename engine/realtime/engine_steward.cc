// Copyright EMPI developers.
//
// engine_steward.cc: the data steward's actions: merge two persons, split
// records off a person, undo a merge, and mark two records never to be
// linked. An objection always survives: every part of a split objecting
// person objects, and a merged person takes the earlier objection.

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "empi/status_macros.h"
#include "engine/linkage/review_objections.h"
#include "engine/linkage/store_events.h"
#include "engine/realtime/engine_impl.h"

namespace empi::realtime {

absl::StatusOr<uint64_t> EngineImpl::Merge(uint64_t a, uint64_t b, const Requester& who, const std::string& reason) {
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

absl::StatusOr<uint64_t> EngineImpl::Split(uint64_t person, const std::vector<RecordRef>& records, const Requester& who,
                                           const std::string& reason) {
  uint64_t pid = 0;
  {
    absl::MutexLock lock(&write_mu_);
    std::vector<std::string> keys;
    for (const RecordRef& r : records) keys.push_back(RecordKey(r.source, r.record_id));
    EMPI_ASSIGN_OR_RETURN(pid, SplitLocked(person, keys, 0, who, reason, "split"));
  }
  EMPI_RETURN_IF_ERROR(Sync());
  return pid;
}

absl::StatusOr<uint64_t> EngineImpl::Unmerge(uint64_t person, uint64_t merge_event, const Requester& who) {
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
    for (std::string& key : RecordKeysOf((*event)["records"])) {
      if (in_person.contains(key)) keys.push_back(std::move(key));
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

absl::Status EngineImpl::NeverLink(const RecordRef& a, const RecordRef& b, const Requester& who,
                                   const std::string& reason) {
  const std::string ka = RecordKey(a.source, a.record_id), kb = RecordKey(b.source, b.record_id);
  if (ka == kb) return absl::InvalidArgumentError("never-link: the two records are the same");
  {
    absl::MutexLock lock(&write_mu_);
    EMPI_ASSIGN_OR_RETURN(auto ga, store_->GetRecord(ka));
    EMPI_ASSIGN_OR_RETURN(auto gb, store_->GetRecord(kb));
    if (!ga) return absl::NotFoundError(absl::StrCat("never-link: record ", a.source, ":", a.record_id, " not found"));
    if (!gb) return absl::NotFoundError(absl::StrCat("never-link: record ", b.source, ":", b.record_id, " not found"));
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

absl::Status EngineImpl::MoveRecords(const std::vector<std::string>& keys, uint64_t from, uint64_t to,
                                     index::ChangeSet* cs) {
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

absl::StatusOr<uint64_t> EngineImpl::SplitLocked(uint64_t person, const std::vector<std::string>& keys, uint64_t new_id,
                                                 const Requester& who, const std::string& reason, const char* action,
                                                 const index::PersonValue* restored) {
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

}  // namespace empi::realtime
