// Copyright EMPI developers.
//
// engine/server/fhir.h: the $resolve answer written straight to text
// (ResolutionParametersText) is, byte for byte, the nlohmann tree of
// ResolutionParameters dumped, for random resolutions whose strings hold
// quotes, backslashes, control characters and UTF-8.
#include "engine/server/fhir.h"

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace empi::server {
namespace {

std::string RandomText(std::mt19937_64& rng) {
  static const std::string kPieces[] = {"a",    "Z", "0", " ", "-", "\"", "\\", "\n", "\t",  "\x01",  "\x1f",
                                        "\x7f", "é", "ß", "€", "😀", "/",  "<",  "&",  "RKB", "M84001"};
  std::string s;
  const size_t n = rng() % 12;
  for (size_t i = 0; i < n; ++i) s += kPieces[rng() % std::size(kPieces)];
  return s;
}

Resolution RandomResolution(std::mt19937_64& rng) {
  Resolution r;
  r.person_id = rng();
  for (size_t i = rng() % 5; i > 0; --i) {
    r.records.push_back({RandomText(rng), RandomText(rng), rng() % 3 == 0 ? "gp" : RandomText(rng)});
  }
  r.objection = rng() % 2;
  r.objection_in_review = rng() % 2;
  r.objection_time_us = rng() % 3 == 0 ? 0 : static_cast<int64_t>(rng() % 4'000'000'000'000'000);
  r.in_scope = rng() % 2;
  r.scope_reason = RandomText(rng);
  r.restricted = rng() % 3 == 0;
  r.at_change = rng();
  r.model_version = RandomText(rng);
  return r;
}

TEST(ResolutionParametersText, IsTheTreeDumpedForRandomResolutions) {
  std::mt19937_64 rng(20261205);
  for (int i = 0; i < 5000; ++i) {
    const Resolution r = RandomResolution(rng);
    ViewDecision view;
    view.allowed = rng() % 2;
    view.reason = rng() % 2 ? "out of scope: " + RandomText(rng) : RandomText(rng);
    const std::string text = ResolutionParametersText(r, view);
    ASSERT_EQ(text, ResolutionParameters(r, view).dump()) << "case " << i;
    ASSERT_TRUE(nlohmann::json::accept(text)) << text;
  }
}

TEST(ResolutionParametersText, WithholdsARestrictedPatientsReasonsAndGpRecords) {
  Resolution r;
  r.person_id = 7;
  r.restricted = true;
  r.in_scope = false;
  r.scope_reason = "out of scope: not registered with a practice of the region";
  r.records = {{"M84001", "G1", "gp"}, {"RKB", "K1", "acute"}};
  ViewDecision view{false, "out of scope: not registered with a practice of the region", 7, 1, "v"};
  const nlohmann::json j = nlohmann::json::parse(ResolutionParametersText(r, view));
  const std::string text = j.dump();
  EXPECT_EQ(text.find("M84001"), std::string::npos) << text;
  EXPECT_NE(text.find("RKB"), std::string::npos) << text;
  EXPECT_EQ(text.find("practice of the region"), std::string::npos) << text;
  EXPECT_NE(text.find("reason withheld: restricted patient"), std::string::npos) << text;
}

}  // namespace
}  // namespace empi::server
