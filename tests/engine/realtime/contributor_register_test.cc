// Copyright EMPI developers.
#include "engine/realtime/contributor_register.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using ::testing::HasSubstr;

TEST(ContributorRegisterTest, DefaultKnowsGpCodesAndTrusts) {
  absl::StatusOr<ContributorRegister> reg = ContributorRegister::Load("", {});
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ(reg->Kind("M84001"), "gp");
  EXPECT_TRUE(reg->IsRegionGp("M84001"));
  EXPECT_FALSE(reg->IsRegionGp("M81002"));
  EXPECT_EQ(reg->Kind("RKB"), "acute");
  EXPECT_EQ(reg->Kind("CWC-SC"), "social-care");
}

TEST(ContributorRegisterTest, ParsesCsvAndJsonAsLoadDoes) {
  const std::string csv = "source,kind,area\r\n M84001 , gp , CW \r\n\r\nM81002,gp,BSOL\nRKB,acute,CW\n";
  absl::StatusOr<ContributorRegister> parsed = ContributorRegister::Parse(csv, "reg.csv", {});
  absl::StatusOr<ContributorRegister> loaded = ContributorRegister::Load(testing::WriteTestFile("reg.csv", csv), {});
  for (const auto* reg : {&parsed, &loaded}) {
    ASSERT_TRUE(reg->ok()) << reg->status();
    EXPECT_TRUE((*reg)->IsRegionGp("M84001"));
    EXPECT_FALSE((*reg)->IsRegionGp("M81002"));
    EXPECT_FALSE((*reg)->IsRegionGp("RKB"));
    EXPECT_EQ((*reg)->Kind("RKB"), "acute");
    EXPECT_EQ((*reg)->Kind("M84004"), "other");  // not in the file
  }
  absl::StatusOr<ContributorRegister> json = ContributorRegister::Parse(
      R"([{"source": "M81002", "kind": "gp", "area": "BSOL"}, {"source": "RYA"}])", "reg.json", {"BSOL"});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_TRUE(json->IsRegionGp("M81002"));
  EXPECT_EQ(json->Kind("RYA"), "other");
}

// A kind or area that is not a string made nlohmann::json throw
// type_error out of Parse, ending `empi` (and any service opening the
// engine) with an uncaught exception. Seen while writing
// fuzz_contributor_register (issue 16).
TEST(ContributorRegisterTest, JsonKindOrAreaNotAStringIsAnError) {
  for (const char* text : {R"([{"source": "A", "kind": 1}])", R"([{"source": "A", "kind": "gp", "area": ["CW"]}])",
                           R"([{"source": "A"}, {"source": "B", "kind": null}])"}) {
    absl::StatusOr<ContributorRegister> reg = ContributorRegister::Parse(text, "reg.json", {});
    EXPECT_EQ(reg.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(reg.status().message(), HasSubstr("reg.json: entry ")) << text;
    EXPECT_THAT(reg.status().message(), HasSubstr(": must be a string")) << text;
  }
}

TEST(ContributorRegisterTest, MalformedFilesNameFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {Case{"kind,source,area\n", "reg.csv: line 1: header must be source,kind,area"},
                        Case{"source,kind,area\nM84001,gp\n", "reg.csv: line 2: expected 3 fields, found 2"},
                        Case{"source,kind,area\n ,gp,CW\n", "reg.csv: line 2: source: empty"},
                        Case{"[{\"kind\": \"gp\"}]", "reg.csv: entry 1: source: missing"},
                        Case{"[1,", "reg.csv: not a JSON array of contributors"}}) {
    absl::StatusOr<ContributorRegister> reg = ContributorRegister::Parse(c.text, "reg.csv", {});
    EXPECT_EQ(reg.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(reg.status().message(), HasSubstr(c.message)) << c.text;
  }
  EXPECT_EQ(ContributorRegister::Load("/nonexistent/reg.csv", {}).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace empi
