// Copyright EMPI developers.
//
// store_invariants.h: checks of a store's invariants, shared by the index,
// linkage and real-time tests: index::CheckStore, what `empi check` runs,
// plus a naive reference of the objection flags.
#ifndef EMPI_TESTS_INDEX_STORE_INVARIANTS_H_
#define EMPI_TESTS_INDEX_STORE_INVARIANTS_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "index/store_check.h"

namespace empi::testing {

// Naive reference of engine/linkage/review_objections.h: unless the store says its
// flags are out of date, a person's objection_in_review is set exactly when
// one of its records is in review with a record of another person who
// objected. Also checks that each review pair is listed once and found from
// both of its records.
inline void CheckReviewObjections(index::Store* store, const absl::flat_hash_map<std::string, uint64_t>& person_of) {
  absl::flat_hash_map<uint64_t, bool> objects;
  EXPECT_TRUE(store
                  ->ForEachPerson([&](uint64_t pid, const index::PersonValue& pv) {
                    objects[pid] = pv.objection;
                    return true;
                  })
                  .ok());
  absl::flat_hash_set<uint64_t> want;
  absl::flat_hash_set<std::pair<std::string, std::string>> pairs;
  EXPECT_TRUE(store
                  ->ForEachReview([&](std::string_view a, std::string_view b, const index::ReviewValue&) {
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
                  })
                  .ok());
  auto dirty = store->GetMeta(index::kMetaReviewObjectionsDirty);
  EXPECT_TRUE(dirty.ok());
  if (!dirty.ok() || dirty->has_value()) return;
  EXPECT_TRUE(store
                  ->ForEachPerson([&](uint64_t pid, const index::PersonValue& pv) {
                    EXPECT_EQ(pv.objection_in_review, want.contains(pid)) << "objection_in_review of person " << pid;
                    return true;
                  })
                  .ok());
}

// Every invariant index::CheckStore checks (index/store_check.h: the same
// implementation as `empi check`; block keys are checked by the linkage
// tests through empi::CheckStore), except the audit chain, which tests that
// damage it check themselves; then CheckReviewObjections, the naive twin of
// the objection flags. Returns the person of each record key.
inline absl::flat_hash_map<std::string, uint64_t> CheckMembership(index::Store* store) {
  index::StoreCheckOptions options;
  options.audit = false;
  auto report = index::CheckStore(*store, options);
  EXPECT_TRUE(report.ok()) << report.status();
  if (report.ok()) {
    std::string listed;
    for (const std::string& v : report->violations) listed += "\n  " + v;
    EXPECT_EQ(report->violations_total, 0u) << "store invariants violated:" << listed;
  }
  absl::flat_hash_map<std::string, uint64_t> person_of;
  EXPECT_TRUE(store
                  ->ForEachRecord([&](const index::StoredRecord& r) {
                    person_of[r.record.Key()] = r.person_id;
                    return true;
                  })
                  .ok());
  CheckReviewObjections(store, person_of);
  return person_of;
}

// The clustering as sets of record keys, whatever the person ids: what a
// re-run after a fault must give again.
inline std::set<std::set<std::string>> PersonsAsKeySets(const index::Store& store) {
  std::map<uint64_t, std::set<std::string>> by_person;
  EXPECT_TRUE(store
                  .ForEachRecord([&](const index::StoredRecord& r) {
                    by_person[r.person_id].insert(r.record.Key());
                    return true;
                  })
                  .ok());
  std::set<std::set<std::string>> out;
  for (auto& [id, keys] : by_person) out.insert(std::move(keys));
  return out;
}

}  // namespace empi::testing

#endif  // EMPI_TESTS_INDEX_STORE_INVARIANTS_H_
