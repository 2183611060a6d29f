// Copyright EMPI developers.
//
// A link's write is all or nothing: a run ended at any point of its write
// stage (the linker's write_hook fails there, as a crash would) leaves the
// store as it was before the run, or (bulk path, after the ingestion) with
// the whole run; and running the same link again, in a reopened store, gives
// exactly what a clean run gives: same persons and ids, same membership,
// same review queue, and a store CheckStore finds clean.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/linkage/linker.h"
#include "engine/linkage/store_check.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/engine/linkage/linkage_test_util.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using empi::testing::TempDir;
using testing_linkage::RecordGenerator;
using testing_linkage::TwoContributorFeed;

struct State {
  std::map<std::string, uint64_t> person_of;
  std::set<uint64_t> persons;
  std::set<std::pair<std::string, std::string>> review;
  std::set<uint64_t> objecting;
  friend bool operator==(const State&, const State&) = default;
};

State Read(index::Store* store) {
  State s;
  EXPECT_TRUE(store
                  ->ForEachRecord([&](const index::StoredRecord& r) {
                    s.person_of[r.record.Key()] = r.person_id;
                    return true;
                  })
                  .ok());
  EXPECT_TRUE(store
                  ->ForEachPerson([&](uint64_t pid, const index::PersonValue& v) {
                    s.persons.insert(pid);
                    if (v.objection) s.objecting.insert(pid);
                    return true;
                  })
                  .ok());
  EXPECT_TRUE(store
                  ->ForEachReview([&](std::string_view a, std::string_view b, const index::ReviewValue&) {
                    s.review.emplace(a, b);
                    return true;
                  })
                  .ok());
  return s;
}

void ExpectClean(const index::Store& store, const std::string& what) {
  auto r = CheckLinkedStore(store, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->violations_total, 0u) << what << ": " << (r->violations.empty() ? "" : r->violations[0]);
}

class LinkAtomicTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    RecordGenerator gen(99);
    feed1_ = TwoContributorFeed(gen, 200, {.noisy = true});
    // Updates: every fourth record becomes someone else (its person may be
    // emptied), every seventh gets a typo.
    for (size_t i = 0; i < feed1_.size(); ++i) {
      Record r = feed1_[i];
      if (i % 4 == 0) {
        Record other = gen.Person();
        other.source = r.source;
        other.record_id = r.record_id;
        other.nhs_number = gen.NhsNumber();
        feed2_.push_back(other);
      } else if (i % 7 == 0) {
        r.given_names = gen.Typo(r.given_names);
        feed2_.push_back(r);
      }
    }
    options_.bulk_ingest_records = GetParam() ? 1 : 100000;
    options_.bulk_round_records = 60;
  }

  std::unique_ptr<index::Store> Open(const std::string& path) {
    auto s = index::Store::Open(path, {});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Links feed1 (and then feed2 when `update`) into a fresh store at `path`,
  // the last link ending at hook call `fail_at` (-1: never). Returns the
  // number of hook calls of the last link.
  int LinkInto(const std::string& path, bool update, int fail_at) {
    auto store = Open(path);
    if (store == nullptr) return 0;
    if (update) {
      auto s = LinkRecords(store.get(), feed1_, options_);
      EXPECT_TRUE(s.ok()) << s.status();
    }
    int calls = 0;
    LinkOptions o = options_;
    o.write_hook = [&](std::string_view point) {
      return calls++ == fail_at ? absl::AbortedError(absl::StrCat("injected at ", std::string(point)))
                                : absl::OkStatus();
    };
    auto s = LinkRecords(store.get(), update ? feed2_ : feed1_, o);
    EXPECT_EQ(s.ok(), fail_at < 0 || fail_at >= calls) << s.status();
    return calls;
  }

  TempDir dir_;
  std::vector<Record> feed1_, feed2_;
  LinkOptions options_;
};

TEST_P(LinkAtomicTest, AnEndedLinkLeavesAllOrNothingAndARerunGivesTheCleanResult) {
  for (bool update : {false, true}) {
    SCOPED_TRACE(update ? "updating link" : "first link");
    const std::string ref = dir_.path() + (update ? "/ref-update" : "/ref-first");
    const int points = LinkInto(ref, update, -1);
    ASSERT_GT(points, 0);
    if (GetParam()) {
      EXPECT_GT(points, 3) << "the bulk path should write several rounds";
    }
    State clean, before;
    {
      auto store = Open(ref);
      clean = Read(store.get());
      ExpectClean(*store, "clean run");
      if (update) {
        // The updates move records between persons and empty some.
        auto base = Open(dir_.path() + "/base");
        ASSERT_TRUE(LinkRecords(base.get(), feed1_, options_).ok());
        before = Read(base.get());
        EXPECT_NE(before.person_of, clean.person_of);
        EXPECT_FALSE(
            std::includes(clean.persons.begin(), clean.persons.end(), before.persons.begin(), before.persons.end()))
            << "no person was emptied by the updates";
      }
    }
    for (int k = 0; k < points; ++k) {
      SCOPED_TRACE(::testing::Message() << "ended at hook call " << k);
      const std::string path = dir_.path() + "/run-" + std::to_string(update) + "-" + std::to_string(k);
      LinkInto(path, update, k);
      auto store = Open(path);  // reopened: as after a crash
      ASSERT_NE(store, nullptr);
      State after_failure = Read(store.get());
      const bool nothing = after_failure == before, everything = after_failure == clean;
      EXPECT_TRUE(nothing || everything) << "a partial run is visible";
      if (!GetParam()) {
        EXPECT_TRUE(nothing) << "the ordinary path fails before its one commit";
      }
      ExpectClean(*store, "after the ended run");
      auto again = LinkRecords(store.get(), update ? feed2_ : feed1_, options_);
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_TRUE(Read(store.get()) == clean) << "the re-run differs from a clean run";
      ExpectClean(*store, "after the re-run");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, LinkAtomicTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Bulk" : "Ordinary"; });

}  // namespace
}  // namespace empi
