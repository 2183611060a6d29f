// Copyright EMPI developers.
//
// Issue 16 through the real `empi` binary: a restricted patient is never
// located by any command (no address or postcode in any output, no location
// comparison level, never found by a search that gives a location), files
// with patient data are owner-only, every read of patient data is audited
// with who and why, and odd or wrong input is read or refused row by row.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/engine/cli/cli_test_util.h"
#include "tests/engine/linkage/linkage_test_util.h"

namespace empi {
namespace {

using empi::testing::CliTest;
using empi::testing::Lines;
using empi::testing::ReadText;
using empi::testing::RunResult;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

class PrivacyCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ::unsetenv("EMPI_USER");
    ::umask(022);  // the usual umask: files EMPI writes must not depend on it
  }

  static constexpr const char* kHeader =
      "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address,restricted\n";

  // A population to train on, then the restricted patient: a GP record
  // flagged restricted, a hospital record that is not (the hospital was not
  // told), a third record with a near address, also flagged.
  std::string Population() {
    testing_linkage::RecordGenerator gen(16);
    std::string csv = kHeader;
    for (int p = 0; p < 200; ++p) {
      Record t = gen.Person();
      std::replace(t.address.begin(), t.address.end(), ',', ' ');
      auto row = [&](const std::string& source, const Record& r) {
        csv += source + ",P" + std::to_string(p) + "," + r.nhs_number + "," + r.family_name + "," + r.given_names +
               "," + r.date_of_birth + "," + r.sex + "," + r.postcode + "," + r.address + ",0\n";
      };
      row("RKB", t);
      if (p % 2 == 0) {
        Record c = t;
        c.given_names = gen.Typo(c.given_names);
        row("RYA", c);
      }
    }
    csv += kRestrictedRows;
    return csv;
  }
  static constexpr const char* kRestrictedRows =
      "M84001,RG1,9434765919,Quennell,Marigold,1968-05-17,F,CV8 2QY,17 Larkspur Crescent Kenilworth,1\n"
      "RYA,RH1,9434765919,Quennell,Marigold,1968-05-17,F,CV8 2QY,17 Larkspur Crescent Kenilworth,0\n"
      "RLT,RX1,,Quennell,Marygold,1968-05-17,F,CV8 2QZ,19 Larkspur Crescent,true\n";
  // Bad rows of the restricted patient: each is quarantined.
  static constexpr const char* kBadRestrictedRows =
      "M84001,RG1,9434765919,Quennell,Marigold,1968-05-17,F,CV8 2QY,17 Larkspur Crescent Kenilworth,1\n"  // dup
      "RLT,RX9,,Quennell,Marigold,1968-05-17,F,CV8 2QY,17 Larkspur Crescent\n"                            // short
      "RLT,RX8,,Quennell,Marigold,1968-05-17,F,CV8 2QY,17 Larkspur Crescent,perhaps\n"                    // bad flag
      "RLT,,,Quennell,Marigold,1968-05-17,F,CV8 2QY,17 Larkspur Crescent,yes\n"                           // empty id
      "RLT,RX7,,\"Quennell\"x,Marigold,1968-05-17,F,CV8 2QY,17 Larkspur Crescent,1\n";                    // bad quote

  // The restricted patient's location, as any output might spell it.
  static void ExpectNoLocation(const std::string& what, const std::string& text) {
    const std::string t = Lower(text);
    for (const char* token : {"larkspur", "kenilworth", "cv8 2q", "cv82q", "cv8  2q"}) {
      EXPECT_THAT(t, Not(HasSubstr(token))) << what << " shows the restricted patient's location:\n" << text;
    }
  }

  std::string Db() const { return " --db '" + db_ + "'"; }

  // Events in the audit trail, counted by its verifier.
  int AuditEvents() {
    RunResult r = Run("audit verify" + Db());
    std::smatch m;
    if (r.code != 0 || !std::regex_search(r.out, m, std::regex("verified: (\\d+) events"))) return -1;
    return std::stoi(m[1]);
  }

  // The person holding SOURCE:ID.
  uint64_t PersonOf(const std::string& source, const std::string& id) {
    RunResult r = Run("resolve --source " + source + " --record-id " + id + Db());
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("person_id", uint64_t{0}) : 0;
  }
};

TEST_F(PrivacyCliTest, RestrictedPatientIsNeverLocatedByAnyCommand) {
  const std::string feed = Write("feed.csv", Population() + kBadRestrictedRows);
  std::vector<std::pair<std::string, RunResult>> runs;
  auto run = [&](const std::string& args) {
    RunResult r = Run(args);
    runs.emplace_back(args, r);
    return r;
  };
  const std::string quarantine = db_ + ".quarantine.csv";
  RunResult link = run("link" + Db() + " '" + feed + "'");
  ASSERT_EQ(link.code, 0) << link.err;
  EXPECT_THAT(link.out, HasSubstr("rejected (quarantine) 5"));
  EXPECT_EQ(ModeOf(quarantine), 0600u);
  EXPECT_THAT(ReadText(quarantine), HasSubstr("row text withheld: restricted"));

  const uint64_t p = PersonOf("M84001", "RG1");
  ASSERT_GT(p, 0u);
  const std::string person = std::to_string(p);

  // Exports to files and to stdout.
  std::vector<std::string> files = {quarantine};
  for (const char* what : {"clusters", "pairs", "review"}) {
    const std::string out = dir_.path() + "/export_" + what + ".csv";
    std::string extra = std::string(what) == "pairs" ? " --min-probability 0.000001" : "";
    ASSERT_EQ(run(std::string("export ") + what + Db() + extra + " -o '" + out + "'").code, 0) << what;
    EXPECT_EQ(ModeOf(out), 0600u) << what;
    files.push_back(out);
    ASSERT_EQ(run(std::string("export ") + what + Db() + extra).code, 0) << what;
  }
  // The pairs of the restricted person carry no location level or weight.
  const std::string pairs = ReadText(dir_.path() + "/export_pairs.csv");
  bool restricted_pair = false;
  for (const std::string& line : Lines(pairs)) {
    if (line.find("RG1") == std::string::npos && line.find("RX1") == std::string::npos) continue;
    restricted_pair = true;
    EXPECT_THAT(line, HasSubstr("withheld,withheld")) << line;  // weight and probability
  }
  EXPECT_TRUE(restricted_pair) << pairs;

  RunResult explain = run("explain" + Db() + " M84001:RG1 RLT:RX1");
  ASSERT_EQ(explain.code, 0) << explain.err;
  EXPECT_THAT(explain.out, HasSubstr("postcode         withheld"));
  EXPECT_THAT(explain.out, Not(HasSubstr("same address")));
  EXPECT_THAT(explain.out, Not(HasSubstr("postcode unit")));
  EXPECT_THAT(explain.out, HasSubstr("match_weight withheld"));
  ASSERT_EQ(run("explain" + Db() + " RYA:RH1 M84001:RG1").code, 0);

  // A search giving a location never finds a restricted patient, however
  // well it matches; without one it does, with the location withheld.
  const std::string who = " --family-name Quennell --given-names Marigold --date-of-birth 1968-05-17";
  for (const char* postcode : {"'CV8 2QY'", "'CV8 2QZ'", "'CV8 9ZZ'"}) {
    RunResult located = run(std::string("search") + Db() + who + " --postcode " + postcode);
    ASSERT_EQ(located.code, 0) << located.err;
    nlohmann::json found = nlohmann::json::parse(located.out, nullptr, false);
    ASSERT_TRUE(found.is_array()) << located.out;
    for (const auto& c : found) EXPECT_NE(c["person_id"], p) << postcode << ": " << located.out;
  }
  RunResult unlocated = run("search" + Db() + who);
  ASSERT_EQ(unlocated.code, 0) << unlocated.err;
  nlohmann::json found = nlohmann::json::parse(unlocated.out, nullptr, false);
  ASSERT_FALSE(found.empty()) << unlocated.out;
  EXPECT_EQ(found[0]["person_id"], p);
  bool withheld = false;
  for (const auto& w : found[0]["comparisons"]) {
    if (w["comparison"] == "postcode") withheld = w["gamma"] == "withheld" && w["match_weight"] == "withheld";
  }
  EXPECT_TRUE(withheld) << unlocated.out;

  EXPECT_EQ(run("resolve --source M84001 --record-id RG1" + Db()).code, 0);
  EXPECT_EQ(run("resolve --nhs-number 9434765919" + Db()).code, 0);
  EXPECT_EQ(run("history --person " + person + Db()).code, 0);
  EXPECT_EQ(run("audit person " + person + Db()).code, 0);
  EXPECT_EQ(run("stats" + Db()).code, 0);
  run("relink" + Db() + " --dry-run --moves -");  // refused here (no trusted model); its words are checked
  const std::string evaluation = dir_.path() + "/evaluation.json";
  EXPECT_EQ(run("evaluate" + Db() + " --truth '" + Write("truth.csv", "source,record_id,person\nM84001,RG1,a\n") +
                "' --json '" + evaluation + "'")
                .code,
            0);
  EXPECT_EQ(ModeOf(evaluation), 0600u);
  files.push_back(evaluation);

  // Real-time ingest of the patient's records, good and bad.
  const std::string more = Write("more.csv", std::string(kHeader) +
                                                 "RLT,RX2,,Quennell,Marigold,1968-05-17,F,CV8 2QY,17 Larkspur "
                                                 "Crescent,1\n" +
                                                 kBadRestrictedRows);
  RunResult ingest = run("ingest" + Db() + " '" + more + "'");
  EXPECT_EQ(ingest.code, 65) << ingest.err;  // rows not ingested
  EXPECT_THAT(ingest.err, HasSubstr("row not ingested"));
  // A feed read as one line (CR line ends before issue 16) printed header
  // cells; a first line that is data is refused without them.
  std::string cr = std::string(kHeader) + kRestrictedRows;
  std::replace(cr.begin(), cr.end(), '\n', '\r');
  RunResult cr_link = run("link --db '" + dir_.path() + "/crdb' '" + Write("cr.csv", cr) + "'");
  EXPECT_EQ(cr_link.code, 0) << cr_link.err;
  EXPECT_THAT(cr_link.out, HasSubstr("records read          3"));
  RunResult headless = run("link --db '" + dir_.path() + "/hdb' '" + Write("headless.csv", kRestrictedRows) + "'");
  EXPECT_EQ(headless.code, 65);
  files.push_back(dir_.path() + "/crdb.quarantine.csv");

  // Objection forms about the patient, one of them refused.
  const std::string forms = Write("forms.csv",
                                  "nhs_number,family_name,given_names,date_of_birth,postcode\n"
                                  ",Quennell,Marigold,1968-05-17,CV8 2QY\n"
                                  "9434765919,Larkspur,Kenilworth,1999-01-01,CV8 2QY\n"
                                  "9434765919,Quennell,Marigold\n");
  run("object" + Db() + " --file '" + forms + "'");
  run("object" + Db() +
      " --family-name Quennell --given-names Marigold --date-of-birth 1968-02-30 "
      "--postcode 'CV8 2QY'");

  // The store itself (RocksDB files, audit.log) is owner-only too, though
  // the umask empi was started with is the usual 022 (SetUp).
  for (const auto& entry : std::filesystem::recursive_directory_iterator(db_)) {
    const mode_t mode = ModeOf(entry.path().string());
    EXPECT_EQ(mode & 077, 0u) << entry.path() << " mode " << std::oct << mode;
  }
  for (const auto& [args, r] : runs) {
    ExpectNoLocation("stdout of empi " + args, r.out);
    ExpectNoLocation("stderr of empi " + args, r.err);
  }
  for (const std::string& f : files) ExpectNoLocation(f, ReadText(f));
}

TEST_F(PrivacyCliTest, EveryReadOfPatientDataIsAuditedWithWhoAndWhy) {
  const std::string feed = Write("feed.csv", Population());
  ASSERT_EQ(Run("link" + Db() + " --as loader --purpose load '" + feed + "'").code, 0);
  const uint64_t p = PersonOf("M84001", "RG1");
  ASSERT_GT(p, 0u);
  const std::string truth = Write("truth.csv", "source,record_id,person\nM84001,RG1,x\n");
  const std::string objections = Write("objections_truth.csv", "row,person\n");

  // Each read adds exactly one event.
  for (const std::string& args :
       {std::string("export clusters"), std::string("export pairs"), std::string("export review"),
        std::string("explain M84001:RG1 RYA:RH1"), std::string("stats"), std::string("search --family-name Quennell"),
        std::string("resolve --source RYA --record-id RH1"), "history --person " + std::to_string(p),
        "audit person " + std::to_string(p),
        "check-objections --truth '" + truth + "' --objections-truth '" + objections + "'",
        "evaluate --truth '" + truth + "'"}) {
    const int before = AuditEvents();
    ASSERT_GE(before, 1);
    RunResult r = Run(args + Db());
    ASSERT_EQ(r.code, 0) << args << ": " << r.err;
    EXPECT_EQ(AuditEvents(), before + 1) << args;
  }

  // Who: --as, else EMPI_USER, else the OS user; why: --purpose, else
  // "operations".
  ASSERT_EQ(Run("explain" + Db() + " --as steward-b --purpose data-quality M84001:RG1 RYA:RH1").code, 0);
  ::setenv("EMPI_USER", "env-user", 1);
  ASSERT_EQ(Run("explain" + Db() + " M84001:RG1 RYA:RH1").code, 0);
  ::unsetenv("EMPI_USER");
  ASSERT_EQ(Run("explain" + Db() + " M84001:RG1 RYA:RH1").code, 0);
  const passwd* pw = ::getpwuid(::geteuid());
  ASSERT_NE(pw, nullptr);
  RunResult audit = Run("audit person " + std::to_string(p) + Db());
  ASSERT_EQ(audit.code, 0) << audit.err;
  std::vector<nlohmann::json> explains;
  for (const std::string& line : Lines(audit.out)) {
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    if (e.is_object() && e["action"] == "explain") explains.push_back(e);
  }
  ASSERT_EQ(explains.size(), 4u) << audit.out;
  EXPECT_EQ(explains[1]["requester"], "steward-b");
  EXPECT_EQ(explains[1]["purpose"], "data-quality");
  EXPECT_EQ(explains[2]["requester"], "env-user");
  EXPECT_EQ(explains[2]["purpose"], "operations");
  EXPECT_EQ(explains[3]["requester"], pw->pw_name);
  for (const auto& e : explains) {
    EXPECT_THAT(e["records"].dump(), HasSubstr("M84001:RG1"));
  }
}

TEST_F(PrivacyCliTest, ObjectionFileAnswersEveryRowAndRefusesContradictions) {
  ASSERT_EQ(Run("link" + Db() + " '" + Write("feed.csv", Population()) + "'").code, 0);
  const std::string forms = Write("forms.csv",
                                  "nhs_number,family_name,given_names,date_of_birth,postcode\r\n"
                                  "9434765919,Quennell,Marigold,1968-05-17,CV8 2QY\r\n"  // 2 applied
                                  "9434765919,Quennell\r\n"                              // 3 short
                                  "   \r\n"                                              // 4 blank: skipped
                                  "9434765919,Ashworth,Derek,1990-10-10,B15 2TT\r"       // 5 contradicts (CR only)
                                  "9434765919,Quennel,Derek,1990-10-10,B15 2TT\n"        // 6 name agrees: applied
                                  ",Quennell,Marigold,1968-02-30,CV8 2QY\n");            // 7 no such date
  RunResult r = Run("object" + Db() + " --file '" + forms + "'");
  EXPECT_EQ(r.code, 65) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  std::vector<nlohmann::json> rows;
  for (const std::string& l : lines) rows.push_back(nlohmann::json::parse(l, nullptr, false));
  EXPECT_EQ(rows[0]["line"], 2);
  EXPECT_EQ(rows[0]["outcome"], "applied");
  EXPECT_EQ(rows[1]["line"], 3);
  EXPECT_EQ(rows[1]["outcome"], "refused");
  EXPECT_EQ(rows[1]["reason"], "expected 5 fields, found 2");
  EXPECT_EQ(rows[2]["line"], 5);
  EXPECT_EQ(rows[2]["outcome"], "refused");
  EXPECT_THAT(rows[2]["reason"].get<std::string>(), HasSubstr("disagree with the form on both name and date_of_birth"));
  EXPECT_EQ(rows[3]["line"], 6);
  EXPECT_NE(rows[3]["outcome"], "refused");  // same family name (one letter off): only the date disagrees
  EXPECT_EQ(rows[4]["line"], 7);
  EXPECT_EQ(rows[4]["outcome"], "refused");
  EXPECT_THAT(rows[4]["reason"].get<std::string>(), HasSubstr("date_of_birth"));
  for (const char* value : {"Ashworth", "Derek", "1990", "B15"}) EXPECT_THAT(r.out + r.err, Not(HasSubstr(value)));

  // The contradicting withdrawal is refused too: the objection stays.
  RunResult withdraw = Run("withdraw-objection" + Db() +
                           " --nhs-number 9434765919 --family-name Ashworth "
                           "--given-names Derek --date-of-birth 1990-10-10");
  EXPECT_EQ(withdraw.code, 65) << withdraw.out;
  RunResult resolve = Run("resolve --source M84001 --record-id RG1" + Db());
  EXPECT_THAT(resolve.out, HasSubstr("\"objection\": true"));
}

TEST_F(PrivacyCliTest, InvalidQueryDatesAndAFileAsDbAreErrorsNamingTheField) {
  ASSERT_EQ(Run("link" + Db() + " '" + Write("feed.csv", Population()) + "'").code, 0);
  for (const char* date : {"2023-02-30", "2023-13-01", "17/05/1968", "yesterday"}) {
    RunResult r = Run("search" + Db() + " --family-name Quennell --date-of-birth " + date);
    EXPECT_EQ(r.code, 65) << date << ": " << r.out;
    EXPECT_THAT(r.err, HasSubstr("date_of_birth")) << date;
    EXPECT_EQ(r.out, "") << date;
  }
  const std::string file = Write("not-a-db", "x");
  for (const char* cmd : {"resolve --nhs-number 9434765919", "stats", "export clusters",
                          "object --nhs-number 9434765919", "link '/dev/null'"}) {
    RunResult r = Run(std::string(cmd) + " --db '" + file + "'");
    EXPECT_NE(r.code, 0) << cmd;
    EXPECT_THAT(r.err, HasSubstr("is a file, not a database directory")) << cmd;
  }
}

TEST_F(PrivacyCliTest, ObjectionFormIsNoLocationOracleButStillReachesThePatient) {
  ASSERT_EQ(Run("link" + Db() + " '" + Write("feed.csv", Population()) + "'").code, 0);
  // A form with the restricted patient's name, date of birth and postcode
  // is answered exactly as a form for nobody: it waits.
  auto object = [&](const std::string& demographics) {
    RunResult r = Run("object" + Db() + " " + demographics);
    EXPECT_EQ(r.code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    j.erase("persons");
    return j;
  };
  nlohmann::json restricted = object(
      "--family-name Quennell --given-names Marigold --date-of-birth 1968-05-17 "
      "--postcode 'CV8 2QY'");
  nlohmann::json nobody = object(
      "--family-name Zbrowski --given-names Ottoline --date-of-birth 1931-01-09 "
      "--postcode 'TR1 1AA'");
  EXPECT_EQ(restricted["outcome"], "pending") << restricted.dump();
  EXPECT_EQ(restricted, nobody);
  EXPECT_THAT(Run("resolve --source M84001 --record-id RG1" + Db()).out, HasSubstr("\"objection\": false"));
  // The patient's next record brings the objection to them.
  const std::string more = Write("more.csv", std::string(kHeader) +
                                                 "RLT,RX5,,Quennell,Marigold,1968-05-17,F,CV8 2QY,17 Larkspur "
                                                 "Crescent Kenilworth,1\n");
  RunResult ingest = Run("ingest" + Db() + " '" + more + "'");
  ASSERT_EQ(ingest.code, 0) << ingest.err;
  EXPECT_THAT(ingest.out, HasSubstr("\"objection_applied\":true"));
  EXPECT_THAT(Run("resolve --source RLT --record-id RX5" + Db()).out, HasSubstr("\"objection\": true"));
}

TEST_F(PrivacyCliTest, OddButValidFeedsAreReadAndWrongRowsRefusedOneByOne) {
  // CR-only line ends, whitespace-only lines, a NUL byte in one row.
  std::string feed = std::string(kHeader) +
                     "RKB,1,,Nowak,Jan,1984-03-07,M,,,0\r"
                     "   \r"
                     "RKB,2,,Now#ak,Eva,1984-03-07,F,,,0\r"
                     "\t\r"
                     "RKB,3,,Nowak,Ida,1984-03-07,F,,,0\r";
  feed[feed.find('#')] = '\0';
  const std::string path = Write("odd.csv", feed);
  RunResult link = Run("link" + Db() + " '" + path + "'");
  ASSERT_EQ(link.code, 0) << link.err;
  EXPECT_THAT(link.out, HasSubstr("records read          3"));
  EXPECT_THAT(link.out, HasSubstr("rejected (quarantine) 1"));
  EXPECT_THAT(link.out, HasSubstr("whitespace-only lines skipped 2"));
  EXPECT_THAT(ReadText(db_ + ".quarantine.csv"), HasSubstr(",4,column 4: NUL byte,"));
  RunResult ingest = Run("ingest --db '" + dir_.path() + "/rt' '" + path + "'");
  EXPECT_EQ(ingest.code, 65);  // the NUL row is not ingested; the others are
  EXPECT_THAT(ingest.err, HasSubstr(":4: row not ingested: column 4: NUL byte"));
  EXPECT_THAT(ingest.err, HasSubstr("whitespace-only lines skipped 2"));
  EXPECT_EQ(Lines(ingest.out).size(), 2u) << ingest.out;
}

}  // namespace
}  // namespace empi
