// Copyright EMPI developers.
#include "engine/feed/mapping.h"

#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/feed/feed_test_util.h"

namespace empi {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(MappingTest, ParsesEveryKey) {
  absl::StatusOr<Mapping> m = ParseMapping(R"({
      "description": "test",
      "source": "SC01",
      "delimiter": "|",
      "trim": false,
      "date_format": "dd/mm/yyyy",
      "validate_nhs_number": false,
      "postcode_format": "raw",
      "columns": {"record_id": "id", "sex": "gender", "restricted": "hidden"},
      "name": {"column": "full", "order": "family_first"},
      "address": ["a", "b"],
      "ignore": ["notes"]
    })",
                                           "m.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->source, "SC01");
  EXPECT_EQ(m->delimiter, '|');
  EXPECT_FALSE(m->trim);
  EXPECT_EQ(m->date_format, DateFormat::kDmySlash);
  EXPECT_FALSE(m->conventions.validate_nhs_number);
  EXPECT_EQ(m->conventions.postcode_format, PostcodeFormat::kRaw);
  EXPECT_THAT(m->columns,
              UnorderedElementsAre(Pair("record_id", "id"), Pair("sex", "gender"), Pair("restricted", "hidden")));
  ASSERT_TRUE(m->name.has_value());
  EXPECT_EQ(m->name->column, "full");
  EXPECT_EQ(m->name->order, NameOrder::kFamilyFirst);
  EXPECT_EQ(m->address, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(m->ignore, (std::vector<std::string>{"notes"}));
}

TEST(MappingTest, DefaultsForAnEmptyObject) {
  absl::StatusOr<Mapping> m = ParseMapping("{}", "m.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->source.has_value());
  EXPECT_EQ(m->delimiter, ',');
  EXPECT_TRUE(m->trim);
  EXPECT_EQ(m->date_format, DateFormat::kAuto);
  EXPECT_EQ(m->conventions, FieldConventions{});
  EXPECT_FALSE(m->name.has_value());
}

// Found by fuzz_mapping (issue 16): a number beyond the range of a double
// made nlohmann::json throw out_of_range, which ParseMapping let escape, so
// `empi link --mapping` ended with an uncaught exception instead of a usage
// error.
TEST(MappingTest, NumberBeyondDoubleRangeIsAnErrorWithLineAndColumn) {
  absl::StatusOr<Mapping> m = ParseMapping("{\n  \"source\": \"1e999\",\n  \"trim\": -8e308\n}", "big.json");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("big.json:3:11: $: not valid JSON (number out of range)"));
  m = ParseMapping("1e318", "top.json");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("top.json:1:1: $: not valid JSON"));
}

struct BadCase {
  const char* json;
  const char* message;
};

class MappingErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(MappingErrorTest, NamesTheJsonPath) {
  absl::StatusOr<Mapping> m = ParseMapping(GetParam().json, "bad.json");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MappingErrorTest,
    ::testing::Values(
        BadCase{"{\"columns\": ", "bad.json:1:13: $: not valid JSON"},
        // Syntax errors name the line and column (issue 16).
        BadCase{"{\n  \"source\": \"x\",\n  \"trim\": tru\n}", "bad.json:3:14: $: not valid JSON"},
        BadCase{"{\n  \"source\": \"x\"\n  \"trim\": true\n}", "bad.json:3:8: $: not valid JSON"},
        // A repeated key is an error, not the last value (issue 16).
        BadCase{R"({"source": "a", "source": "b"})", "bad.json: $.source: key appears more than once"},
        BadCase{R"({"columns": {"record_id": "id", "sex": "g", "record_id": "rid"}})",
                "bad.json: $.columns.record_id: key appears more than once"},
        // Two fields mapped to one column (issue 16).
        BadCase{R"({"columns": {"record_id": "id", "nhs_number": " ID "}})",
                "$.columns.record_id: column \"id\" is already mapped to $.columns.nhs_number"},
        BadCase{R"({"name": {"column": "n"}, "columns": {"record_id": "N"}})",
                "$.columns.record_id: column is also $.name.column"},
        BadCase{"[]", "bad.json: $: must be a JSON object"},
        BadCase{R"({"colums": {}})", "bad.json: $.colums: unknown key"},
        BadCase{R"({"columns": {"surname": "x"}})", "$.columns.surname: unknown canonical field"},
        BadCase{R"({"columns": {"record_id": 3}})", "$.columns.record_id: must be a non-empty string"},
        BadCase{R"({"columns": []})", "$.columns: must be an object"},
        BadCase{R"({"trim": "yes"})", "$.trim: must be true or false"},
        BadCase{R"({"validate_nhs_number": 1})", "$.validate_nhs_number: must be true or false"},
        BadCase{R"({"date_format": "mm/dd/yyyy"})", "$.date_format: must be one of"},
        BadCase{R"({"postcode_format": "us"})", "$.postcode_format: must be \"uk\" or \"raw\""},
        BadCase{R"({"delimiter": ",,"})", "$.delimiter: must be a single character"},
        BadCase{R"({"delimiter": "\""})", "$.delimiter: cannot be a quote"},
        BadCase{R"({"source": ""})", "$.source: must be a non-empty string"},
        BadCase{R"({"address": []})", "$.address: must name at least one column"},
        BadCase{R"({"address": ["a", 2]})", "$.address[1]: must be a non-empty string"},
        BadCase{R"({"ignore": "x"})", "$.ignore: must be a list of column names"},
        BadCase{R"({"name": {"order": "given_first"}})", "$.name.column: missing"},
        BadCase{R"({"name": {"column": "n", "order": "last"}})", "$.name.order: must be"},
        BadCase{R"({"name": {"column": "n", "sep": " "}})", "$.name.sep: unknown key"},
        BadCase{R"({"name": {"column": "n"}, "columns": {"family_name": "s"}})",
                "$.columns.family_name: conflicts with $.name"},
        BadCase{R"({"address": ["a"], "columns": {"address": "s"}})", "$.columns.address: conflicts with $.address"},
        BadCase{R"({"columns": {"sex": "g"}, "ignore": ["g"]})", "$.columns.sex: column is also listed in $.ignore"}));

TEST(MappingTest, LoadMissingFileIsNotFound) {
  EXPECT_EQ(LoadMapping(::testing::TempDir() + "/no-such-mapping.json").status().code(), absl::StatusCode::kNotFound);
}

TEST(MappingTest, LoadReadsFileAndNamesItInErrors) {
  std::string path = testing_feed::WriteTempFile("m.json", R"({"trim": 0})");
  absl::StatusOr<Mapping> m = LoadMapping(path);
  EXPECT_THAT(m.status().message(), HasSubstr(path + ": $.trim:"));
}

TEST(MappingTest, ShippedFebrlMappingLoads) {
  const char* root = std::getenv("EMPI_SOURCE_DIR");
  if (root == nullptr) GTEST_SKIP() << "EMPI_SOURCE_DIR not set";
  absl::StatusOr<Mapping> m = LoadMapping(std::string(root) + "/datasets/mappings/febrl.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->date_format, DateFormat::kCompact);
  EXPECT_FALSE(m->conventions.validate_nhs_number);
  EXPECT_EQ(m->conventions.postcode_format, PostcodeFormat::kRaw);
}

}  // namespace
}  // namespace empi
