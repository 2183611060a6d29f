// Copyright EMPI developers.
//
// The real-time commands as a user runs them: the real `empi` binary on a
// store in a temp directory, one command after another, each reading what
// the last one wrote.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/engine/cli/cli_test_util.h"

namespace empi {
namespace {

using ::testing::HasSubstr;
using empi::testing::CliTest;
using empi::testing::Lines;
using empi::testing::RunResult;

class RealtimeCommandsTest : public CliTest {
 protected:
  // `empi ARGS --db DB --today ...` that must succeed; its stdout as JSON
  // (one document, or one per line when `lines`).
  nlohmann::json Json(const std::string& args, bool lines = false) {
    RunResult r = Run(args + " --db '" + db_ + "' --today 2026-12-02 --requester dr-a --organisation RYA");
    EXPECT_EQ(r.code, 0) << args << ": " << r.err;
    if (!lines) return nlohmann::json::parse(r.out, nullptr, false);
    nlohmann::json all = nlohmann::json::array();
    for (const std::string& line : Lines(r.out)) all.push_back(nlohmann::json::parse(line, nullptr, false));
    return all;
  }
  nlohmann::json Resolve(const std::string& source, const std::string& id) {
    return Json("resolve --source " + source + " --record-id " + id);
  }

  static constexpr const char* kFeed =
      "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address\n"
      "M84001,G1,9434765919,Okafor,Adaeze,1971-03-02,F,CV1 2AB,1 High Street\n"
      "RYA,H1,9434765919,Okafor,Adaeze,1971-03-02,F,CV1 2AB,1 High Street\n"
      "RYA,H2,,Bennett,Thomas,1950-07-12,M,B15 2TT,9 Mill Lane\n";
};

TEST_F(RealtimeCommandsTest, IngestResolveObjectStewardAndAudit) {
  // Ingest: the GP record starts a person, the hospital's links to it.
  nlohmann::json ingested = Json("ingest '" + Write("feed.csv", kFeed) + "'", /*lines=*/true);
  ASSERT_EQ(ingested.size(), 3u);
  EXPECT_EQ(ingested[0]["outcome"], "new person");
  EXPECT_EQ(ingested[1]["outcome"], "linked");
  EXPECT_EQ(ingested[2]["outcome"], "new person");
  const uint64_t p = ingested[0]["person_id"];
  EXPECT_EQ(ingested[1]["person_id"], p);
  EXPECT_NE(ingested[2]["person_id"], p);
  // The same feed again changes nothing, and says so on stderr.
  const std::string again = Run("ingest --db '" + db_ + "' '" + dir_.path() + "/feed.csv'").err;
  EXPECT_THAT(again, HasSubstr("ingested 3 records in"));
  EXPECT_THAT(again, HasSubstr("linked 0, new person 0, review 0, unchanged 3"));

  nlohmann::json r = Resolve("RYA", "H1");
  EXPECT_EQ(r["person_id"], p);
  EXPECT_EQ(r["records"].size(), 2u);
  EXPECT_EQ(r["objection"], false);
  EXPECT_EQ(r["in_scope"], true) << r.dump();  // 55, registered with M84001 (Coventry)
  EXPECT_EQ(Resolve("RYA", "H2")["in_scope"], false);  // no GP practice of the region

  nlohmann::json found = Json("search --family-name Okafor --given-names Adaeze --date-of-birth 1971-03-02"
                              " --postcode 'CV1 2AB'");
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0]["person_id"], p);
  EXPECT_EQ(found[0]["match_grade"], "certain");
  EXPECT_FALSE(found[0]["comparisons"].empty());

  // An objection by NHS number covers both records, and survives a split
  // (both parts hold the objecting patient's records) and the merge back.
  EXPECT_EQ(Json("object --nhs-number 9434765919")["outcome"], "applied");
  EXPECT_EQ(Resolve("M84001", "G1")["objection"], true);
  const uint64_t q = Json("split --person " + std::to_string(p) + " RYA:H1 --reason 'wrong patient?'")["new_person_id"];
  EXPECT_EQ(Resolve("RYA", "H1")["person_id"], q);
  EXPECT_EQ(Resolve("RYA", "H1")["objection"], true);
  EXPECT_EQ(Resolve("M84001", "G1")["objection"], true);
  Json("merge " + std::to_string(p) + " " + std::to_string(q) + " --reason 'same patient after all'");
  EXPECT_EQ(Resolve("RYA", "H1")["person_id"], p);
  EXPECT_EQ(Resolve("RYA", "H1")["objection"], true);
  EXPECT_EQ(Json("never-link RYA:H1 RYA:H2")["outcome"], "ok");

  std::string events;
  for (const auto& h : Json("history --person " + std::to_string(p), /*lines=*/true)) {
    events += h.value("event", "") + " ";
  }
  EXPECT_THAT(events, HasSubstr("split"));
  EXPECT_THAT(events, HasSubstr("merge"));

  // Who looked at the person: the resolves above, by dr-a.
  nlohmann::json looks = Json("audit person " + std::to_string(p), /*lines=*/true);
  int resolves = 0;
  for (const auto& e : looks) {
    if (e["action"] == "resolve") {
      ++resolves;
      EXPECT_EQ(e["requester"], "dr-a");
      EXPECT_EQ(e["organisation"], "RYA");
    }
  }
  EXPECT_GE(resolves, 5);
  RunResult verify = Run("audit verify --db '" + db_ + "'");
  EXPECT_EQ(verify.code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("audit chain verified"));
}

TEST_F(RealtimeCommandsTest, IngestFromStdinWithAWarmCache) {
  Json("ingest '" + Write("feed.csv", kFeed) + "'", /*lines=*/true);
  const std::string more = Write("more.csv",
                                 "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,"
                                 "address\nRKB,K1,9434765919,Okafor,Adaeze,1971-03-02,F,CV1 2AB,1 High Street\n");
  RunResult r = Run("ingest --db '" + db_ + "' --warm-cache - < '" + more + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("block cache warmed"));
  EXPECT_THAT(r.out, HasSubstr("\"outcome\":\"linked\""));
  EXPECT_EQ(Resolve("RKB", "K1")["records"].size(), 3u);
}

TEST_F(RealtimeCommandsTest, BadArgumentsAreClearErrorsNotCrashes) {
  Json("ingest '" + Write("feed.csv", kFeed) + "'", /*lines=*/true);
  for (const std::string args : {"audit person abc", "merge 1 x2", "unmerge --person 1 -5"}) {
    RunResult r = Run(args + " --db '" + db_ + "'");
    EXPECT_EQ(r.code, 65) << args << ": " << r.err;  // EX_DATAERR
    EXPECT_THAT(r.err, HasSubstr("is not a")) << args;
  }
  RunResult r = Run("resolve --db '" + db_ + "' --source RYA --record-id NOPE");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.code, -1);
}

}  // namespace
}  // namespace empi
