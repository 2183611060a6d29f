// Copyright EMPI developers.
//
// store_invariants.h: checks of a store's membership invariants, shared by
// the index, linkage and real-time tests.
#ifndef EMPI_TESTS_INDEX_STORE_INVARIANTS_H_
#define EMPI_TESTS_INDEX_STORE_INVARIANTS_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "index/store.h"

namespace empi::testing {

// Naive reference of index/review_objections.h: unless the store says its
// flags are out of date, a person's objection_in_review is set exactly when
// one of its records is in review with a record of another person who
// objected. Also checks that each review pair is listed once and found from
// both of its records.
inline void CheckReviewObjections(index::Store* store,
                                  const absl::flat_hash_map<std::string, uint64_t>& person_of) {
  absl::flat_hash_map<uint64_t, bool> objects;
  EXPECT_TRUE(store->ForEachPerson([&](uint64_t pid, const index::PersonValue& pv) {
    objects[pid] = pv.objection;
    return true;
  }).ok());
  absl::flat_hash_set<uint64_t> want;
  absl::flat_hash_set<std::pair<std::string, std::string>> pairs;
  EXPECT_TRUE(store->ForEachReview([&](std::string_view a, std::string_view b, const index::ReviewValue&) {
    EXPECT_LT(a, b);
    EXPECT_TRUE(pairs.emplace(a, b).second) << "review pair listed twice";
    for (auto [from, to] : {std::pair(a, b), std::pair(b, a)}) {
      auto partners = store->ReviewPartners(from);
      EXPECT_TRUE(partners.ok() && std::count(partners->begin(), partners->end(), to) == 1);
    }
    auto pa = person_of.find(std::string(a)), pb = person_of.find(std::string(b));
    if (pa == person_of.end() || pb == person_of.end() || pa->second == pb->second) return true;
    if (objects[pa->second]) want.insert(pb->second);
    if (objects[pb->second]) want.insert(pa->second);
    return true;
  }).ok());
  auto dirty = store->GetMeta(index::kMetaReviewObjectionsDirty);
  EXPECT_TRUE(dirty.ok());
  if (!dirty.ok() || dirty->has_value()) return;
  EXPECT_TRUE(store->ForEachPerson([&](uint64_t pid, const index::PersonValue& pv) {
    EXPECT_EQ(pv.objection_in_review, want.contains(pid)) << "objection_in_review of person " << pid;
    return true;
  }).ok());
}

// Every record in exactly one person, every person non-empty, record and
// membership agree, and each person's derived person_view equals what
// persons, person_records and records say. Returns person of each record key.
inline absl::flat_hash_map<std::string, uint64_t> CheckMembership(index::Store* store) {
  absl::flat_hash_map<std::string, uint64_t> person_of;
  absl::flat_hash_map<std::string, index::PersonViewMember> facts;
  EXPECT_TRUE(store->ForEachRecord([&](const index::StoredRecord& r) {
    person_of[r.record.Key()] = r.person_id;
    facts[r.record.Key()] = {r.record.Key(), r.record.restricted, index::DateOfBirthYmd(r.record.date_of_birth)};
    return true;
  }).ok());
  size_t listed = 0;
  absl::flat_hash_set<std::string> seen;
  EXPECT_TRUE(store->ForEachPerson([&](uint64_t pid, const index::PersonValue& pv) {
    auto keys = store->PersonRecords(pid);
    EXPECT_TRUE(keys.ok());
    EXPECT_FALSE(keys->empty()) << "person " << pid << " has no records";
    for (const auto& k : *keys) {
      EXPECT_TRUE(seen.insert(k).second) << "record in two persons";
      EXPECT_EQ(person_of[k], pid);
      ++listed;
    }
    // The derived person_view says exactly what persons, person_records and
    // records say.
    auto view = store->GetPersonView(pid);
    EXPECT_TRUE(view.ok() && view->has_value()) << "person " << pid << " has no view";
    if (!view.ok() || !view->has_value()) return true;
    EXPECT_TRUE((*view)->person.has_value()) << "person " << pid;
    if ((*view)->person) {
      EXPECT_EQ((*view)->person->objection, pv.objection) << "person " << pid;
      EXPECT_EQ((*view)->person->objection_time_us, pv.objection_time_us) << "person " << pid;
      EXPECT_EQ((*view)->person->objection_in_review, pv.objection_in_review) << "person " << pid;
    }
    EXPECT_EQ((*view)->members.size(), keys->size()) << "person " << pid;
    for (size_t i = 0; i < (*view)->members.size() && i < keys->size(); ++i) {
      const index::PersonViewMember& m = (*view)->members[i];
      EXPECT_EQ(m.record_key, (*keys)[i]) << "person " << pid;
      EXPECT_EQ(m.restricted, facts[m.record_key].restricted) << "person " << pid;
      EXPECT_EQ(m.dob_ymd, facts[m.record_key].dob_ymd) << "person " << pid;
    }
    return true;
  }).ok());
  EXPECT_EQ(listed, person_of.size()) << "a record in no person";
  CheckReviewObjections(store, person_of);
  return person_of;
}

}  // namespace empi::testing

#endif  // EMPI_TESTS_INDEX_STORE_INVARIANTS_H_
