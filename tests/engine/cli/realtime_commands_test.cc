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

using empi::testing::CliTest;
using empi::testing::Lines;
using empi::testing::RunResult;
using ::testing::HasSubstr;

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
  // A store only the real-time path has written has no estimated model, and
  // the ingest says so with the remedy.
  EXPECT_THAT(again, HasSubstr("model NOT TRUSTED: not trained"));
  EXPECT_THAT(again, HasSubstr("`empi relink --db " + db_ + "`"));

  nlohmann::json r = Resolve("RYA", "H1");
  EXPECT_EQ(r["person_id"], p);
  EXPECT_EQ(r["records"].size(), 2u);
  EXPECT_EQ(r["objection"], false);
  EXPECT_EQ(r["in_scope"], true) << r.dump();          // 55, registered with M84001 (Coventry)
  EXPECT_EQ(Resolve("RYA", "H2")["in_scope"], false);  // no GP practice of the region

  nlohmann::json found = Json(
      "search --family-name Okafor --given-names Adaeze --date-of-birth 1971-03-02"
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

// An auditor takes a view event from `empi audit person` and asks again
// with `empi view --as-of-change --as-of-time`: the answer given then,
// though the patient has objected and been split since; `empi resolve
// --as-of-change` gives the records as they were; bad as-of flags and a
// change past the last are refused (65, as the real-time commands refuse
// bad arguments).
TEST_F(RealtimeCommandsTest, AuditorReplaysAViewDecisionAsOfItsChange) {
  nlohmann::json ingested = Json("ingest '" + Write("feed.csv", kFeed) + "'", /*lines=*/true);
  ASSERT_EQ(ingested.size(), 3u);
  const uint64_t p = ingested[0]["person_id"];
  nlohmann::json view = Json("view --source RYA --record-id H1");
  EXPECT_EQ(view["allowed"], true) << view.dump();
  const uint64_t at = view["at_change"];
  EXPECT_GT(at, 0u);
  EXPECT_FALSE(view["model_version"].get<std::string>().empty());
  EXPECT_EQ(Json("object --nhs-number 9434765919")["outcome"], "applied");
  Json("split --person " + std::to_string(p) + " RYA:H1 --reason 'wrong patient?'");
  EXPECT_EQ(Json("view --source RYA --record-id H1")["allowed"], false);

  int64_t time_us = 0;
  uint64_t event_at = 0;
  for (const auto& e : Json("audit person " + std::to_string(p), /*lines=*/true)) {
    if (e["action"] == "view" && e["outcome"] == "allowed") {
      time_us = e["time_us"];
      event_at = e["at_change"];
      EXPECT_EQ(e["as_of"], false);
      EXPECT_EQ(e["model_version"], view["model_version"]);
    }
  }
  ASSERT_EQ(event_at, at);
  const std::string as_of = " --as-of-change " + std::to_string(at) + " --as-of-time " + std::to_string(time_us);
  nlohmann::json replayed = Json("view --person " + std::to_string(p) + as_of);
  EXPECT_EQ(replayed["allowed"], true) << replayed.dump();
  EXPECT_EQ(replayed["at_change"], at);
  nlohmann::json then = Json("resolve --source RYA --record-id H1 --as-of-change " + std::to_string(at));
  EXPECT_EQ(then["person_id"], p);
  EXPECT_EQ(then["records"].size(), 2u);
  EXPECT_EQ(then["objection"], false);
  nlohmann::json by_time = Json("resolve --source RYA --record-id H1 --as-of-time " + std::to_string(time_us));
  EXPECT_EQ(by_time["at_change"], at);
  // The replay is audited as such.
  bool replay_audited = false;
  for (const auto& e : Json("audit person " + std::to_string(p), /*lines=*/true)) {
    replay_audited |= e["action"] == "view" && e.value("as_of", false) && e["at_change"] == at;
  }
  EXPECT_TRUE(replay_audited);

  EXPECT_EQ(Run("view --db '" + db_ + "'").code, 65);
  EXPECT_EQ(Run("view --db '" + db_ + "' --person 1 --source RYA --record-id H1").code, 65);
  EXPECT_EQ(Run("resolve --db '" + db_ + "' --source RYA --record-id H1 --as-of-time yesterday").code, 65);
  // By NHS number: as of the view's change, the person and both records,
  // though the number is now held by two persons.
  nlohmann::json by_nhs = Json("resolve --nhs-number 9434765919 --as-of-change " + std::to_string(at));
  EXPECT_EQ(by_nhs["person_id"], p);
  EXPECT_EQ(by_nhs["records"].size(), 2u);
  EXPECT_EQ(Run("resolve --db '" + db_ + "' --nhs-number 9434765919").code, 65);
  RunResult future = Run("resolve --db '" + db_ + "' --source RYA --record-id H1 --as-of-change 99999");
  EXPECT_EQ(future.code, 65) << future.err;
  EXPECT_THAT(future.err, HasSubstr("after the last change"));
  EXPECT_EQ(Run("check --db '" + db_ + "'").code, 0);
}

// A father's NHS number on his son's social-care record, in the file an
// integration team links: resolving by the number answers with the father
// (it used to be refused as held by two persons), `empi stats` counts the
// record and no refusal, and `empi check` finds the marks in order.
TEST_F(RealtimeCommandsTest, AFathersNumberOnHisSonsCareRecordResolvesToTheFather) {
  const std::string feed =
      Write("family.csv",
            "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address\n"
            "M84001,F1,9434765919,Hale,Trevor,1962-05-09,M,CV7 8PL,3 Birch Close\n"
            "RYA,F2,9434765919,Hale,Trevor John,1962-05-09,M,CV7 8PL,3 Birch Close\n"
            "M84001,S1,4010232137,Hale,Liam,1991-10-22,M,CV7 8PL,3 Birch Close\n"
            "RYA,S2,4010232137,HALE,LIAM,1991-10-22,M,CV78PL,3 Birch Close\n"
            "CWC-SC,S3,9434765919,Hale,Liam,1991-10-22,M,CV7 8PX,7 Birch Close\n");
  ASSERT_EQ(Run("link --db '" + db_ + "' '" + feed + "'").code, 0);
  const nlohmann::json father = Resolve("M84001", "F1"), care = Resolve("CWC-SC", "S3");
  ASSERT_NE(father["person_id"], care["person_id"]);
  nlohmann::json by_nhs = Json("resolve --nhs-number 9434765919");
  EXPECT_EQ(by_nhs["person_id"], father["person_id"]);
  EXPECT_EQ(by_nhs["records"].size(), 2u);
  RunResult stats = Run("stats --db '" + db_ + "'");
  EXPECT_THAT(stats.out, HasSubstr("on records of 2 or more persons 1, of which resolving by the number refuses 0"));
  EXPECT_THAT(stats.out, HasSubstr("records holding a relative's number 1\n"));
  EXPECT_EQ(Run("check --db '" + db_ + "'").code, 0);
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

// Issue 14, item 4, as an integration team runs it: the national
// supersession feed first, then the contributors' feeds, in which a patient
// appears under the retired number in one system and the new one in
// another. One person, where without the feed there are two; a bad row is
// refused on its own, naming file and line (exit 65); the store checks clean.
TEST_F(RealtimeCommandsTest, SupersessionFeedThenLinkJoinsOldAndNewNumbers) {
  const std::string feed =
      Write("feed.csv",
            "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address\n"
            "M84001,G1,9434765919,Okafor,Adaeze,1971-03-02,F,CV1 2AB,1 High Street\n"
            "RKB,K1,9434765927,Okafor,Adaeze,1971-03-02,F,CV1 2AB,1 High Street\n"
            "RKB,K2,9434765935,Pemberton,Leopold,1958-11-23,M,CV3 4CD,9 Low Road\n");
  const std::string sup = Write("sup.csv",
                                "old_nhs_number,new_nhs_number\n"
                                "9434765927,9434765919\n"
                                "9434765927,123\n");
  RunResult r = Run("supersede --db '" + db_ + "' '" + sup + "'");
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_THAT(r.err, HasSubstr("sup.csv:3: row refused: new_nhs_number: not a valid NHS number"));
  std::vector<std::string> out = Lines(r.out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(out[0], HasSubstr("\"outcome\":\"added\""));
  EXPECT_THAT(out[1], HasSubstr("\"outcome\":\"refused\""));

  ASSERT_EQ(Run("link --db '" + db_ + "' '" + feed + "'").code, 0);
  const std::string control = dir_.path() + "/control";
  ASSERT_EQ(Run("link --db '" + control + "' '" + feed + "'").code, 0);
  // The NHS number comparison of the two records: exact with the
  // supersession, "different" (two people) without.
  auto nhs_level = [&](const std::string& db) {
    RunResult c = Run("export pairs --min-probability 1e-12 --db '" + db + "'");
    for (const std::string& line : Lines(c.out)) {
      if (line.find("G1") != std::string::npos && line.find("K1") != std::string::npos) {
        std::vector<std::string> f;
        std::stringstream in(line);
        for (std::string x; std::getline(in, x, ',');) f.push_back(x);
        return f.size() > 6 ? f[6] : std::string("short");
      }
    }
    return std::string("no pair");
  };
  EXPECT_EQ(nhs_level(db_), "1");
  EXPECT_NE(nhs_level(control), "1");
  // Resolution by either number finds the records of both.
  RunResult by_old = Run("resolve --nhs-number 9434765927 --db '" + db_ + "'");
  RunResult by_new = Run("resolve --nhs-number 9434765919 --db '" + db_ + "'");
  EXPECT_EQ(by_old.out, by_new.out);
  EXPECT_EQ(by_old.code, by_new.code);
  EXPECT_EQ(Run("check --db '" + db_ + "'").code, 0);
  EXPECT_EQ(Run("supersede --db '" + db_ + "' '" + dir_.path() + "/missing.csv'").code, 66);
}

}  // namespace
}  // namespace empi
