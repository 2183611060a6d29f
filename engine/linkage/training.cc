// Copyright EMPI developers.
#include "engine/linkage/training.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "tbb/combinable.h"
#include "tbb/parallel_for.h"
#include "xxhash.h"

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

// Chance that two random records (both with a value) share it.
template <typename Get>
double Collision(const std::vector<PreparedRecord>& records, Get get) {
  absl::flat_hash_map<uint64_t, uint64_t> counts;
  uint64_t total = 0;
  for (const PreparedRecord& r : records) {
    uint64_t h = get(r);
    if (h == 0) continue;
    ++counts[h];
    ++total;
  }
  if (total < 2) return 0;
  double sum = 0;
  for (const auto& [h, c] : counts) sum += static_cast<double>(c) * static_cast<double>(c - 1);
  return sum / (static_cast<double>(total) * static_cast<double>(total - 1));
}

uint64_t HashStr(const std::string& s) { return s.empty() ? 0 : XXH3_64bits(s.data(), s.size()) | 1; }

void EstimateU(const std::vector<PreparedRecord>& records, const ModelSettings& settings, Model* model,
               TrainingReport* report) {
  const uint64_t n = records.size();
  const uint64_t samples = settings.u_sample_pairs;
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
    for (size_t l = 1; l < model->u[k].size(); ++l) nonnull += total[k][l];
    for (size_t l = 1; l < model->u[k].size(); ++l) {
      // Half a count for levels never seen keeps their weight finite.
      model->u[k][l] = nonnull > 0 ? std::max(total[k][l], 0.5) / nonnull : model->u[k][l];
    }
  }
  double exact[kNumComparisons] = {
      Collision(records, [](const PreparedRecord& r) { return r.nhs; }),
      Collision(records, [](const PreparedRecord& r) { return HashStr(r.family); }),
      Collision(records, [](const PreparedRecord& r) { return HashStr(r.given1); }),
      Collision(records, [](const PreparedRecord& r) { return static_cast<uint64_t>(r.dob); }),
      Collision(records, [](const PreparedRecord& r) { return HashStr(r.postcode_unit); }),
      0,
      Collision(records, [](const PreparedRecord& r) { return HashStr(r.address); }),
  };
  for (int k = 0; k < kNumComparisons; ++k) {
    if (k == kSex || exact[k] <= 0) continue;
    model->u[k][1] = exact[k];
  }
}

}  // namespace

void BuildTermFrequencies(const std::vector<PreparedRecord>& records, Model* model) {
  model->family_tf = TermFrequencies();
  model->given_tf = TermFrequencies();
  for (const PreparedRecord& r : records) {
    model->family_tf.Add(r.family, 1);
    model->given_tf.Add(r.given1, 1);
  }
}

absl::Status Train(const std::vector<PreparedRecord>& records,
                   const std::vector<CandidatePair>& candidates, Model* model,
                   TrainingReport* report) {
  if (records.size() < 2 || candidates.empty()) {
    return absl::FailedPreconditionError(
        "training needs at least two records and one candidate pair; load more data or import a model");
  }
  const ModelSettings& settings = model->settings();
  BuildTermFrequencies(records, model);
  EstimateU(records, settings, model, report);

  absl::flat_hash_map<uint32_t, double> histogram;
  for (const CandidatePair& p : candidates) histogram[p.pattern] += 1;
  std::vector<std::pair<uint32_t, double>> patterns(histogram.begin(), histogram.end());
  std::sort(patterns.begin(), patterns.end());
  report->em_pairs = candidates.size();
  report->em_patterns = patterns.size();

  // Start: m peaked on agreement (Model::Default), u of the candidate pairs
  // from their marginal distribution, a tenth of candidates matching.
  Model start = Model::Default(settings);
  auto m = start.m;
  auto u = start.u;
  for (int k = 0; k < kNumComparisons; ++k) {
    double nonnull = 0;
    std::vector<double> c(u[k].size(), 0);
    for (const auto& [p, cnt] : patterns) {
      int g = GammaOf(p, k);
      if (g != 0) {
        c[g] += cnt;
        nonnull += cnt;
      }
    }
    for (size_t l = 1; l < u[k].size(); ++l) u[k][l] = nonnull > 0 ? (c[l] + 0.5) / (nonnull + 0.5 * u[k].size()) : u[k][l];
  }
  double lambda = 0.1;
  const bool use_address = settings.compare_address;
  int it = 0;
  for (; it < settings.em_max_iterations; ++it) {
    LevelCounts mc{}, uc{};
    double match_total = 0, all = 0;
    for (const auto& [p, cnt] : patterns) {
      double lm = std::log(lambda), lu = std::log(1 - lambda);
      for (int k = 0; k < kNumComparisons; ++k) {
        int g = GammaOf(p, k);
        if (g == 0 || (k == kAddress && !use_address)) continue;
        lm += std::log(std::max(m[k][g], 1e-12));
        lu += std::log(std::max(u[k][g], 1e-12));
      }
      double pm = 1 / (1 + std::exp(lu - lm));
      for (int k = 0; k < kNumComparisons; ++k) {
        int g = GammaOf(p, k);
        mc[k][g] += cnt * pm;
        uc[k][g] += cnt * (1 - pm);
      }
      match_total += cnt * pm;
      all += cnt;
    }
    double change = std::abs(match_total / all - lambda);
    lambda = std::clamp(match_total / all, 1e-9, 1 - 1e-9);
    for (int k = 0; k < kNumComparisons; ++k) {
      double msum = 0, usum = 0;
      for (size_t l = 1; l < m[k].size(); ++l) {
        msum += mc[k][l];
        usum += uc[k][l];
      }
      for (size_t l = 1; l < m[k].size(); ++l) {
        double nm = msum > 0 ? std::max(mc[k][l] / msum, 1e-9) : m[k][l];
        double nu = usum > 0 ? std::max(uc[k][l] / usum, 1e-9) : u[k][l];
        change = std::max({change, std::abs(nm - m[k][l]), std::abs(nu - u[k][l])});
        m[k][l] = nm;
        u[k][l] = nu;
      }
    }
    if (change < settings.em_tolerance) {
      report->em_converged = true;
      ++it;
      break;
    }
  }
  report->em_iterations = it;
  report->lambda_candidates = lambda;

  model->m = m;
  double n = static_cast<double>(records.size());
  double expected_matches = lambda * static_cast<double>(candidates.size());
  model->lambda_ = std::clamp(expected_matches / (n * (n - 1) / 2), 1e-12, 0.5);
  model->Refresh();
  return absl::OkStatus();
}

}  // namespace empi
