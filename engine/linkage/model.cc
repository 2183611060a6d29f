// Copyright EMPI developers.
#include "engine/linkage/model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace empi {
namespace {

constexpr double kMinProbability = 1e-9;

double Clamp(double p) { return std::clamp(p, kMinProbability, 1.0 - 1e-9); }

// The integer at `key` of object `j`, or `fallback` when absent. Checked
// here because json::get<integer>() casts a float without a range check
// (undefined behaviour for 1e10 into an int) and wraps a negative integer
// into an unsigned one. Throws json::type_error, as the other accessors
// do, for a value that is not an integer of T's range.
template <typename T>
T IntegerOr(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.is_object()) {
    throw nlohmann::json::type_error::create(306, absl::StrCat("\"", key, "\": not in an object"), &j);
  }
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  bool fits = false;
  if (it->is_number_unsigned()) {
    fits = it->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else if (it->is_number_integer()) {
    const int64_t v = it->get<int64_t>();
    fits = v >= 0 ? static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                  : std::numeric_limits<T>::is_signed && v >= static_cast<int64_t>(std::numeric_limits<T>::min());
  }
  if (!fits) {
    throw nlohmann::json::type_error::create(
        302,
        absl::StrCat("\"", key, "\": must be an integer from ", std::numeric_limits<T>::min(), " to ",
                     std::numeric_limits<T>::max()),
        &*it);
  }
  return it->get<T>();
}

}  // namespace

void TermFrequencies::Add(std::string_view value, uint64_t count) {
  if (value.empty()) return;
  counts_[std::string(value)] += count;
  total_ += count;
}

uint64_t TermFrequencies::Count(std::string_view value) const {
  auto it = counts_.find(absl::string_view(value.data(), value.size()));
  return it == counts_.end() ? 0 : it->second;
}

float TermFrequencies::Share(uint64_t count) const {
  if (total_ == 0) return 0;
  return static_cast<float>(static_cast<double>(count) / static_cast<double>(total_));
}

float TermFrequencies::Frequency(std::string_view value) const { return Share(std::max<uint64_t>(Count(value), 1)); }

float TermFrequencies::FrequencyBesidesPair(std::string_view value) const {
  const uint64_t c = Count(value);
  return Share(c < 3 ? 1 : c - 2);
}

nlohmann::json TermFrequencies::ToJson() const {
  nlohmann::json values = nlohmann::json::object();
  std::vector<std::pair<std::string, uint64_t>> sorted(counts_.begin(), counts_.end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [v, c] : sorted) {
    if (c >= 2) values[v] = c;
  }
  return {{"total", total_}, {"counts", values}};
}

TermFrequencies TermFrequencies::FromJson(const nlohmann::json& j) {
  TermFrequencies tf;
  tf.total_ = IntegerOr<uint64_t>(j, "total", 0);
  if (j.contains("counts")) {
    for (const auto& [k, v] : j["counts"].items()) tf.counts_[k] = IntegerOr<uint64_t>(j["counts"], k.c_str(), 0);
  }
  return tf;
}

void NumberGaps::Add(const PreparedRecord& r) {
  Counts& c = by_source_[r.source];
  c.unnumbered += r.Unnumbered() ? 1 : 0;
  ++c.records;
}

NumberGaps::Counts NumberGaps::Of(uint32_t source) const {
  auto it = by_source_.find(source);
  return it == by_source_.end() ? Counts{} : it->second;
}

nlohmann::json NumberGaps::ToJson() const {
  std::vector<std::pair<uint32_t, Counts>> sorted(by_source_.begin(), by_source_.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [source, c] : sorted) {
    out[absl::StrCat(source)] = {{"records", c.records}, {"without_nhs_number", c.unnumbered}};
  }
  return out;
}

NumberGaps NumberGaps::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) {
    throw nlohmann::json::type_error::create(302, "\"contributors_without_nhs_number\": must be an object", &j);
  }
  NumberGaps gaps;
  for (const auto& [k, v] : j.items()) {
    uint32_t source = 0;
    if (!absl::SimpleAtoi(k, &source)) {
      throw nlohmann::json::type_error::create(
          302, absl::StrCat("\"contributors_without_nhs_number\": key \"", k, "\" is not a contributor hash"), &j);
    }
    const Counts c{IntegerOr<uint64_t>(v, "without_nhs_number", 0), IntegerOr<uint64_t>(v, "records", 0)};
    if (c.unnumbered > c.records) {
      throw nlohmann::json::type_error::create(302,
                                               absl::StrCat("\"contributors_without_nhs_number\": \"", k,
                                                            "\" has more records without a number than records"),
                                               &v);
    }
    gaps.by_source_[source] = c;
  }
  return gaps;
}

bool IsTrainedLevel(int c, size_t l) {
  const ComparisonLevel& level = Comparisons()[c].levels[l];
  return !level.is_null && level.marginal_of == 0;
}

void FillMarginalLevels(LevelProbabilities* p) {
  for (int c = 0; c < kNumComparisons; ++c) {
    const auto& levels = Comparisons()[c].levels;
    for (size_t l = 0; l < levels.size(); ++l) {
      if (levels[l].marginal_of == 0) continue;
      double sum = 0;
      for (int k = 1; k <= levels[l].marginal_of; ++k) sum += (*p)[c][k];
      (*p)[c][l] = sum;
    }
  }
}

Model Model::Default(const ModelSettings& settings) {
  Model model;
  model.settings_ = settings;
  const auto& comps = Comparisons();
  for (int c = 0; c < kNumComparisons; ++c) {
    size_t n = comps[c].levels.size();
    model.m[c].assign(n, 0);
    model.u[c].assign(n, 0);
    // m falls geometrically from the exact level; u rises towards "else".
    double msum = 0, usum = 0;
    for (size_t l = 1; l < n; ++l) {
      if (!IsTrainedLevel(c, l)) continue;
      model.m[c][l] = std::pow(0.2, static_cast<double>(l - 1));
      model.u[c][l] = std::pow(4.0, static_cast<double>(l - 1));
      msum += model.m[c][l];
      usum += model.u[c][l];
    }
    for (size_t l = 1; l < n; ++l) {
      if (!IsTrainedLevel(c, l)) continue;
      model.m[c][l] /= msum;
      model.u[c][l] /= usum;
    }
    model.m[c][0] = model.u[c][0] = 1;
  }
  model.lambda_ = 1e-6;
  model.Refresh();
  return model;
}

Model Model::Informed(const ModelSettings& settings) {
  // Per comparison, m and u of levels 1.. (docs/comparisons order); the last
  // trained level ("different", "else") takes what the others leave. The
  // figures and their sources are in docs/matching.md.
  struct Prior {
    std::vector<double> m, u;
  };
  static const std::array<Prior, kNumComparisons> kPriors = {{
      // nhs_number: exact, one digit or transposition, different
      {{0.97, 0.01}, {1e-7, 1e-6}},
      // family_name: exact, multi-part, swapped, jw 0.92, is the other's
      // given name, metaphone, jw 0.80, else
      {{0.90, 0.01, 0.003, 0.03, 0.001, 0.01, 0.016}, {0.005, 0.0005, 0.0001, 0.002, 0.0002, 0.004, 0.02}},
      // given_names: first exact, nickname, swapped, first and middle
      // swapped, jw 0.92, metaphone, initial, jw 0.80, else
      {{0.86, 0.03, 0.003, 0.01, 0.03, 0.01, 0.02, 0.007}, {0.01, 0.002, 0.0001, 0.0005, 0.003, 0.005, 0.04, 0.02}},
      // date_of_birth: exact, day and month swapped, one digit or
      // transposition, year one apart, else
      {{0.95, 0.005, 0.02, 0.005}, {4e-5, 1e-5, 1e-3, 8e-5}},
      // postcode: same address, unit and address similar, unit, address
      // similar in the district, one character, sector, district, area,
      // else
      {{0.60, 0.05, 0.08, 0.02, 0.02, 0.05, 0.05, 0.03}, {3e-6, 1e-6, 4e-5, 1e-5, 1e-4, 5e-3, 0.03, 0.2}},
      // sex: equal, different
      {{0.99}, {0.5}},
  }};
  Model model = Default(settings);
  for (int c = 0; c < kNumComparisons; ++c) {
    std::vector<size_t> trained;
    for (size_t l = 1; l < model.m[c].size(); ++l) {
      if (IsTrainedLevel(c, l)) trained.push_back(l);
    }
    const Prior& prior = kPriors[c];
    double m_rest = 1, u_rest = 1;
    for (size_t i = 0; i + 1 < trained.size(); ++i) {
      model.m[c][trained[i]] = prior.m[i];
      model.u[c][trained[i]] = prior.u[i];
      m_rest -= prior.m[i];
      u_rest -= prior.u[i];
    }
    model.m[c][trained.back()] = m_rest;
    model.u[c][trained.back()] = u_rest;
  }
  // About three records per person in a regional store of a million.
  model.lambda_ = 3e-6;
  model.provenance.origin = "default";
  model.Refresh();
  return model;
}

void Model::Refresh() {
  FillMarginalLevels(&m);
  FillMarginalLevels(&u);
  prior_weight_ = std::log2(lambda_ / (1 - lambda_));
  for (int c = 0; c < kNumComparisons; ++c) {
    level_weight_[c].fill(0);
    for (size_t l = 1; l < m[c].size(); ++l) {
      level_weight_[c][l] = std::log2(Clamp(m[c][l]) / Clamp(u[c][l]));
    }
  }
}

double Model::Probability(double weight) {
  double bf = std::exp2(weight);
  return std::isinf(bf) ? 1.0 : bf / (1 + bf);
}

double Model::WeightOf(double probability) {
  probability = Clamp(probability);
  return std::log2(probability / (1 - probability));
}

std::string DobFrequencyKey(int32_t yyyymmdd) { return std::to_string(yyyymmdd); }

double Model::ContestFloor(const PreparedRecord& r, bool best_names_overridden) const {
  return r.HouseholdEvidenceOnly() || best_names_overridden ? review_weight() : link_weight();
}

double Model::FrequencyAdjustment(int c, int g, const PreparedRecord& a, const PreparedRecord& b) const {
  static_assert(kNameExact == kDobExact && kFamilySwapped == kGivenSwapped);
  const bool names = c == comparison::kFamilyName || c == comparison::kGivenNames;
  if (names && g == kFamilySwapped) return SwapAdjustment(c, a, b);
  if (!settings_.term_frequency_adjustments || g != kNameExact) return 0;
  const float tf = c == comparison::kFamilyName    ? a.family_tf
                   : c == comparison::kGivenNames  ? a.given_tf
                   : c == comparison::kDateOfBirth ? a.dob_tf
                                                   : 0;
  if (tf <= 0) return 0;
  // Exact agreement: u of the level replaced by the agreed value's frequency.
  const double bits = std::log2(Clamp(u[c][g]) / tf);
  // An estimated date (1 January or 1 July of a guessed year) agreeing is
  // weaker where estimates of that year are common, never stronger than a
  // date agreeing: two guesses of one age are not one birthday.
  return c == comparison::kDateOfBirth ? std::min(bits, 0.0) : bits;
}

double Model::SwapAdjustment(int c, const PreparedRecord& a, const PreparedRecord& b) const {
  // One swap sets both name comparisons to "swapped", and a trained
  // model's level weight counts it in each: about 12 bits twice, more than
  // the two names agreeing in place (a swapped James Williams outweighed a
  // date of birth). A swap is the same two names in other fields, so it
  // weighs no more than the names agreeing in place, at the frequency of
  // the commoner of the two in that field; with a keying slip (which makes
  // a common name look rare), no more than the average agreement.
  double in_place = level_weight_[c][kNameExact];
  const float tf = c == comparison::kFamilyName ? std::max(a.swap_family_tf, b.swap_family_tf)
                                                : std::max(a.swap_given_tf, b.swap_given_tf);
  if (settings_.term_frequency_adjustments && tf > 0) {
    const double rarity = std::log2(Clamp(u[c][kNameExact]) / tf);
    const bool exact = a.family == b.given1 && a.given1 == b.family;
    in_place += exact ? rarity : std::min(0.0, rarity);
  }
  return std::min(0.0, in_place - level_weight_[c][kFamilySwapped]);
}

double Model::Weight(uint32_t pattern, const PreparedRecord& a, const PreparedRecord& b) const {
  double w = prior_weight_;
  for (int c = 0; c < kNumComparisons; ++c) {
    const int g = GammaOf(pattern, c);
    w += level_weight_[c][g] + FrequencyAdjustment(c, g, a, b);
  }
  return w;
}

std::string UntrustedReason(const ModelProvenance& p) {
  if (p.origin == "default") return "not trained (the informed default priors)";
  if (p.origin != "trained") return "";
  if (p.candidate_pairs < kMinTrainingPairs) {
    return absl::StrCat("trained on ", p.candidate_pairs, " candidate pairs (fewer than ", kMinTrainingPairs, ")");
  }
  if (p.estimated_matches < kMinEstimatedMatches) {
    // Clamped: an imported model may say anything, and a negative double
    // cast to an unsigned integer is undefined. (NaN is not below the
    // minimum, so never gets here.)
    return absl::StrCat("trained on ", static_cast<uint64_t>(std::max(0.0, p.estimated_matches)),
                        " estimated matches (fewer than ", kMinEstimatedMatches, ")");
  }
  if (!p.em_converged) return absl::StrCat("EM did not converge in ", p.em_iterations, " iterations");
  return "";
}

namespace {
nlohmann::json ProvenanceJson(const ModelProvenance& p) {
  return {{"origin", p.origin},
          {"records", p.records},
          {"candidate_pairs", p.candidate_pairs},
          {"em_iterations", p.em_iterations},
          {"em_converged", p.em_converged},
          {"estimated_matches", p.estimated_matches},
          {"probability_two_random_records_match", p.lambda},
          {"trained_at", p.trained_at},
          {"trusted", UntrustedReason(p).empty()},
          {"untrusted_reason", UntrustedReason(p)}};
}

ModelProvenance ProvenanceFromJson(const nlohmann::json& j) {
  ModelProvenance p;
  p.origin = j.value("origin", std::string());
  p.records = IntegerOr<uint64_t>(j, "records", 0);
  p.candidate_pairs = IntegerOr<uint64_t>(j, "candidate_pairs", 0);
  p.em_iterations = IntegerOr<int>(j, "em_iterations", 0);
  p.em_converged = j.value("em_converged", false);
  p.estimated_matches = j.value("estimated_matches", 0.0);
  p.lambda = j.value("probability_two_random_records_match", 0.0);
  p.trained_at = j.value("trained_at", std::string());
  return p;
}
}  // namespace

double Model::Capped(double w, PairSafety safety) const {
  // A margin below each threshold, so that rounding in an export or a
  // comparison never lifts a capped pair back over it.
  constexpr double kMarginBits = 0.5;
  switch (safety) {
    case PairSafety::kSafe: return w;
    case PairSafety::kReview: return std::min(w, link_weight() - kMarginBits);
    case PairSafety::kDistinct: return std::min(w, review_weight() - kMarginBits);
  }
  return w;
}

Explanation Model::Explain(const PreparedRecord& a, const PreparedRecord& b, bool withhold_location) const {
  Explanation e;
  e.prior_weight = prior_weight_;
  e.total = Score(a, b);
  e.uncapped_weight = Weight(e.total.pattern, a, b);
  for (int c = 0; c < kNumComparisons; ++c) {
    if (withhold_location && RevealsLocation(c)) {
      e.comparisons.push_back({c, -1, 0, 0, 0, false, /*withheld=*/true});
      continue;
    }
    int g = GammaOf(e.total.pattern, c);
    ComparisonWeight cw{c, g, m[c][g], u[c][g], level_weight_[c][g], false};
    if (const double bits = FrequencyAdjustment(c, g, a, b); bits != 0) {
      cw.match_weight += bits;
      cw.u = Clamp(m[c][g]) / std::exp2(cw.match_weight);
      cw.tf_adjusted = true;
    }
    e.comparisons.push_back(cw);
  }
  return e;
}

void Model::Annotate(PreparedRecord* r) const {
  r->family_tf = r->family.empty() ? 0 : family_tf.Frequency(r->family);
  r->given_tf = r->given1.empty() ? 0 : given_tf.Frequency(r->given1);
  r->swap_family_tf = r->swap_given_tf = 0;
  if (!r->family.empty() && !r->given1.empty()) {
    const float family_as_given = given_tf.Frequency(r->family), given_as_family = family_tf.Frequency(r->given1);
    r->swap_family_tf = std::max(r->family_tf, given_as_family);
    r->swap_given_tf = std::max(r->given_tf, family_as_given);
    // Entered swapped ("Samuel" as the family name, "Smith" as the given):
    // agreeing with another record entered alike is no rarer than the names
    // in their usual fields.
    if (family_as_given * given_as_family > r->family_tf * r->given_tf) {
      r->family_tf = std::max(r->family_tf, family_as_given);
      r->given_tf = std::max(r->given_tf, given_as_family);
    }
  }
  r->dob_tf = EstimatedDate(r->dob) ? dob_tf.FrequencyBesidesPair(DobFrequencyKey(r->dob)) : 0;
}

nlohmann::json Model::ToJson() const {
  nlohmann::json comps = nlohmann::json::array();
  for (int c = 0; c < kNumComparisons; ++c) {
    const Comparison& spec = Comparisons()[c];
    nlohmann::json levels = nlohmann::json::array();
    for (size_t l = 0; l < spec.levels.size(); ++l) {
      nlohmann::json level = {{"label_for_charts", spec.levels[l].label}, {"comparison_vector_value", l}};
      if (spec.levels[l].is_null) {
        level["is_null_level"] = true;
      } else {
        // Not read back: recomputed from the levels it stands for.
        if (spec.levels[l].marginal_of > 0) level["marginal_of_levels_1_to"] = spec.levels[l].marginal_of;
        level["m_probability"] = m[c][l];
        level["u_probability"] = u[c][l];
        if (spec.levels[l].term_frequency_adjustment) level["tf_adjustment_column"] = spec.name;
      }
      levels.push_back(level);
    }
    comps.push_back({{"output_column_name", spec.name}, {"comparison_levels", levels}});
  }
  return {
      {"format", "empi-model"},
      {"format_version", 1},
      {"link_type", "dedupe_only"},
      {"probability_two_random_records_match", lambda_},
      {"link_threshold", settings_.link_threshold},
      {"review_threshold", settings_.review_threshold},
      {"term_frequency_adjustments", settings_.term_frequency_adjustments},
      {"seed", settings_.seed},
      {"comparisons", comps},
      {"term_frequencies",
       {{"family_name", family_tf.ToJson()}, {"given_names", given_tf.ToJson()}, {"date_of_birth", dob_tf.ToJson()}}},
      {"contributors_without_nhs_number", number_gaps.ToJson()},
      {"provenance", ProvenanceJson(provenance)},
  };
}

absl::StatusOr<Model> Model::FromJson(const nlohmann::json& j) {
  try {
    if (j.value("format", std::string()) != "empi-model") {
      return absl::InvalidArgumentError("model JSON: \"format\" is not \"empi-model\"");
    }
    ModelSettings s;
    s.link_threshold = j.at("link_threshold").get<double>();
    s.review_threshold = j.at("review_threshold").get<double>();
    s.term_frequency_adjustments = j.value("term_frequency_adjustments", true);
    s.seed = IntegerOr<uint64_t>(j, "seed", 42);
    if (!(s.review_threshold > 0 && s.review_threshold <= s.link_threshold && s.link_threshold < 1)) {
      return absl::InvalidArgumentError("model JSON: need 0 < review_threshold <= link_threshold < 1");
    }
    Model model = Default(s);
    model.lambda_ = j.at("probability_two_random_records_match").get<double>();
    if (!(model.lambda_ > 0 && model.lambda_ < 1)) {
      return absl::InvalidArgumentError("model JSON: probability_two_random_records_match must be in (0, 1)");
    }
    const auto& comps = j.at("comparisons");
    for (const auto& comp : comps) {
      std::string name = comp.at("output_column_name").get<std::string>();
      int c = -1;
      for (int i = 0; i < kNumComparisons; ++i) {
        if (Comparisons()[i].name == name) c = i;
      }
      if (c < 0) return absl::InvalidArgumentError(absl::StrCat("model JSON: unknown comparison \"", name, "\""));
      const auto& levels = comp.at("comparison_levels");
      // Marginal levels come last and are derived, so a model written before
      // one was added still reads.
      const auto& spec = Comparisons()[c].levels;
      size_t trained = spec.size();
      while (trained > 0 && spec[trained - 1].marginal_of > 0) --trained;
      if (levels.size() != spec.size() && levels.size() != trained) {
        return absl::InvalidArgumentError(absl::StrCat("model JSON: comparison \"", name, "\" has ", levels.size(),
                                                       " levels, expected ", spec.size()));
      }
      for (size_t l = 1; l < trained; ++l) {
        model.m[c][l] = levels[l].at("m_probability").get<double>();
        model.u[c][l] = levels[l].at("u_probability").get<double>();
      }
    }
    if (j.contains("term_frequencies")) {
      model.family_tf = TermFrequencies::FromJson(j["term_frequencies"].value("family_name", nlohmann::json::object()));
      model.given_tf = TermFrequencies::FromJson(j["term_frequencies"].value("given_names", nlohmann::json::object()));
      model.dob_tf = TermFrequencies::FromJson(j["term_frequencies"].value("date_of_birth", nlohmann::json::object()));
    }
    if (j.contains("contributors_without_nhs_number")) {
      model.number_gaps = NumberGaps::FromJson(j["contributors_without_nhs_number"]);
    }
    if (j.contains("provenance")) model.provenance = ProvenanceFromJson(j["provenance"]);
    model.Refresh();
    return model;
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("model JSON: ", e.what()));
  }
}

}  // namespace empi
