// Copyright EMPI developers.
#include "engine/linkage/linker.h"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/linkage/prepared_record.h"
#include "engine/linkage/relink.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "index/store_check.h"
#include "tests/engine/linkage/linkage_test_util.h"
#include "tests/index/store_invariants.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using empi::testing::TempDir;
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
  // Marks the stored model as one a later link keeps (as an imported model
  // is kept), for tests about something else than a model estimated again
  // on the first feed's few hundred pairs.
  void KeepStoredModel() {
    auto model = LoadModel(*store_);
    ASSERT_TRUE(model.ok()) << model.status();
    model->provenance.origin = "imported";
    index::ChangeSet cs = store_->NewChangeSet();
    cs.PutModel(model->ToJson().dump());
    ASSERT_TRUE(store_->Commit(&cs, nullptr, true).ok());
  }
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
    EXPECT_TRUE(store_
                    ->ForEachRecord([&](const index::StoredRecord& r) {
                      out[r.record.Key()] = r.person_id;
                      return true;
                    })
                    .ok());
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
  // The first feed's model came from a few hundred candidate pairs: too
  // little evidence to keep, so the second feed estimates it again.
  EXPECT_FALSE(s->model_untrusted_reason.empty());
  EXPECT_TRUE(s->trained);
  EXPECT_NE(*store_->GetModel().value(), model_before);
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
  if (!old_members.empty()) {
    EXPECT_TRUE(store_->GetPerson(objecting).value()->objection);
  }
  // Every other record kept its person.
  for (const auto& [key, pid] : before)
    if (key != k1) {
      EXPECT_EQ(after[key], pid) << key;
    }
  ExpectPersonsMatchTruth(0.9);
  testing::CheckMembership(store_.get());
}

Record Hand(const std::string& source, const std::string& id, const std::string& nhs, const std::string& family,
            const std::string& given, const std::string& dob, const std::string& postcode, const std::string& address) {
  Record r;
  r.source = source;
  r.record_id = id;
  r.nhs_number = nhs;
  r.family_name = family;
  r.given_names = given;
  r.date_of_birth = dob;
  r.sex = "F";
  r.postcode = postcode;
  r.address = address;
  return r;
}

// A later feed whose mapping turns NHS validation off (FEBRL) is compared
// with stored records prepared as the database prepares them: a stored NHS
// number that failed validation at the first load is not used for blocking
// or comparison, even though this feed's records keep theirs.
TEST_F(LinkerTest, StoredNeighboursArePreparedWithTheDatabasesConventions) {
  // 123456789 has no valid check digit, so validation drops this number.
  Record s = Hand("RKB", "S1", "1234567890", "Quennell", "Harriet", "1961-04-17", "CV1 2AB", "4 Mill Lane");
  feed1_.push_back(s);
  ASSERT_TRUE(Link(feed1_).ok());
  ASSERT_EQ(StoredConventions(*store_)->validate_nhs_number, true);

  KeepStoredModel();
  options_.conventions.validate_nhs_number = false;
  Record x = Hand("FEB", "X1", "1234567890", "Quennell", "Bartholomew", "1961-04-17", "B15 2TT", "");
  auto run = Link({x});
  ASSERT_TRUE(run.ok()) << run.status();
  // Found through date of birth and family name, not through an NHS number
  // the database does not hold.
  ASSERT_EQ(run->blocking.rules[0].name, "nhs_number");
  EXPECT_EQ(run->blocking.rules[0].pairs, 0u);
  ASSERT_EQ(run->blocking.rules[1].name, "dob_family_phonetic");
  EXPECT_GE(run->blocking.rules[1].pairs, 1u);
}

// An updated record loses the block keys its old version was stored under,
// although this run's feed formats postcodes differently from the first
// load's.
TEST_F(LinkerTest, UpdatedRecordLosesOldKeysUnderTheDatabasesConventions) {
  Record old = Hand("RKB", "S2", "", "Quennell", "Harriet", "1961-04-17", "CV1 2AB", "4 Mill Lane");
  feed1_.push_back(old);
  ASSERT_TRUE(Link(feed1_).ok());
  const BlockingRules rules = BlockingRules::Default();
  ASSERT_EQ(rules.rules()[2].name, "dob_postcode");
  const uint64_t old_key = ComputeBlockKeys(rules, PrepareRecord(old, FieldConventions{}))[2];
  ASSERT_NE(old_key, 0u);
  auto members = [&] {
    bool truncated = false;
    return store_->BlockMembers(rules.rules()[2].id, BlockKeyBytes(old_key), 100, &truncated).value();
  };
  ASSERT_NE(std::find(members().begin(), members().end(), old.Key()), members().end());

  options_.conventions.postcode_format = PostcodeFormat::kRaw;
  Record updated = old;
  updated.date_of_birth = "1961-07-14";
  auto run = Link({updated});
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->updated_records, 1u);
  auto after = members();
  EXPECT_EQ(std::find(after.begin(), after.end(), old.Key()), after.end()) << "stale block key left behind";
}

// The blocking rules and block size of the first run are stored and used
// by later runs given none; other rules are refused on a database that holds
// records; a new block size is used and stored.
TEST_F(LinkerTest, BlockingSettingsAreStoredAndReused) {
  ASSERT_FALSE(StoredBlocking(*store_)->has_value());
  options_.rules = BlockingRules::FromNames("nhs_number,dob_postcode").value();
  options_.max_block_size = 50;
  ASSERT_TRUE(Link(feed1_).ok());
  auto stored = StoredBlocking(*store_);
  ASSERT_TRUE(stored.ok() && stored->has_value()) << stored.status();
  EXPECT_EQ((*stored)->rules.Names(), "nhs_number,dob_postcode");
  EXPECT_EQ((*stored)->max_block_size, 50u);

  LinkOptions later;  // no blocking given
  std::vector<Record> feed2;
  for (int p = 0; p < 300; p += 5) feed2.push_back(CleanCopy(gen_, truth_[p], "RYG", p));
  auto run = LinkRecords(store_.get(), feed2, later);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->blocking.rules.size(), 2u);
  EXPECT_EQ(run->blocking.rules[0].name, "nhs_number");
  EXPECT_EQ(run->blocking.rules[1].name, "dob_postcode");
  EXPECT_EQ((*StoredBlocking(*store_))->max_block_size, 50u);

  LinkOptions other;
  other.rules = BlockingRules::Default();
  auto refused = LinkRecords(store_.get(), {CleanCopy(gen_, truth_[1], "RYH", 1)}, other);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*StoredBlocking(*store_))->rules.Names(), "nhs_number,dob_postcode");

  LinkOptions bigger;
  bigger.max_block_size = 80;
  ASSERT_TRUE(LinkRecords(store_.get(), {CleanCopy(gen_, truth_[2], "RYH", 2)}, bigger).ok());
  EXPECT_EQ((*StoredBlocking(*store_))->max_block_size, 80u);
  EXPECT_EQ((*StoredBlocking(*store_))->rules.Names(), "nhs_number,dob_postcode");
}

// A steward's never-link mark between an incoming record and any record of
// a stored person keeps the incoming record out of that person, even when
// the two marked records are not a candidate pair themselves (the record
// joins through another of the person's records).
TEST_F(LinkerTest, NeverLinkMarkKeepsRecordOutOfPersonWithoutACandidatePair) {
  const std::string n1 = gen_.NhsNumber(), n2 = gen_.NhsNumber();
  // Per person: K, and C with K's NHS number but the next birth year and
  // postcode sector, so an NHS-less copy X of K shares no block with C.
  Record k1 = Hand("RKB", "NLK1", n1, "Abernethy", "Rosalind", "1955-03-09", "CV2 4AA", "3 Elm Road");
  Record c1 = Hand("RLT", "NLC1", n1, "Abernethy", "Rosalind", "1956-03-09", "B15 2TT", "");
  Record x1 = Hand("RYG", "NLX1", "", "Abernethy", "Rosalind", "1955-03-09", "CV2 4AA", "3 Elm Road");
  Record k2 = Hand("RKB", "NLK2", n2, "Fairweather", "Imogen", "1948-11-23", "CV3 1BB", "9 Park Road");
  Record c2 = Hand("RLT", "NLC2", n2, "Fairweather", "Imogen", "1949-11-23", "B16 8QQ", "");
  Record x2 = Hand("RYG", "NLX2", "", "Fairweather", "Imogen", "1948-11-23", "CV3 1BB", "9 Park Road");
  for (const Record& r : {k1, c1, k2, c2}) feed1_.push_back(r);
  ASSERT_TRUE(Link(feed1_).ok());
  auto before = PersonOfRecord();
  ASSERT_EQ(before[k1.Key()], before[c1.Key()]);
  ASSERT_EQ(before[k2.Key()], before[c2.Key()]);
  {
    index::ChangeSet cs = store_->NewChangeSet();
    cs.PutNeverLink(x1.Key(), c1.Key());
    ASSERT_TRUE(store_->Commit(&cs, nullptr, true).ok());
  }
  KeepStoredModel();
  auto run = Link({x1, x2});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(run->trained);
  auto after = PersonOfRecord();
  EXPECT_EQ(after[x2.Key()], before[k2.Key()]) << "the unmarked copy should join its person";
  EXPECT_NE(after[x1.Key()], before[k1.Key()]) << "never-link mark ignored";
  EXPECT_EQ(after[c1.Key()], before[c1.Key()]);
}

// A mother's NHS number on her daughter's social-care record, beside two
// records of the mother's carrying it (a parent's number on a child's
// record). The number is the mother's: it neither keeps the record from the
// daughter's own records (at the address she has since moved from) nor puts
// it in review beside the mother. In one link, and when the social-care
// record comes in a feed of its own after the rest.
class RelativesNumberTest : public LinkerTest {
 protected:
  void SetUp() override {
    LinkerTest::SetUp();
    const std::string mother = gen_.NhsNumber(), own = gen_.NhsNumber();
    family_ = {Hand("RKB", "PM1", mother, "Pryce", "Bronwen", "1961-05-17", "CV8 1HE", "4 Castle Road"),
               Hand("RLT", "PM2", mother, "Pryce", "Bronwen", "1961-05-17", "CV8 1HE", "4 Castle Road"),
               Hand("RKB", "PD1", own, "Pryce", "Carys", "1992-08-03", "CV8 1HE", "4 Castle Road"),
               Hand("RLT", "PD2", own, "Pryce", "Carys", "1992-08-03", "CV8 1HE", "4 Castle Road")};
    care_ = Hand("CWC-SC", "PD3", mother, "Pryce", "Carys", "1992-08-03", "CV8 2LH", "22 Abbey Fields");
  }

  void ExpectTheRecordWithTheDaughter() {
    auto person = PersonOfRecord();
    EXPECT_EQ(person[care_.Key()], person[family_[2].Key()]);
    EXPECT_EQ(person[family_[2].Key()], person[family_[3].Key()]);
    EXPECT_EQ(person[family_[0].Key()], person[family_[1].Key()]);
    EXPECT_NE(person[family_[0].Key()], person[care_.Key()]);
    std::set<std::string> keys;
    for (const Record& r : family_) keys.insert(r.Key());
    keys.insert(care_.Key());
    ASSERT_TRUE(store_
                    ->ForEachReview([&](std::string_view a, std::string_view b, const index::ReviewValue& v) {
                      EXPECT_FALSE(keys.contains(std::string(a)) && keys.contains(std::string(b))) << v.reason;
                      return true;
                    })
                    .ok());
    testing::CheckMembership(store_.get());
  }

  std::vector<Record> family_;
  Record care_;
};

TEST_F(RelativesNumberTest, AParentsNumberOnAChildsRecordIsComparedAsMissingInOneLink) {
  std::vector<Record> all = feed1_;
  all.insert(all.end(), family_.begin(), family_.end());
  all.push_back(care_);
  ASSERT_TRUE(Link(all).ok());
  ExpectTheRecordWithTheDaughter();
}

TEST_F(RelativesNumberTest, AParentsNumberOnAChildsRecordIsComparedAsMissingInALaterFeed) {
  std::vector<Record> first = feed1_;
  first.insert(first.end(), family_.begin(), family_.end());
  ASSERT_TRUE(Link(first).ok());
  KeepStoredModel();
  auto later = Link({care_});
  ASSERT_TRUE(later.ok()) << later.status();
  ExpectTheRecordWithTheDaughter();
}

// The records that hold the mother's number as a relative's, by the NHS
// index's marks (number_marks.h); the store's NHS history agrees.
std::set<std::string> MarkedRelatives(const index::Store& store, const std::string& nhs_number) {
  auto held = store.NhsHoldersNow(std::stoull(nhs_number));
  EXPECT_TRUE(held.ok()) << held.status();
  auto report = index::CheckStore(store, {});
  EXPECT_TRUE(report.ok() && report->violations_total == 0) << (report.ok() ? report->violations[0] : "");
  return held.ok() ? std::set<std::string>(held->relatives.begin(), held->relatives.end()) : std::set<std::string>{};
}

TEST_F(RelativesNumberTest, TheNhsIndexMarksTheCareRecordWhicheverFeedComesFirst) {
  const std::string mother = family_[0].nhs_number;
  std::vector<Record> first = feed1_;
  first.insert(first.end(), {family_[2], family_[3], care_});
  ASSERT_TRUE(Link(first).ok());
  KeepStoredModel();
  EXPECT_TRUE(MarkedRelatives(*store_, mother).empty());  // its only holder
  ASSERT_TRUE(Link({family_[0], family_[1]}).ok());
  EXPECT_EQ(MarkedRelatives(*store_, mother), std::set<std::string>{care_.Key()});
  // The mother's number corrected on one of her records: two holders
  // left, too few to tell whose it is.
  Record corrected = family_[1];
  corrected.nhs_number = gen_.NhsNumber();
  ASSERT_TRUE(Link({corrected}).ok());
  EXPECT_TRUE(MarkedRelatives(*store_, mother).empty());
}

// A relink judges every number again: a mark lost (as in a store from
// before format version 10) is written back, and reported.
TEST_F(RelativesNumberTest, ARelinkWritesBackAMarkTheStoreLacks) {
  std::vector<Record> all = feed1_;
  all.insert(all.end(), family_.begin(), family_.end());
  all.push_back(care_);
  ASSERT_TRUE(Link(all).ok());
  KeepStoredModel();  // a relink scores with a trusted model only
  const std::string mother = family_[0].nhs_number;
  ASSERT_EQ(MarkedRelatives(*store_, mother), std::set<std::string>{care_.Key()});
  index::ChangeSet cs = store_->NewChangeSet();
  cs.PutNhs(std::stoull(mother), care_.Key(), /*relatives=*/false);
  cs.PutMeta(index::kMetaNhsMarksPending, "");  // as the upgrade from format 9 leaves it
  ASSERT_TRUE(store_->Commit(&cs, nullptr, true).ok());
  ASSERT_TRUE(MarkedRelatives(*store_, mother).empty());
  auto relinked = RelinkStore(store_.get(), RelinkOptions{}, nullptr, nullptr);
  ASSERT_TRUE(relinked.ok()) << relinked.status();
  EXPECT_EQ(relinked->nhs_marks_changed, 1u);
  EXPECT_TRUE(relinked->moves.empty());
  EXPECT_EQ(MarkedRelatives(*store_, mother), std::set<std::string>{care_.Key()});
  EXPECT_FALSE(store_->GetMeta(index::kMetaNhsMarksPending)->has_value());
  auto again = RelinkStore(store_.get(), RelinkOptions{}, nullptr, nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->nhs_marks_changed, 0u);
}

// Stored blocking settings that do not decode stop a link before it writes
// anything, instead of blocking with defaults the database was not built with.
TEST_F(LinkerTest, UnreadableStoredBlockingIsDataLoss) {
  for (const char* bad : {"{not json", R"({"blocking_rules":[{"id":0,"name":"shoe_size"}],"max_block_size":300})",
                          R"({"blocking_rules":[{"id":0,"name":"nhs_number"}],"max_block_size":0})"}) {
    index::ChangeSet cs = store_->NewChangeSet();
    cs.PutMeta("blocking", bad);
    ASSERT_TRUE(store_->Commit(&cs, nullptr, false).ok());
    EXPECT_EQ(StoredBlocking(*store_).status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_EQ(Link(feed1_).status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_TRUE(PersonOfRecord().empty());
  }
}

}  // namespace
}  // namespace empi
