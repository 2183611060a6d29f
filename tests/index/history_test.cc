// Copyright EMPI developers.
//
// The view, record and NHS number histories (view_history, record_history,
// nhs_history): what a person's view, a record's person and the holders of
// an NHS number were once a given change was committed, through commits, a
// bulk load and upgrades from format versions 6 and 8; and `empi check`
// naming a history that disagrees with the present.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "index/store_check.h"
#include "tests/index/fault_injection_fs.h"
#include "tests/temp_dir.h"

namespace empi::index {
namespace {

using empi::testing::TempDir;

const PersonValue kPlain{};

std::unique_ptr<Store> OpenOrDie(const std::string& path, StoreOptions options = {}) {
  auto store = Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

StoredRecord Rec(const std::string& id, uint64_t person, const std::string& dob = "1970-01-01") {
  StoredRecord r;
  r.record.source = "RKB";
  r.record.record_id = id;
  r.record.date_of_birth = dob;
  r.person_id = person;
  return r;
}

// Stores `r` under its person (a new person when `value` is given), with a
// change for the feed.
void Put(Store* store, const StoredRecord& r, const PersonValue* value = nullptr) {
  ChangeSet cs = store->NewChangeSet();
  if (value != nullptr) cs.PutPerson(r.person_id, *value);
  cs.PutRecord(r);
  cs.AddMembership(r.person_id, r.record.Key());
  cs.AddChange(Change{0, value != nullptr ? "new-person" : "record-linked", {r.person_id}, {r.record.Key()}});
  ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
}

// Moves record `id` from person `from` to `to`.
void Move(Store* store, const std::string& id, uint64_t from, uint64_t to) {
  ChangeSet cs = store->NewChangeSet();
  StoredRecord r = Rec(id, to);
  cs.RemoveMembership(from, r.record.Key());
  cs.PutRecord(r);
  cs.AddMembership(to, r.record.Key());
  cs.AddChange(Change{0, "record-moved", {from, to}, {r.record.Key()}});
  ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
}

std::vector<std::string> MembersAt(const Store& store, uint64_t person, uint64_t change) {
  auto view = store.PersonViewAt(person, change);
  EXPECT_TRUE(view.ok()) << view.status();
  std::vector<std::string> out;
  if (!view.ok() || !view->has_value()) return out;
  for (const PersonViewMember& m : (*view)->members) out.push_back(m.record_key.substr(4));  // after "RKB\0"
  return out;
}

uint64_t PersonAt(const Store& store, const std::string& id, uint64_t change) {
  auto p = store.RecordPersonAt(Rec(id, 0).record.Key(), change);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : 99999;
}

StoreOptions ReadOnly() {
  StoreOptions o;
  o.read_only = true;
  return o;
}

// A store of an older format: a read-only open is refused until a writer
// upgrades it.
void ExpectRefusedReadOnly(const std::string& path) {
  auto refused = Store::Open(path, ReadOnly());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("open it once for writing"), std::string::npos) << refused.status();
}

void ExpectChecksClean(const Store& store) {
  auto report = CheckStore(store, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << report->violations[0];
}

TEST(History, CommitsAnswerAsOfEachChange) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  PersonValue objecting;
  objecting.objection = true;
  Put(store.get(), Rec("A", 1), &objecting);  // change 1
  Put(store.get(), Rec("B", 1));              // 2
  Put(store.get(), Rec("C", 2), &objecting);  // 3
  Move(store.get(), "B", 1, 2);               // 4
  {
    ChangeSet cs = store->NewChangeSet();  // 5: person 1 dissolved
    cs.RemoveMembership(1, Rec("A", 1).record.Key());
    cs.DeleteRecord(Rec("A", 1).record.Key());
    cs.DeletePerson(1);
    cs.AddChange(Change{0, "merge", {1}, {}});
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  }
  ASSERT_EQ(store->last_change(), 5u);
  EXPECT_EQ(MembersAt(*store, 1, 0), std::vector<std::string>{});
  EXPECT_EQ(MembersAt(*store, 1, 1), std::vector<std::string>{"A"});
  EXPECT_EQ(MembersAt(*store, 1, 3), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(MembersAt(*store, 1, 4), std::vector<std::string>{"A"});
  EXPECT_FALSE(store->PersonViewAt(1, 5)->has_value());
  EXPECT_EQ(MembersAt(*store, 2, 3), std::vector<std::string>{"C"});
  EXPECT_EQ(MembersAt(*store, 2, 5), (std::vector<std::string>{"B", "C"}));
  EXPECT_TRUE((*store->PersonViewAt(2, 5))->person->objection);
  EXPECT_EQ(PersonAt(*store, "B", 1), 0u);
  EXPECT_EQ(PersonAt(*store, "B", 2), 1u);
  EXPECT_EQ(PersonAt(*store, "B", 3), 1u);
  EXPECT_EQ(PersonAt(*store, "B", 4), 2u);
  EXPECT_EQ(PersonAt(*store, "A", 4), 1u);
  EXPECT_EQ(PersonAt(*store, "A", 5), 0u);
  EXPECT_EQ(PersonAt(*store, "ZZ", 5), 0u);
  ExpectChecksClean(*store);
}

TEST(History, BulkLoadWritesItsHistoryWithItsChanges) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  Put(store.get(), Rec("A", 1), &kPlain);  // change 1
  auto load = store->StartBulkLoad();
  ASSERT_TRUE(load.ok());
  std::vector<ChangeSet> round(2);
  for (ChangeSet& cs : round) cs = store->NewChangeSet();
  StoredRecord b = Rec("B", 1), c = Rec("C", 2);
  round[0].PutRecord(b);
  round[0].AddMembership(1, b.record.Key());
  round[0].AddChange(Change{0, "record-linked", {1}, {b.record.Key()}});  // 2
  round[1].PutPerson(2, {});
  round[1].PutRecord(c);
  round[1].AddMembership(2, c.record.Key());
  round[1].AddChange(Change{0, "new-person", {2}, {c.record.Key()}});  // 3
  ASSERT_TRUE((*load)->AddRound(round).ok());
  ASSERT_TRUE((*load)->Finish().ok());
  EXPECT_EQ(store->last_change(), 3u);
  EXPECT_EQ(MembersAt(*store, 1, 1), std::vector<std::string>{"A"});
  EXPECT_EQ(MembersAt(*store, 1, 2), (std::vector<std::string>{"A", "B"}));
  EXPECT_FALSE(store->PersonViewAt(2, 2)->has_value());
  EXPECT_EQ(MembersAt(*store, 2, 3), std::vector<std::string>{"C"});
  EXPECT_EQ(PersonAt(*store, "C", 2), 0u);
  EXPECT_EQ(PersonAt(*store, "C", 3), 2u);
  ExpectChecksClean(*store);
}

// A store written before the histories (format version 6): refused
// read-only, upgraded by a read-write open, with history from its last
// change on.
TEST(History, UpgradeFromVersion6StartsTheHistoriesAtTheLastChange) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    Put(store.get(), Rec("A", 1), &kPlain);
    Put(store.get(), Rec("B", 1));
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kViewHistory)).ok());
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kRecordHistory)).ok());
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kNhsHistory)).ok());
    ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), "format_version", "6").ok());
  }
  ExpectRefusedReadOnly(dir.path());
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(**store->GetMeta(kMetaFormatVersion), std::to_string(kFormatVersion));
    EXPECT_EQ(store->history_from(), 2u);
    EXPECT_EQ(MembersAt(*store, 1, 2), (std::vector<std::string>{"A", "B"}));
    EXPECT_EQ(PersonAt(*store, "B", 2), 1u);
    ExpectChecksClean(*store);
    Put(store.get(), Rec("C", 3), &kPlain);  // change 3
    Move(store.get(), "B", 1, 3);            // 4
    EXPECT_EQ(MembersAt(*store, 1, 3), (std::vector<std::string>{"A", "B"}));
    EXPECT_EQ(MembersAt(*store, 1, 4), std::vector<std::string>{"A"});
    EXPECT_EQ(PersonAt(*store, "B", 3), 1u);
    EXPECT_EQ(PersonAt(*store, "B", 4), 3u);
  }
  auto store = OpenOrDie(dir.path(), ReadOnly());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->history_from(), 2u);
  ExpectChecksClean(*store);
}

// The upgrade to format 7 writes the histories of a large store in batches
// of 10,000 and the format version last. A disk that fails part way leaves
// format 6 with part of the histories written; the next open upgrades again
// from the start, and the store is as if the first had not failed.
class UpgradeFaultTest : public ::testing::TestWithParam<empi::testing::FaultCase> {};

TEST_P(UpgradeFaultTest, AFailedUpgradeIsDoneAgainByTheNextOpen) {
  using empi::testing::FaultInjectionFs;
  const auto [op, error, nth] = GetParam();
  TempDir dir;
  constexpr int kPersons = 12000;  // 24,000 history entries: three batches
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    ChangeSet cs = store->NewChangeSet();
    for (int p = 1; p <= kPersons; ++p) {
      const StoredRecord r = Rec("R" + std::to_string(p), p);
      cs.PutPerson(p, kPlain);
      cs.PutRecord(r);
      cs.AddMembership(p, r.record.Key());
      cs.AddChange(Change{0, "new-person", {static_cast<uint64_t>(p)}, {r.record.Key()}});
    }
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kViewHistory)).ok());
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kRecordHistory)).ok());
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kNhsHistory)).ok());
    ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), "format_version", "6").ok());
  }
  FaultInjectionFs fs;
  const std::unique_ptr<rocksdb::Env> env = fs.NewEnv();
  StoreOptions options;
  options.env = env.get();
  fs.Arm(op, error, static_cast<uint64_t>(nth));
  {
    auto failed = Store::Open(dir.path(), options);
    if (!failed.ok()) {
      EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
    }
    ::testing::Test::RecordProperty("open_failed", failed.ok() ? 0 : 1);
  }
  fs.Disarm();
  auto store = OpenOrDie(dir.path(), options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(**store->GetMeta(kMetaFormatVersion), std::to_string(kFormatVersion));
  EXPECT_EQ(store->history_from(), static_cast<uint64_t>(kPersons));
  EXPECT_EQ(MembersAt(*store, kPersons, kPersons), std::vector<std::string>{"R" + std::to_string(kPersons)});
  EXPECT_EQ(PersonAt(*store, "R1", kPersons), 1u);
  ExpectChecksClean(*store);
}

INSTANTIATE_TEST_SUITE_P(EveryOp, UpgradeFaultTest, empi::testing::EveryFault(1, 3, 8, 20),
                         empi::testing::FaultCaseName);

constexpr uint64_t kNhs = 9434765919, kOtherNhs = 4010232137;

// Files record `id` under `nhs` in nhs_index (and out of `from`, if not 0),
// with a change.
void FileNhs(Store* store, const std::string& id, uint64_t nhs, uint64_t from = 0, bool relatives = false) {
  ChangeSet cs = store->NewChangeSet();
  const std::string key = Rec(id, 0).record.Key();
  if (from != 0) cs.DeleteNhs(from, key);
  if (nhs != 0) cs.PutNhs(nhs, key, relatives);
  cs.AddChange(Change{0, "record-updated", {}, {key}});
  ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
}

// The holders as "A B(r) " (r: as a relative's number), then "-> " and the
// number that superseded it, if any.
std::string Holders(const absl::StatusOr<Store::NhsHolders>& held) {
  EXPECT_TRUE(held.ok()) << held.status();
  if (!held.ok()) return "error";
  std::string out;
  for (const std::string& key : held->records) {
    const bool relatives = std::binary_search(held->relatives.begin(), held->relatives.end(), key);
    absl::StrAppend(&out, key.substr(4), relatives ? "(r) " : " ");  // after "RKB\0"
  }
  if (held->superseded_by != 0) absl::StrAppend(&out, "-> ", held->superseded_by);
  return out;
}
std::string HoldersAt(const Store& store, uint64_t nhs, uint64_t change) {
  return Holders(store.NhsHoldersAt(nhs, change));
}
std::string HoldersNow(const Store& store, uint64_t nhs) { return Holders(store.NhsHoldersNow(nhs)); }

// A number held as a relative's (format version 10) is told apart from
// one held as the record's own, now and as of each change, and the mark
// can change while the record keeps the number.
TEST(History, ARelativesNumberIsMarkedNowAndAsOfEachChange) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  FileNhs(store.get(), "A", kNhs);                          // change 1
  FileNhs(store.get(), "B", kNhs, 0, /*relatives=*/true);   // 2
  FileNhs(store.get(), "B", kNhs, 0, /*relatives=*/false);  // 3: judged again
  FileNhs(store.get(), "C", kNhs, 0, /*relatives=*/true);   // 4
  FileNhs(store.get(), "C", 0, kNhs);                       // 5: C lets it go
  EXPECT_EQ(HoldersAt(*store, kNhs, 1), "A ");
  EXPECT_EQ(HoldersAt(*store, kNhs, 2), "A B(r) ");
  EXPECT_EQ(HoldersAt(*store, kNhs, 3), "A B ");
  EXPECT_EQ(HoldersAt(*store, kNhs, 4), "A B C(r) ");
  EXPECT_EQ(HoldersAt(*store, kNhs, 5), "A B ");
  FileNhs(store.get(), "A", kNhs, 0, /*relatives=*/true);  // 6
  EXPECT_EQ(HoldersNow(*store, kNhs), "A(r) B ");
  EXPECT_EQ(HoldersAt(*store, kNhs, 6), "A(r) B ");
  ExpectChecksClean(*store);
}

TEST(History, StoreCheckNamesAMarkTheHistoryDoesNotGive) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  FileNhs(store.get(), "A", kNhs);
  FileNhs(store.get(), "B", kNhs, 0, /*relatives=*/true);
  ExpectChecksClean(*store);
  // The index says B's number is its own; the history, a relative's.
  ASSERT_TRUE(
      store->db()
          ->Put(rocksdb::WriteOptions(), store->cf(Cf::kNhsIndex), NhsIndexKey(kNhs, Rec("B", 0).record.Key()), "")
          .ok());
  auto report = CheckStore(*store, {});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->violations_total, 1u);
  EXPECT_EQ(report->violations[0], "record RKB/B: nhs_history does not give its nhs_index entry");
  // A mark that is neither.
  ASSERT_TRUE(
      store->db()
          ->Put(rocksdb::WriteOptions(), store->cf(Cf::kNhsIndex), NhsIndexKey(kNhs, Rec("B", 0).record.Key()), "x")
          .ok());
  report = CheckStore(*store, {});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->violations_total, 1u);
  EXPECT_EQ(report->violations[0], "nhs_history or nhs_index: an entry does not decode");
}

// Version 10 only adds the mark: a version-9 store is read as it is once
// a read-write open has written the new version (a read-only open refuses
// it, as a version-9 build refuses a version-10 store).
TEST(History, UpgradeFromVersion9KeepsEveryNumberItsHoldersOwn) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    FileNhs(store.get(), "A", kNhs);  // 1
    FileNhs(store.get(), "B", kNhs);  // 2
    ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), "format_version", "9").ok());
  }
  {
    auto refused = Store::Open(dir.path(), ReadOnly());
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("format version 9"), std::string::npos) << refused.status();
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(**store->GetMeta(kMetaFormatVersion), "10");
  EXPECT_TRUE(store->GetMeta(kMetaNhsMarksPending)->has_value());  // judged by the next relink
  EXPECT_EQ(HoldersNow(*store, kNhs), "A B ");
  EXPECT_EQ(HoldersAt(*store, kNhs, 2), "A B ");
  ExpectChecksClean(*store);
}

TEST(History, NhsHoldersAsOfEachChange) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  FileNhs(store.get(), "A", kNhs);             // change 1
  FileNhs(store.get(), "B", kNhs);             // 2
  FileNhs(store.get(), "A", kOtherNhs, kNhs);  // 3: A's number corrected
  {                                            // 4: kNhs superseded, B moved
    ChangeSet cs = store->NewChangeSet();
    cs.PutSupersession(kNhs, kOtherNhs, 1);
    cs.DeleteNhs(kNhs, Rec("B", 0).record.Key());
    cs.PutNhs(kOtherNhs, Rec("B", 0).record.Key());
    cs.AddChange(Change{0, "nhs-superseded", {}, {}});
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  }
  FileNhs(store.get(), "A", 0, kOtherNhs);  // 5: A's number removed
  EXPECT_EQ(HoldersAt(*store, kNhs, 0), "");
  EXPECT_EQ(HoldersAt(*store, kNhs, 1), "A ");
  EXPECT_EQ(HoldersAt(*store, kNhs, 2), "A B ");
  EXPECT_EQ(HoldersAt(*store, kNhs, 3), "B ");
  EXPECT_EQ(HoldersAt(*store, kOtherNhs, 3), "A ");
  EXPECT_EQ(HoldersAt(*store, kNhs, 4), absl::StrCat("-> ", kOtherNhs));
  EXPECT_EQ(HoldersAt(*store, kOtherNhs, 4), "A B ");
  EXPECT_EQ(HoldersAt(*store, kOtherNhs, 5), "B ");
  EXPECT_EQ(*store->SupersededBy(kNhs, nullptr), kOtherNhs);
  EXPECT_EQ(*store->SupersededBy(kOtherNhs, nullptr), 0u);
  ExpectChecksClean(*store);
}

// A store written before nhs_history (format version 8): refused
// read-only, upgraded by a read-write open, with the NHS numbers' history
// from its last change on.
TEST(History, UpgradeFromVersion8StartsTheNhsHistoryAtTheLastChange) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    FileNhs(store.get(), "A", kNhs);  // 1
    FileNhs(store.get(), "B", kNhs);  // 2
    ChangeSet cs = store->NewChangeSet();
    cs.PutSupersession(kOtherNhs, kNhs, 1);
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kNhsHistory)).ok());
    ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), "format_version", "8").ok());
  }
  ExpectRefusedReadOnly(dir.path());
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(**store->GetMeta(kMetaFormatVersion), std::to_string(kFormatVersion));
    EXPECT_EQ(store->nhs_history_from(), 2u);
    EXPECT_EQ(store->history_from(), 0u);
    EXPECT_EQ(HoldersAt(*store, kNhs, 2), "A B ");
    EXPECT_EQ(HoldersAt(*store, kOtherNhs, 2), absl::StrCat("-> ", kNhs));
    ExpectChecksClean(*store);
    FileNhs(store.get(), "A", 0, kNhs);  // 3
    EXPECT_EQ(HoldersAt(*store, kNhs, 2), "A B ");
    EXPECT_EQ(HoldersAt(*store, kNhs, 3), "B ");
  }
  auto store = OpenOrDie(dir.path(), ReadOnly());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->nhs_history_from(), 2u);
  ExpectChecksClean(*store);
}

TEST(History, StoreCheckNamesAnNhsHistoryThatDisagrees) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  FileNhs(store.get(), "A", kNhs);
  FileNhs(store.get(), "B", kNhs);
  ChangeSet cs = store->NewChangeSet();
  cs.PutSupersession(kOtherNhs, kNhs, 1);
  ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  ExpectChecksClean(*store);
  rocksdb::WriteOptions wo;
  ASSERT_TRUE(
      store->db()->Delete(wo, store->cf(Cf::kNhsHistory), NhsHistoryKey(kNhs, Rec("B", 0).record.Key(), 2)).ok());
  ASSERT_TRUE(store->db()->Delete(wo, store->cf(Cf::kNhsHistory), NhsHistoryKey(kOtherNhs, "", 2)).ok());
  auto report = CheckStore(*store, {});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->violations_total, 2u);
  EXPECT_EQ(report->violations[0], "record RKB/B: nhs_history does not give its nhs_index entry");
  EXPECT_EQ(report->violations[1], "nhs_history: a supersession has no entry");
  for (const std::string& v : report->violations) {
    EXPECT_EQ(v.find(std::to_string(kNhs)), std::string::npos) << v;  // never the number itself
  }
}

TEST(History, StoreCheckNamesAHistoryThatDisagrees) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  Put(store.get(), Rec("A", 1), &kPlain);
  Put(store.get(), Rec("B", 1));
  ExpectChecksClean(*store);
  rocksdb::WriteOptions wo;
  ASSERT_TRUE(store->db()->Delete(wo, store->cf(Cf::kViewHistory), HistoryKey(1, 2)).ok());
  ASSERT_TRUE(
      store->db()->Delete(wo, store->cf(Cf::kRecordHistory), RecordHistoryKey(Rec("B", 1).record.Key(), 2)).ok());
  auto report = CheckStore(*store, {});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->violations_total, 2u);
  EXPECT_EQ(report->violations[0], "person 1: view_history does not give its person_view");
  EXPECT_EQ(report->violations[1], "record RKB/B: record_history gives person 0, records 1");
}

}  // namespace
}  // namespace empi::index
