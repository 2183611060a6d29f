// Copyright EMPI developers.
//
// Runs the real `empi` binary on small feeds written to a temp directory.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
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
using testing_linkage::RecordGenerator;

class LinkCliTest : public CliTest {
 protected:
  static constexpr const char* kHeader =
      "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address\n";

  static std::string Row(const Record& r) {
    return r.source + "," + r.record_id + "," + r.nhs_number + "," + r.family_name + "," + r.given_names + "," +
           r.date_of_birth + "," + r.sex + "," + r.postcode + "," + r.address + "\n";
  }

  // A feed of `persons` persons from `source`, about half with a second
  // record from source + "2".
  std::string Feed(const std::string& source, int persons, int first_id = 0) {
    std::string csv = kHeader;
    for (int p = 0; p < persons; ++p) {
      Record t = gen_.Person();
      t.source = source;
      t.record_id = "R" + std::to_string(first_id + p);
      csv += Row(t);
      if (p % 2 == 0) {
        Record c = t;
        c.source = source + "2";
        c.given_names = gen_.Typo(c.given_names);
        csv += Row(c);
      }
    }
    return csv;
  }

  // Data rows of `empi export clusters`, or -1 if it failed.
  int StoredRecords() {
    RunResult r = Run("export clusters --db '" + db_ + "'");
    if (r.code != 0) return -1;
    return static_cast<int>(Lines(r.out).size()) - 1;
  }

  RecordGenerator gen_{77};
};

TEST_F(LinkCliTest, LinkExportExplainStats) {
  std::string feed = Write("a.csv", Feed("RKB", 150));
  RunResult link = Run("link --db '" + db_ + "' '" + feed + "'");
  ASSERT_EQ(link.code, 0) << link.err;
  EXPECT_THAT(link.out, HasSubstr("EMPI link summary"));
  EXPECT_THAT(link.out, HasSubstr("new records           225"));
  EXPECT_THAT(link.out, HasSubstr("model trained"));

  RunResult clusters = Run("export clusters --db '" + db_ + "'");
  ASSERT_EQ(clusters.code, 0) << clusters.err;
  std::vector<std::string> rows = Lines(clusters.out);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], "source,record_id,person_id,objection");
  EXPECT_EQ(rows.size(), 226u);  // header + one row per record
  std::set<std::string> keys;
  for (size_t i = 1; i < rows.size(); ++i) {
    std::vector<std::string> f;
    std::stringstream ss(rows[i]);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    ASSERT_EQ(f.size(), 4u) << rows[i];
    EXPECT_TRUE(keys.insert(f[0] + ":" + f[1]).second) << "record exported twice: " << rows[i];
    EXPECT_GT(std::stoull(f[2]), 0u);
    EXPECT_EQ(f[3], "0");
  }
  // -o writes the same to a file.
  std::string out = dir_.path() + "/clusters.csv";
  ASSERT_EQ(Run("export clusters --db '" + db_ + "' -o '" + out + "'").code, 0);
  EXPECT_EQ(ReadText(out), clusters.out);

  RunResult pairs = Run("export pairs --db '" + db_ + "'");
  ASSERT_EQ(pairs.code, 0) << pairs.err;
  std::vector<std::string> prow = Lines(pairs.out);
  ASSERT_GE(prow.size(), 2u) << "no pairs exported";
  EXPECT_THAT(prow[0], HasSubstr("match_weight,match_probability"));
  for (const char* g : {"gamma_nhs_number", "gamma_family_name", "gamma_given_names", "gamma_date_of_birth",
                        "gamma_postcode", "gamma_sex"}) {
    EXPECT_THAT(prow[0], HasSubstr(g));
  }

  RunResult explain = Run("explain --db '" + db_ + "' RKB:R0 RKB2:R0");
  ASSERT_EQ(explain.code, 0) << explain.err;
  for (const char* c : {"prior", "nhs_number", "family_name", "given_names", "date_of_birth", "postcode", "sex",
                        "address", "match_weight", "match_probability", "decision"}) {
    EXPECT_THAT(explain.out, HasSubstr(c));
  }
  RunResult missing = Run("explain --db '" + db_ + "' RKB:R0 RKB:NOPE");
  EXPECT_EQ(missing.code, 66) << missing.err;
  EXPECT_EQ(Run("explain --db '" + db_ + "' RKB:R0 bad-ref").code, 65);

  RunResult stats = Run("stats --db '" + db_ + "'");
  ASSERT_EQ(stats.code, 0) << stats.err;
  EXPECT_THAT(stats.out, HasSubstr("records            225"));
  EXPECT_THAT(stats.out, HasSubstr("RKB2"));
  EXPECT_THAT(stats.out, HasSubstr("model:"));

  // Linking the same feed again changes nothing.
  RunResult again = Run("link --db '" + db_ + "' '" + feed + "'");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("unchanged records     225"));
  EXPECT_EQ(Run("export clusters --db '" + db_ + "'").out, clusters.out);

  // Compacting changes what is on disk, not what is stored.
  RunResult compact = Run("compact --db '" + db_ + "'");
  ASSERT_EQ(compact.code, 0) << compact.err;
  EXPECT_THAT(compact.out, HasSubstr("compacted "));
  EXPECT_EQ(Run("export clusters --db '" + db_ + "'").out, clusters.out);
  EXPECT_EQ(Run("audit verify --db '" + db_ + "'").code, 0);
  EXPECT_EQ(Run("compact --db '" + dir_.path() + "/no-such-db'").code, 66);
}

// A right-to-object form for a patient none of whose records is stored yet
// waits; the batch link that brings the records applies it to all of them.
TEST_F(LinkCliTest, DemographicObjectionPendingUntilALinkBringsTheRecords) {
  ASSERT_EQ(Run("link --db '" + db_ + "' '" + Write("first.csv", Feed("RKB", 100)) + "'").code, 0);
  std::string later = Feed("RLT", 20, 500);
  const std::vector<std::string> rows = Lines(later);
  // The form names the patient of the feed's first row: RLT R500, and its
  // RLT2 copy with a typo in the given name.
  std::vector<std::string> f;
  std::stringstream first(rows[1]);
  for (std::string field; std::getline(first, field, ',');) f.push_back(field);
  const std::string form = "--family-name '" + f[3] + "' --given-names '" + f[4] + "' --date-of-birth '" + f[5] +
                           "' --postcode '" + f[7] + "'";
  RunResult pending = Run("object --db '" + db_ + "' " + form);
  ASSERT_EQ(pending.code, 0) << pending.err;
  EXPECT_THAT(pending.out, HasSubstr("\"outcome\":\"pending\""));
  EXPECT_THAT(Run("stats --db '" + db_ + "'").out, HasSubstr("pending objections 0 by NHS number, 1 by form"));

  RunResult link = Run("link --db '" + db_ + "' '" + Write("later.csv", later) + "'");
  ASSERT_EQ(link.code, 0) << link.err;
  EXPECT_THAT(link.out, HasSubstr("pending objections applied 1"));
  int objecting = 0;
  for (const std::string& line : Lines(Run("export clusters --db '" + db_ + "'").out)) {
    if (line.ends_with(",1")) {
      ++objecting;
      EXPECT_TRUE(line.starts_with("RLT,R500,") || line.starts_with("RLT2,R500,")) << line;
    }
  }
  EXPECT_EQ(objecting, 2);
  EXPECT_THAT(Run("stats --db '" + db_ + "'").out, HasSubstr("pending objections 0 by NHS number, 0 by form"));
  EXPECT_EQ(Run("audit verify --db '" + db_ + "'").code, 0);
}

TEST_F(LinkCliTest, MalformedFeedsFailWholeAndStoreNothing) {
  std::string good = Write("good.csv", Feed("RKB", 60));
  ASSERT_EQ(Run("link --db '" + db_ + "' '" + good + "'").code, 0);
  const int stored = StoredRecords();
  ASSERT_EQ(stored, 90);

  struct Case {
    std::string name, bytes, where;
  };
  std::string data_row = "RJC,X1,,Smith,John,1980-01-02,M,CV1 2AB,1 High Street\n";
  std::vector<Case> cases = {
      {"noheader.csv", data_row + data_row, ":1"},
      {"nocolumn.csv", "source,nhs_number,family_name,given_names,date_of_birth\nRJC,,Smith,John,1980-01-02\n", ":1"},
      {"utf8.csv", std::string(kHeader) + data_row + "RJC,X2,,Sm\xff\xfeth,John,1980-01-02,M,,\n", ":3"},
      {"quote.csv", std::string(kHeader) + data_row + "RJC,X2,,\"Smith,John,1980-01-02,M,,\n", ":3"},
  };
  for (const Case& c : cases) {
    // A good feed in the same run is not stored either.
    std::string more = Write("more_" + c.name, Feed("RJC", 10, 1000));
    std::string bad = Write(c.name, c.bytes);
    RunResult r = Run("link --db '" + db_ + "' '" + more + "' '" + bad + "'");
    EXPECT_EQ(r.code, 65) << c.name << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(bad + c.where)) << c.name;
    EXPECT_THAT(r.err, Not(HasSubstr("Smith"))) << "patient data in an error message";
    EXPECT_EQ(StoredRecords(), stored) << c.name;
  }
}

TEST_F(LinkCliTest, BadRowIsQuarantinedAndTheRestLinked) {
  std::string csv = Feed("RKB", 40);
  csv += "RKB,,9434765919,Nowak,Anna,1970-01-01,F,CV1 2AB,2 Mill Road\n";  // no record_id
  std::string feed = Write("rows.csv", csv);
  const int bad_line = static_cast<int>(Lines(csv).size());
  RunResult r = Run("link --db '" + db_ + "' '" + feed + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rejected (quarantine) 1"));
  std::string q = ReadText(db_ + ".quarantine.csv");
  std::vector<std::string> qrows = Lines(q);
  ASSERT_EQ(qrows.size(), 2u) << q;
  EXPECT_EQ(qrows[0], "file,line,reason,raw");
  EXPECT_THAT(qrows[1], HasSubstr("rows.csv," + std::to_string(bad_line) + ",record_id"));
  EXPECT_EQ(StoredRecords(), 60);
}

// The model is stored with the data, exported as JSON, and imported into
// another database, whose first link then scores with it instead of training.
TEST_F(LinkCliTest, ModelExportImportAndReviewExport) {
  std::string feed = Write("a.csv", Feed("RKB", 150));
  ASSERT_EQ(Run("link --db '" + db_ + "' '" + feed + "'").code, 0);
  std::string model_path = dir_.path() + "/model.json";
  RunResult exported = Run("model export --db '" + db_ + "' -o '" + model_path + "'");
  ASSERT_EQ(exported.code, 0) << exported.err;
  std::ifstream in(model_path);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(json, HasSubstr("\"probability_two_random_records_match\""));
  EXPECT_THAT(json, HasSubstr("\"m_probability\""));
  EXPECT_THAT(json, HasSubstr("\"u_probability\""));
  // 150 records give too few pairs for a model a later link would keep.
  EXPECT_THAT(json, HasSubstr("\"origin\": \"trained\""));
  EXPECT_THAT(json, HasSubstr("\"trusted\": false"));

  std::string other = dir_.path() + "/other";
  RunResult imported = Run("model import --db '" + other + "' '" + model_path + "'");
  ASSERT_EQ(imported.code, 0) << imported.err;
  RunResult relink = Run("link --db '" + other + "' '" + feed + "'");
  ASSERT_EQ(relink.code, 0) << relink.err;
  EXPECT_THAT(relink.out, Not(HasSubstr("model trained")));
  RunResult reexported = Run("model export --db '" + other + "'");
  ASSERT_EQ(reexported.code, 0);
  // The same model, now marked imported: kept by later links whatever it
  // was trained on, as the user chose it.
  std::string imported_json = json;
  imported_json.replace(imported_json.find("\"origin\": \"trained\""), 19, "\"origin\": \"imported\"");
  imported_json.replace(imported_json.find("\"trusted\": false"), 16, "\"trusted\": true");
  const std::string why = "\"untrusted_reason\": \"";
  size_t at = imported_json.find(why) + why.size();
  imported_json.erase(at, imported_json.find('"', at) - at);
  EXPECT_EQ(reexported.out, imported_json);

  EXPECT_EQ(Run("model import --db '" + other + "' '" + Write("bad.json", "{\"format\": \"x\"}") + "'").code, 65);
  EXPECT_EQ(Run("model import --db '" + other + "' '" + dir_.path() + "/missing.json'").code, 66);
  EXPECT_EQ(Run("audit verify --db '" + other + "'").code, 0);

  RunResult review = Run("export review --db '" + db_ + "'");
  ASSERT_EQ(review.code, 0) << review.err;
  std::vector<std::string> rows = Lines(review.out);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], "source_l,record_id_l,source_r,record_id_r,match_weight,match_probability,reason");
}

// Issue 4's demonstration at small scale: a generated population linked in
// batch, its right-to-object forms registered with `empi object --file`, and
// `empi check-objections` asking the engine about every record of every
// objecting patient.
TEST_F(LinkCliTest, GeneratedObjectionsCoverTheirPatientsRecords) {
  const std::string gen = dir_.path() + "/gen";
  ASSERT_EQ(Run("generate --persons 3000 --seed 5 --out '" + gen + "'").code, 0);
  ASSERT_EQ(Run("link --db '" + db_ + "' '" + gen + "'/[A-Z]*.csv").code, 0);
  RunResult objected = Run("object --db '" + db_ + "' --file '" + gen + "/objections.csv'");
  ASSERT_EQ(objected.code, 0) << objected.err;
  const size_t forms = Lines(ReadText(gen + "/objections_truth.csv")).size() - 1;
  ASSERT_GT(forms, 20u);
  RunResult check = Run("check-objections --db '" + db_ + "' --truth '" + gen + "/truth.csv' --objections-truth '" +
                        gen + "/objections_truth.csv'");
  ASSERT_EQ(check.code, 0) << check.err;
  auto figure = [&](const std::string& label) -> long {
    size_t at = check.out.find(label);
    if (at == std::string::npos) return -1;
    return std::stol(check.out.substr(at + label.size()));
  };
  EXPECT_EQ(figure("objecting patients"), static_cast<long>(forms)) << check.out;
  const long records = figure("their records"), with_objection = figure("resolve with objection");
  ASSERT_GT(records, static_cast<long>(forms));
  // Misses are records the batch left unlinked and forms refused as
  // ambiguous; at this size about 1% of records (see docs/realtime.md).
  EXPECT_GE(with_objection, records * 97 / 100) << check.out;
  EXPECT_GE(figure("view denied"), with_objection) << check.out;
  EXPECT_EQ(figure("records failing"), records - std::min(with_objection, figure("view denied"))) << check.out;
}

TEST_F(LinkCliTest, UsageErrors) {
  std::string feed = Write("a.csv", Feed("RKB", 5));
  EXPECT_EQ(Run("link --db '" + db_ + "' --no-such-flag '" + feed + "'").code, 64);
  EXPECT_EQ(Run("link '" + feed + "'").code, 64);  // --db missing
  EXPECT_EQ(Run("export clusters --db '" + db_ + "' --bogus").code, 64);
  EXPECT_EQ(Run("no-such-command").code, 64);
  // A missing feed is a missing input (EX_NOINPUT), not a usage error.
  EXPECT_EQ(Run("link --db '" + db_ + "' '" + dir_.path() + "/missing.csv'").code, 66);
  // Nothing was created by the failed runs.
  EXPECT_FALSE(std::filesystem::exists(db_));
  // A database that does not exist is not created by readers.
  EXPECT_NE(Run("stats --db '" + db_ + "'").code, 0);
  EXPECT_FALSE(std::filesystem::exists(db_ + "/CURRENT"));
}

// empi_cc_test gives every test both directories (a ';'-separated
// ENVIRONMENT once lost all but the first).
TEST(TestEnvironment, CtestSetsSourceAndBinaryDirectories) {
  const char* src = std::getenv("EMPI_SOURCE_DIR");
  const char* bin = std::getenv("EMPI_BINARY_DIR");
  ASSERT_NE(src, nullptr);
  ASSERT_NE(bin, nullptr);
  EXPECT_TRUE(std::filesystem::exists(std::string(src) + "/cmake/EmpiHelpers.cmake")) << src;
  EXPECT_TRUE(std::filesystem::exists(std::string(bin) + "/CMakeCache.txt")) << bin;
}

// The blocking rules of the first `empi link` are stored: a later link
// given none uses them, other rules are refused, and `export pairs`
// re-blocks with them.
TEST_F(LinkCliTest, BlockingRulesAreStoredAndReused) {
  std::string csv = Feed("RKB", 150);
  std::string feed = Write("a.csv", csv);
  RunResult first = Run("link --db '" + db_ + "' --blocking-rules nhs_number --max-block-size 50 '" + feed + "'");
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_THAT(first.out, Not(HasSubstr("dob_family_phonetic")));

  std::string more = Write("b.csv", Feed("RLT", 40, 5000));
  RunResult second = Run("link --db '" + db_ + "' '" + more + "'");
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_THAT(second.out, HasSubstr("nhs_number"));
  EXPECT_THAT(second.out, Not(HasSubstr("dob_family_phonetic"))) << "a later link used the default rules";

  RunResult other = Run("link --db '" + db_ + "' --blocking-rules nhs_number,dob_postcode '" + more + "'");
  EXPECT_EQ(other.code, 65);
  EXPECT_THAT(other.err, HasSubstr("differ from the rules this database was linked with (nhs_number)"));

  // Every exported pair shares an NHS number: the only stored rule.
  std::map<std::string, std::string> nhs;  // "source,record_id" -> nhs_number
  for (const std::string& text : {csv, ReadText(more)}) {
    std::vector<std::string> rows = Lines(text);
    for (size_t i = 1; i < rows.size(); ++i) {
      std::vector<std::string> f;
      std::stringstream ss(rows[i]);
      for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
      nhs[f[0] + "," + f[1]] = f.size() > 2 ? f[2] : "";
    }
  }
  RunResult pairs = Run("export pairs --db '" + db_ + "' --min-probability 1e-12");
  ASSERT_EQ(pairs.code, 0) << pairs.err;
  std::vector<std::string> prow = Lines(pairs.out);
  ASSERT_GE(prow.size(), 2u);
  for (size_t i = 1; i < prow.size(); ++i) {
    std::vector<std::string> f;
    std::stringstream ss(prow[i]);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    ASSERT_GE(f.size(), 4u);
    const std::string& l = nhs[f[0] + "," + f[1]];
    EXPECT_FALSE(l.empty()) << "pair not from the stored rules: " << prow[i];
    EXPECT_EQ(l, nhs[f[2] + "," + f[3]]) << prow[i];
  }
}

}  // namespace
}  // namespace empi
