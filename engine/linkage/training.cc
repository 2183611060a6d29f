// Copyright EMPI developers.
#include "engine/linkage/training.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "tbb/combinable.h"
#include "tbb/parallel_for.h"

namespace empi {
namespace {

// splitmix64: a small, fully specified generator, so training is the same
// on every platform for a seed.
uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

using LevelCounts = std::array<std::array<double, 16>, kNumComparisons>;

void EstimateU(const std::vector<PreparedRecord>& records, const ModelSettings& settings, Model* model,
               TrainingReport* report) {
  const uint64_t n = records.size();
  // A hundred pairs per record is plenty for small data sets.
  const uint64_t samples = std::min<uint64_t>(settings.u_sample_pairs, 100 * n);
  constexpr uint64_t kChunk = 1 << 16;
  tbb::combinable<LevelCounts> counts([] { return LevelCounts{}; });
  tbb::parallel_for(uint64_t{0}, (samples + kChunk - 1) / kChunk, [&](uint64_t chunk) {
    uint64_t state = settings.seed * 0x2545F4914F6CDD1DULL + chunk;
    LevelCounts& c = counts.local();
    uint64_t end = std::min(samples, (chunk + 1) * kChunk);
    for (uint64_t s = chunk * kChunk; s < end; ++s) {
      uint64_t i = SplitMix(&state) % n, j = SplitMix(&state) % n;
      if (i == j) continue;
      uint32_t p = ComparePair(records[i], records[j]);
      for (int k = 0; k < kNumComparisons; ++k) c[k][GammaOf(p, k)] += 1;
    }
  });
  LevelCounts total = counts.combine([](const LevelCounts& a, const LevelCounts& b) {
    LevelCounts r = a;
    for (int k = 0; k < kNumComparisons; ++k)
      for (int l = 0; l < 16; ++l) r[k][l] += b[k][l];
    return r;
  });
  report->u_pairs = samples;
  for (int k = 0; k < kNumComparisons; ++k) {
    double nonnull = 0;
    for (size_t l = 1; l < model->u[k].size(); ++l) {
      if (IsTrainedLevel(k, l)) nonnull += total[k][l];
    }
    for (size_t l = 1; l < model->u[k].size(); ++l) {
      if (!IsTrainedLevel(k, l)) continue;
      // Half a count for levels never seen keeps their weight finite.
      model->u[k][l] = nonnull > 0 ? std::max(total[k][l], 0.5) / nonnull : model->u[k][l];
    }
  }
  FillMarginalLevels(&model->u);
}

}  // namespace

void BuildTermFrequencies(const std::vector<PreparedRecord>& records, Model* model) {
  model->family_tf = TermFrequencies();
  model->given_tf = TermFrequencies();
  model->dob_tf = TermFrequencies();
  model->number_gaps = NumberGaps();
  for (const PreparedRecord& r : records) {
    model->number_gaps.Add(r);
    model->family_tf.Add(r.family, 1);
    model->given_tf.Add(r.given1, 1);
    if (EstimatedDate(r.dob)) {
      model->dob_tf.Add(DobFrequencyKey(r.dob), 1);
    } else if (r.dob != 0) {
      model->dob_tf.AddUntracked(1);
    }
  }
}

namespace {

// The comparisons a blocking rule's key is made of: their agreement is
// forced by the block, so a session on that rule's pairs cannot learn them.
std::vector<int> FieldsOfRule(const std::string& name) {
  if (name == "nhs_number") return {comparison::kNhsNumber};
  if (name == "dob_family_phonetic") return {comparison::kDateOfBirth, comparison::kFamilyName};
  if (name == "dob_postcode") return {comparison::kDateOfBirth, comparison::kPostcode};
  if (name == "names_phonetic_birth_year")
    return {comparison::kGivenNames, comparison::kFamilyName, comparison::kDateOfBirth};
  if (name == "names_phonetic_postcode_sector")
    return {comparison::kGivenNames, comparison::kFamilyName, comparison::kPostcode};
  if (name == "dob_given_phonetic") return {comparison::kDateOfBirth, comparison::kGivenNames};
  return {};
}

// Rules keyed on an address and a name block households: relatives sharing
// a surname or a name and an address are a third class, neither the same
// person nor a random pair, which a two-class EM session reads as matches
// (on the generated population, the "date of birth else" weight rose from
// -12.8 to -6.8 bits and a father and son of one name and address merged).
// They find candidates; m is learnt on the other rules' sessions. So does
// address_given_initial, keyed on an address too, and dob_name_initials,
// which reaches only records the other rules cannot: its blocks are mostly
// strangers born the same day.
bool TrainsOn(const std::string& name) {
  return name != "given_phonetic_postcode" && name != "family_phonetic_postcode" &&
         name != "names_phonetic_house_number" && name != "dob_name_initials" && name != "address_given_initial";
}

using Histogram = std::vector<std::pair<uint32_t, double>>;

// log P(pattern | match) - log P(pattern | non-match) over `active`.
double LogRatio(uint32_t p, const std::array<std::vector<double>, kNumComparisons>& m,
                const std::array<std::vector<double>, kNumComparisons>& u, const bool* active) {
  double r = 0;
  for (int k = 0; k < kNumComparisons; ++k) {
    int g = GammaOf(p, k);
    if (g == 0 || !active[k]) continue;
    r += std::log(std::max(m[k][g], 1e-12)) - std::log(std::max(u[k][g], 1e-12));
  }
  return r;
}

}  // namespace

absl::Status Train(const std::vector<PreparedRecord>& records, const std::vector<CandidatePair>& candidates,
                   const std::vector<BlockKeys>& keys, const BlockingRules& rules, Model* model,
                   TrainingReport* report) {
  if (records.size() < 2 || candidates.empty()) {
    return absl::FailedPreconditionError(
        "training needs at least two records and one candidate pair; load more data or import a model");
  }
  const ModelSettings& settings = model->settings();
  BuildTermFrequencies(records, model);
  EstimateU(records, settings, model, report);
  report->em_pairs = candidates.size();
  report->em_converged = true;  // until a session ends above kEmConvergence
  const auto& u = model->u;
  const Model start = Model::Default(settings);

  // One EM session per blocking rule, as in Splink: on the pairs that rule
  // blocks together, u fixed at the random-pair estimate, m learnt for the
  // comparisons the rule does not force to agree. m of each comparison is
  // the average over the sessions that learnt it, weighted by the matches
  // each session found.
  std::array<std::vector<double>, kNumComparisons> m_sum;
  std::array<double, kNumComparisons> m_total{};
  for (int k = 0; k < kNumComparisons; ++k) m_sum[k].assign(u[k].size(), 0);
  // Pattern histograms per blocking rule and overall, in one pass over the
  // candidates, or over every k-th of them when there are more than
  // kMaxTrainingPairs: a few million pairs estimate m and lambda as well as
  // a hundred million, at a fraction of the time.
  constexpr size_t kMaxTrainingPairs = 5'000'000;
  const size_t stride = std::max<size_t>(1, (candidates.size() + kMaxTrainingPairs - 1) / kMaxTrainingPairs);
  std::vector<absl::flat_hash_map<uint32_t, double>> by_rule(rules.rules().size());
  absl::flat_hash_map<uint32_t, double> hist;
  for (size_t i = 0; i < candidates.size(); i += stride) {
    const CandidatePair& c = candidates[i];
    hist[c.pattern] += 1;
    for (size_t r = 0; r < rules.rules().size(); ++r) {
      if (keys[c.a][r] != 0 && keys[c.a][r] == keys[c.b][r]) by_rule[r][c.pattern] += 1;
    }
  }
  for (size_t r = 0; r < rules.rules().size(); ++r) {
    bool active[kNumComparisons];
    for (bool& a : active) a = true;
    for (int k : FieldsOfRule(rules.rules()[r].name)) active[k] = false;
    const absl::flat_hash_map<uint32_t, double>& h = by_rule[r];
    if (h.size() < 2 || !TrainsOn(rules.rules()[r].name)) continue;
    Histogram patterns(h.begin(), h.end());
    std::sort(patterns.begin(), patterns.end());
    auto m = start.m;
    double lambda = 0.3;
    int it = 0;
    bool converged = false;
    double last_change = 1;
    for (; it < settings.em_max_iterations && !converged; ++it) {
      LevelCounts mc{};
      double matches = 0, all = 0;
      for (const auto& [p, cnt] : patterns) {
        double pm = 1 / (1 + std::exp(-(std::log(lambda / (1 - lambda)) + LogRatio(p, m, u, active))));
        for (int k = 0; k < kNumComparisons; ++k) mc[k][GammaOf(p, k)] += cnt * pm;
        matches += cnt * pm;
        all += cnt;
      }
      double change = std::abs(matches / all - lambda);
      lambda = std::clamp(matches / all, 1e-6, 1 - 1e-6);
      for (int k = 0; k < kNumComparisons; ++k) {
        if (!active[k]) continue;
        // Pairs at a marginal level (part of the evidence missing) do not
        // inform the m of the levels it stands for.
        double total = 0, levels = 0;
        for (size_t l = 1; l < m[k].size(); ++l) {
          if (!IsTrainedLevel(k, l)) continue;
          total += mc[k][l];
          levels += 1;
        }
        // Half a pseudo-count per level keeps an unseen level's m finite.
        for (size_t l = 1; l < m[k].size(); ++l) {
          if (!IsTrainedLevel(k, l)) continue;
          double nm = (mc[k][l] + 0.5) / (total + 0.5 * levels);
          change = std::max(change, std::abs(nm - m[k][l]));
          m[k][l] = nm;
        }
      }
      FillMarginalLevels(&m);
      converged = change < settings.em_tolerance;
      last_change = change;
    }
    report->em_iterations = std::max(report->em_iterations, it);
    ++report->em_sessions;
    if (last_change >= kEmConvergence) report->em_converged = false;
    double found = 0;
    for (const auto& [p, cnt] : patterns) found += cnt * lambda;
    for (int k = 0; k < kNumComparisons; ++k) {
      if (!active[k]) continue;
      for (size_t l = 1; l < m[k].size(); ++l) m_sum[k][l] += found * m[k][l];
      m_total[k] += found;
    }
  }
  for (int k = 0; k < kNumComparisons; ++k) {
    if (m_total[k] <= 0) continue;  // never learnt: keep the default
    for (size_t l = 1; l < model->m[k].size(); ++l) model->m[k][l] = m_sum[k][l] / m_total[k];
  }

  // lambda among candidates with m and u fixed, then over all pairs.
  report->em_patterns = hist.size();
  // Summed in pattern order: hash-map order varies between runs and would
  // change lambda's last bits, and the model must be the same for a seed.
  Histogram sorted_hist(hist.begin(), hist.end());
  std::sort(sorted_hist.begin(), sorted_hist.end());
  bool active[kNumComparisons];
  for (bool& a : active) a = true;
  double lambda = 0.3;
  for (int it = 0; it < settings.em_max_iterations; ++it) {
    double matches = 0, all = 0;
    for (const auto& [p, cnt] : sorted_hist) {
      matches += cnt / (1 + std::exp(-(std::log(lambda / (1 - lambda)) + LogRatio(p, model->m, u, active))));
      all += cnt;
    }
    double next = std::clamp(matches / all, 1e-9, 1 - 1e-9);
    bool done = std::abs(next - lambda) < settings.em_tolerance;
    lambda = next;
    if (done) break;
  }
  report->lambda_candidates = lambda;
  if (report->em_sessions == 0) report->em_converged = false;
  double n = static_cast<double>(records.size());
  double expected_matches = lambda * static_cast<double>(candidates.size());
  model->lambda_ = std::clamp(expected_matches / (n * (n - 1) / 2), 1e-12, 0.5);
  model->Refresh();
  return absl::OkStatus();
}

}  // namespace empi
