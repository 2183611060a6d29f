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
  for (const Case& c :
       {Case{"kind,source,area\n", "reg.csv: line 1: header must be source,kind,area or source,kind,area,system"},
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

TEST(ContributorRegisterTest, ASystemColumnGivesContributorsTheirOwnIdentifierSystem) {
  const std::string csv =
      "source,kind,area,system\nRKB,acute,CW,https://fhir.uhcw.example.nhs.uk/Id/mrn\nM84001,gp,CW,\n"
      "RYA,ambulance,CW, urn:oid:2.16.840.1.113883.2.1.3.2.4.18.24 \n";
  absl::StatusOr<ContributorRegister> reg = ContributorRegister::Parse(csv, "reg.csv", {});
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ(reg->Systems(), (std::vector<ContributorSystem>{{"RKB", "https://fhir.uhcw.example.nhs.uk/Id/mrn"},
                                                            {"RYA", "urn:oid:2.16.840.1.113883.2.1.3.2.4.18.24"}}));
  EXPECT_TRUE(reg->IsRegionGp("M84001"));
  absl::StatusOr<ContributorRegister> json = ContributorRegister::Parse(
      R"([{"source": "RKB", "kind": "acute", "system": "https://fhir.uhcw.example.nhs.uk/Id/mrn"}, {"source": "RYA"}])",
      "reg.json", {});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->Systems(), (std::vector<ContributorSystem>{{"RKB", "https://fhir.uhcw.example.nhs.uk/Id/mrn"}}));
  EXPECT_TRUE(ContributorRegister::Parse("source,kind,area\nRKB,acute,CW\n", "r", {})->Systems().empty());
  EXPECT_TRUE(ContributorRegister::Load("", {})->Systems().empty());
}

TEST(ContributorRegisterTest, ASystemMustBeAnAbsoluteUriOfOneContributorNotReserved) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"source,kind,area,system\nRKB,acute,CW,mrn\n", "reg.csv: line 2: system: not an absolute URI"},
           Case{"source,kind,area,system\nRKB,acute,CW,https://a b\n", "reg.csv: line 2: system: not an absolute URI"},
           Case{"source,kind,area,system\nRKB,acute,CW,https://x|y\n", "reg.csv: line 2: system: not an absolute URI"},
           Case{"source,kind,area,system\nRKB,acute,CW,1http://x\n", "reg.csv: line 2: system: not an absolute URI"},
           Case{"source,kind,area,system\nRKB,acute,CW,urn:empi:source:RLT\n", "reg.csv: line 2: system: reserved"},
           Case{"source,kind,area,system\nRKB,acute,CW,https://fhir.nhs.uk/Id/nhs-number\n",
                "reg.csv: line 2: system: reserved"},
           Case{"source,kind,area,system\nRKB,acute,CW,https://x/mrn\nRLT,acute,CW,https://x/mrn\n",
                "reg.csv: line 3: system: already the system of RKB"},
           Case{"source,kind,area,system\nRKB,acute,CW\n", "reg.csv: line 2: expected 4 fields, found 3"},
           Case{R"([{"source": "RKB", "system": "mrn"}])", "reg.csv: entry 1: system: not an absolute URI"},
           Case{R"([{"source": "RKB", "system": 7}])", "reg.csv: entry 1: system: must be a string"},
       }) {
    absl::StatusOr<ContributorRegister> reg = ContributorRegister::Parse(c.text, "reg.csv", {});
    EXPECT_EQ(reg.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(reg.status().message(), HasSubstr(c.message)) << c.text;
  }
  // A contributor listed twice with one system is not two contributors.
  EXPECT_TRUE(ContributorRegister::Parse(
                  "source,kind,area,system\nRKB,acute,CW,https://x/mrn\nRKB,acute,CW,https://x/mrn\n", "reg.csv", {})
                  .ok());
}

}  // namespace
}  // namespace empi
