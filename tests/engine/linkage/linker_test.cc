// Copyright EMPI developers.
#include "engine/linkage/linker.h"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/engine/linkage/linkage_test_util.h"
#include "tests/index/store_invariants.h"
#include "tests/index/temp_store.h"

namespace empi {
namespace {

using index::testing::TempDir;
using testing_linkage::RecordGenerator;

// A copy of `r` from another contributor with at most one small error, so
// that every copy is expected to link.
Record CleanCopy(RecordGenerator& gen, const Record& r, const std::string& source, int id) {
  Record c = r;
  c.source = source;
  c.record_id = "C" + std::to_string(id);
  switch (gen.Uniform(0, 3)) {
    case 0: c.given_names = gen.Typo(c.given_names); break;
    case 1: c.address = ""; break;
    case 2: c.postcode = ""; break;
    default: break;
  }
  return c;
}

class LinkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = index::Store::Open(dir_.path() + "/db", {});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    // The first feed: 300 persons, most with a second record.
    for (int p = 0; p < 300; ++p) {
      Record t = gen_.Person();
      t.source = "RKB";
      t.record_id = "K" + std::to_string(p);
      t.nhs_number = gen_.NhsNumber();
      if (t.date_of_birth.empty()) t.date_of_birth = gen_.Date();
      if (t.given_names == t.family_name) t.given_names = "Sophie";
      truth_.push_back(t);
      feed1_.push_back(t);
      truth_of_[t.Key()] = p;
      if (p % 4 != 0) {
        Record c = CleanCopy(gen_, t, "RLT", p);
        feed1_.push_back(c);
        truth_of_[c.Key()] = p;
      }
    }
  }

  std::map<std::string, uint64_t> PersonOfRecord() {
    std::map<std::string, uint64_t> out;
    EXPECT_TRUE(store_->ForEachRecord([&](const index::StoredRecord& r) {
                  out[r.record.Key()] = r.person_id;
                  return true;
                }).ok());
    return out;
  }

  // Records of one true person share a stored person and no stored person
  // holds two true persons.
  void ExpectPersonsMatchTruth(double min_recall) {
    std::map<std::string, uint64_t> person = PersonOfRecord();
    std::map<uint64_t, std::set<int>> truths_of_person;
    std::map<int, std::set<uint64_t>> persons_of_truth;
    for (const auto& [key, pid] : person) {
      ASSERT_TRUE(truth_of_.contains(key));
      truths_of_person[pid].insert(truth_of_[key]);
      persons_of_truth[truth_of_[key]].insert(pid);
      // Membership agrees with the record.
      auto members = store_->PersonRecords(pid);
      ASSERT_TRUE(members.ok());
      EXPECT_NE(std::find(members->begin(), members->end(), key), members->end());
    }
    for (const auto& [pid, truths] : truths_of_person) EXPECT_EQ(truths.size(), 1u) << "false merge, person " << pid;
    int whole = 0;
    for (const auto& [t, pids] : persons_of_truth) whole += pids.size() == 1;
    EXPECT_GE(whole, min_recall * persons_of_truth.size());
  }

  absl::StatusOr<LinkSummary> Link(std::vector<Record> records) {
    return LinkRecords(store_.get(), std::move(records), options_);
  }

  TempDir dir_;
  std::unique_ptr<index::Store> store_;
  RecordGenerator gen_{1234};
  std::vector<Record> truth_, feed1_;
  std::map<std::string, int> truth_of_;
  LinkOptions options_;
};

TEST_F(LinkerTest, FirstLinkBuildsPersons) {
  auto s = Link(feed1_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->trained);
  EXPECT_EQ(s->records_in, feed1_.size());
  EXPECT_EQ(s->new_records, feed1_.size());
  EXPECT_EQ(s->records_total, feed1_.size());
  EXPECT_EQ(s->stored_records_fetched, 0u);
  EXPECT_GT(s->candidate_pairs, 0u);
  EXPECT_GT(s->links, 150u);
  EXPECT_EQ(PersonOfRecord().size(), feed1_.size());
  ExpectPersonsMatchTruth(0.9);
  EXPECT_TRUE(LoadModel(*store_).ok());
  testing::CheckMembership(store_.get());
}

TEST_F(LinkerTest, RelinkingSameRecordsChangesNothing) {
  ASSERT_TRUE(Link(feed1_).ok());
  auto before = PersonOfRecord();
  auto s = Link(feed1_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->unchanged_records, feed1_.size());
  EXPECT_EQ(s->new_records, 0u);
  EXPECT_EQ(s->updated_records, 0u);
  EXPECT_EQ(s->persons_new, 0u);
  EXPECT_FALSE(s->trained);
  EXPECT_EQ(PersonOfRecord(), before);
}

TEST_F(LinkerTest, SecondFeedJoinsExistingPersons) {
  ASSERT_TRUE(Link(feed1_).ok());
  auto before = PersonOfRecord();
  std::string model_before = *store_->GetModel().value();
  // Copies of every third person from a new contributor, plus new persons.
  std::vector<Record> feed2;
  for (int p = 0; p < 300; p += 3) {
    Record c = CleanCopy(gen_, truth_[p], "RYG", p);
    truth_of_[c.Key()] = p;
    feed2.push_back(c);
  }
  for (int p = 300; p < 330; ++p) {
    Record t = gen_.Person();
    t.source = "RYG";
    t.record_id = "NEW" + std::to_string(p);
    t.nhs_number = gen_.NhsNumber();
    truth_.push_back(t);
    truth_of_[t.Key()] = p;
    feed2.push_back(t);
  }
  auto s = Link(feed2);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->new_records, feed2.size());
  EXPECT_GT(s->stored_records_fetched, 0u);
  EXPECT_FALSE(s->trained);
  EXPECT_EQ(*store_->GetModel().value(), model_before);
  EXPECT_EQ(s->records_total, feed1_.size() + feed2.size());
  auto after = PersonOfRecord();
  // Stored records keep their persons.
  for (const auto& [key, pid] : before) EXPECT_EQ(after[key], pid);
  // Copies join the person of the original record.
  int joined = 0;
  for (int p = 0; p < 300; p += 3) {
    joined += after[Record{"RYG", "C" + std::to_string(p)}.Key()] == after[truth_[p].Key()];
  }
  EXPECT_GE(joined, 90);
  // New persons get new ids.
  for (int p = 300; p < 330; ++p) {
    uint64_t pid = after[truth_[p].Key()];
    for (const auto& [key, old] : before) ASSERT_NE(old, pid);
  }
  ExpectPersonsMatchTruth(0.9);
  testing::CheckMembership(store_.get());
}

TEST_F(LinkerTest, ChangedRecordIsRelinkedAndObjectionFollowsIt) {
  ASSERT_TRUE(Link(feed1_).ok());
  auto before = PersonOfRecord();
  // Person of K1 objects.
  const std::string k1 = truth_[1].Key();
  uint64_t objecting = before[k1];
  {
    index::ChangeSet cs = store_->NewChangeSet();
    index::PersonValue v = store_->GetPerson(objecting).value().value_or(index::PersonValue{});
    v.objection = true;
    v.objection_method = index::ObjectionMethod::kForm;
    cs.PutPerson(objecting, v);
    ASSERT_TRUE(store_->Commit(&cs, nullptr, true).ok());
  }
  // K1 turns out to be person 2: same key, person 2's details.
  Record changed = truth_[2];
  changed.source = truth_[1].source;
  changed.record_id = truth_[1].record_id;
  truth_of_[k1] = 2;
  uint64_t destination = before[truth_[2].Key()];
  ASSERT_NE(destination, objecting);
  ASSERT_FALSE(store_->GetPerson(destination).value()->objection);

  auto s = Link({changed});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->updated_records, 1u);
  EXPECT_EQ(s->new_records, 0u);
  EXPECT_EQ(s->records_total, feed1_.size());
  auto after = PersonOfRecord();
  EXPECT_EQ(after.size(), before.size());
  EXPECT_EQ(after[k1], destination);
  auto stored = store_->GetRecord(k1);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->record.family_name, truth_[2].family_name);
  // The old person no longer lists the record; the destination objects.
  auto old_members = store_->PersonRecords(objecting).value();
  EXPECT_EQ(std::find(old_members.begin(), old_members.end(), k1), old_members.end());
  auto dest = store_->GetPerson(destination);
  ASSERT_TRUE(dest.ok() && dest->has_value());
  EXPECT_TRUE((*dest)->objection) << "objection lost when its record moved";
  // The old person's objection stands while it still holds records.
  if (!old_members.empty()) EXPECT_TRUE(store_->GetPerson(objecting).value()->objection);
  // Every other record kept its person.
  for (const auto& [key, pid] : before)
    if (key != k1) EXPECT_EQ(after[key], pid) << key;
  ExpectPersonsMatchTruth(0.9);
  testing::CheckMembership(store_.get());
}

}  // namespace
}  // namespace empi
