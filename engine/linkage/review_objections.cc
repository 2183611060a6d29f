// Copyright EMPI developers.
#include "engine/linkage/review_objections.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "empi/status_macros.h"

namespace empi {

using index::ChangeSet;
using index::kMetaReviewObjectionsDirty;
using index::PersonValue;
using index::ReviewValue;
using index::Store;
using index::StoredRecord;

namespace {

// Reads of one update, each made once. The pointers it returns stay valid
// while it lives (node maps).
class Lookup {
 public:
  explicit Lookup(const Store* store) : store_(store) {}

  // The person of a stored record; 0 when it is not stored.
  absl::StatusOr<uint64_t> PersonOf(const std::string& record_key) {
    auto it = person_of_.find(record_key);
    if (it != person_of_.end()) return it->second;
    EMPI_ASSIGN_OR_RETURN(std::optional<StoredRecord> r, store_->GetRecord(record_key));
    const uint64_t pid = r ? r->person_id : 0;
    person_of_.emplace(record_key, pid);
    return pid;
  }

  // The person's value; null when the person does not exist.
  absl::StatusOr<const PersonValue*> Person(uint64_t pid) {
    auto it = persons_.find(pid);
    if (it == persons_.end()) {
      EMPI_ASSIGN_OR_RETURN(std::optional<PersonValue> p, store_->GetPerson(pid));
      it = persons_.emplace(pid, std::move(p)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  absl::StatusOr<bool> Objects(uint64_t pid) {
    EMPI_ASSIGN_OR_RETURN(const PersonValue* p, Person(pid));
    return p != nullptr && p->objection;
  }

  // The other persons holding a record in review with a record of `pid`.
  absl::StatusOr<const std::vector<uint64_t>*> Partners(uint64_t pid) {
    auto it = partners_.find(pid);
    if (it != partners_.end()) return &it->second;
    std::vector<uint64_t> out;
    EMPI_ASSIGN_OR_RETURN(std::vector<std::string> keys, store_->PersonRecords(pid));
    for (const std::string& key : keys) {
      EMPI_ASSIGN_OR_RETURN(std::vector<std::string> others, store_->ReviewPartners(key));
      for (const std::string& other : others) {
        EMPI_ASSIGN_OR_RETURN(uint64_t q, PersonOf(other));
        if (q != 0 && q != pid) out.push_back(q);
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return &partners_.emplace(pid, std::move(out)).first->second;
  }

 private:
  const Store* store_;
  absl::flat_hash_map<std::string, uint64_t> person_of_;
  absl::node_hash_map<uint64_t, std::optional<PersonValue>> persons_;
  absl::node_hash_map<uint64_t, std::vector<uint64_t>> partners_;
};

// Puts `pid`'s value with the flag set to `want` when it differs, and
// names the person in *changed.
void SetFlag(uint64_t pid, const PersonValue& p, bool want, ChangeSet* cs, std::vector<uint64_t>* changed) {
  if (p.objection_in_review == want) return;
  PersonValue v = p;
  v.objection_in_review = want;
  cs->PutPerson(pid, v);
  changed->push_back(pid);
}

// Commits the flags set in `cs` with their change for the feed, and deletes
// the marker.
absl::Status CommitFlags(Store* store, std::vector<uint64_t> changed, ChangeSet* cs, bool sync) {
  if (!changed.empty()) {
    std::sort(changed.begin(), changed.end());
    cs->AddChange({.kind = "objection-in-review", .persons = std::move(changed), .records = {}});
  }
  cs->DeleteMeta(kMetaReviewObjectionsDirty);
  return store->Commit(cs, nullptr, sync);
}

// The marker's value when only the persons of the change in flight are
// stale; any other value (the empty one of batch writers and of stores
// before this value) means every flag.
constexpr std::string_view kDirtyPersons = "persons";

}  // namespace

absl::Status MarkReviewObjectionsDirty(const Store& store, ChangeSet* cs) {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> before, store.GetMeta(kMetaReviewObjectionsDirty));
  cs->PutMeta(kMetaReviewObjectionsDirty, before ? "" : kDirtyPersons);
  return absl::OkStatus();
}

absl::Status UpdateReviewObjections(Store* store, const absl::flat_hash_set<uint64_t>& persons) {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> dirty, store->GetMeta(kMetaReviewObjectionsDirty));
  if (dirty && *dirty != kDirtyPersons) return RecomputeReviewObjections(store).status();
  Lookup look(store);
  absl::flat_hash_set<uint64_t> affected = persons;
  for (uint64_t pid : persons) {
    EMPI_ASSIGN_OR_RETURN(const std::vector<uint64_t>* partners, look.Partners(pid));
    affected.insert(partners->begin(), partners->end());
  }
  ChangeSet cs = store->NewChangeSet();
  std::vector<uint64_t> changed;
  for (uint64_t pid : affected) {
    EMPI_ASSIGN_OR_RETURN(const PersonValue* p, look.Person(pid));
    if (p == nullptr) continue;
    EMPI_ASSIGN_OR_RETURN(const std::vector<uint64_t>* partners, look.Partners(pid));
    bool want = false;
    for (size_t i = 0; i < partners->size() && !want; ++i) {
      EMPI_ASSIGN_OR_RETURN(want, look.Objects((*partners)[i]));
    }
    SetFlag(pid, *p, want, &cs, &changed);
  }
  return CommitFlags(store, std::move(changed), &cs, /*sync=*/false);
}

absl::StatusOr<uint64_t> RecomputeReviewObjections(Store* store) {
  Lookup look(store);
  absl::flat_hash_set<uint64_t> want;
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(store->ForEachReview([&](std::string_view a, std::string_view b, const ReviewValue&) {
    bad = [&]() -> absl::Status {
      EMPI_ASSIGN_OR_RETURN(uint64_t pa, look.PersonOf(std::string(a)));
      EMPI_ASSIGN_OR_RETURN(uint64_t pb, look.PersonOf(std::string(b)));
      if (pa == 0 || pb == 0 || pa == pb) return absl::OkStatus();
      EMPI_ASSIGN_OR_RETURN(bool a_objects, look.Objects(pa));
      EMPI_ASSIGN_OR_RETURN(bool b_objects, look.Objects(pb));
      if (a_objects) want.insert(pb);
      if (b_objects) want.insert(pa);
      return absl::OkStatus();
    }();
    return bad.ok();
  }));
  EMPI_RETURN_IF_ERROR(bad);
  std::vector<uint64_t> changed;
  ChangeSet cs = store->NewChangeSet();
  EMPI_RETURN_IF_ERROR(store->ForEachPerson([&](uint64_t pid, const PersonValue& p) {
    SetFlag(pid, p, want.contains(pid), &cs, &changed);
    return true;
  }));
  const uint64_t n = changed.size();
  EMPI_RETURN_IF_ERROR(CommitFlags(store, std::move(changed), &cs, /*sync=*/true));
  return n;
}

absl::Status RecomputeReviewObjectionsIfDirty(Store* store) {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> dirty, store->GetMeta(kMetaReviewObjectionsDirty));
  if (!dirty) return absl::OkStatus();
  return RecomputeReviewObjections(store).status();
}

}  // namespace empi
