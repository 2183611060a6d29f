// Copyright EMPI developers.
#include "engine/realtime/objection_form.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace empi {
namespace {

using ::testing::HasSubstr;

constexpr char kHeader[] = "nhs_number,family_name,given_names,date_of_birth,postcode";

TEST(ObjectionFormTest, EveryRowIsARequestOrRefusedWithItsLine) {
  const std::string text = std::string(kHeader) +
                           "\r\n"
                           "9434765919,\"O\"\"Brien\",\"Mary, Ann\",1968-05-17,CV8 2QY\r"
                           " \t\n"
                           "9434765919,Quennell,Marigold\n" +
                           std::string("943\0,a,b,c,d\n", 13) + ",Lee,Bo,1970-01-01,B1 1AA";
  absl::StatusOr<std::vector<ObjectionFormRow>> rows =
      ParseObjectionForm(text, "forms.csv", ObjectionMethod::kLetter, "");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  const ObjectionRequest& first = (*rows)[0].request;
  EXPECT_EQ((*rows)[0].line, 2u);
  EXPECT_EQ((*rows)[0].refused, "");
  EXPECT_EQ(first.nhs_number, "9434765919");
  EXPECT_EQ(first.family_name, "O\"Brien");
  EXPECT_EQ(first.given_names, "Mary, Ann");
  EXPECT_EQ(first.date_of_birth, "1968-05-17");
  EXPECT_EQ(first.postcode, "CV8 2QY");
  EXPECT_EQ(first.method, ObjectionMethod::kLetter);
  EXPECT_EQ(first.reference, "forms.csv:2");
  EXPECT_EQ((*rows)[1].line, 4u);  // line 3 is blank
  EXPECT_EQ((*rows)[1].refused, "expected 5 fields, found 3");
  EXPECT_EQ((*rows)[2].line, 5u);
  EXPECT_EQ((*rows)[2].refused, "NUL byte");
  EXPECT_EQ((*rows)[3].line, 6u);
  EXPECT_EQ((*rows)[3].request.family_name, "Lee");
}

TEST(ObjectionFormTest, AGivenReferenceIsUsedForEveryRow) {
  absl::StatusOr<std::vector<ObjectionFormRow>> rows =
      ParseObjectionForm(std::string(kHeader) + "\n,A,B,1970-01-01,B1 1AA\n", "f.csv", ObjectionMethod::kForm, "REF-1");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].request.reference, "REF-1");
}

TEST(ObjectionFormTest, AWrongHeaderFailsTheFile) {
  for (const char* text : {"", "family_name,nhs_number\n",
                           "\n"
                           "nhs_number,family_name,given_names,date_of_birth,postcode\n"}) {
    absl::StatusOr<std::vector<ObjectionFormRow>> rows = ParseObjectionForm(text, "f.csv", ObjectionMethod::kForm, "");
    if (std::string(text).empty()) {
      // No line at all: nothing to refuse, nothing to do.
      ASSERT_TRUE(rows.ok());
      EXPECT_TRUE(rows->empty());
      continue;
    }
    EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(rows.status().message(), HasSubstr("f.csv: line 1: header must be"));
  }
}

}  // namespace
}  // namespace empi
