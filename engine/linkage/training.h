// Copyright EMPI developers.
//
// training.h: estimating a Model's parameters from unlabelled records.
//
// As in Splink: u probabilities from pairs of records drawn at random (all
// but a negligible share are non-matches), with the u of each exact level
// taken from the value distribution (the chance two random records share a
// value, sum of squared frequencies) because exact agreement is too rare to
// count reliably in a sample; m probabilities by expectation-maximisation
// over the blocked candidate pairs (Winkler 1988: both classes estimated, on
// a histogram of comparison patterns, so each iteration costs the number of
// distinct patterns, not pairs); probability_two_random_records_match from
// the expected number of matches EM finds among the candidates. Term
// frequency tables from the records. Deterministic for ModelSettings::seed.
//
// Thread-safety: Train uses the TBB pool; call it from one thread.
#ifndef EMPI_LINKAGE_TRAINING_H_
#define EMPI_LINKAGE_TRAINING_H_

#include <vector>

#include "absl/status/status.h"
#include "engine/linkage/blocking.h"
#include "engine/linkage/model.h"

namespace empi {

struct TrainingReport {
  uint64_t u_pairs = 0;         // random pairs compared for u
  uint64_t em_pairs = 0;        // candidate pairs in the EM histogram
  uint64_t em_patterns = 0;     // distinct comparison patterns
  int em_iterations = 0;
  bool em_converged = false;
  double lambda_candidates = 0; // share of candidate pairs EM calls matches
};

// Fills the frequency tables of `model` from `records`.
void BuildTermFrequencies(const std::vector<PreparedRecord>& records, Model* model);

// Estimates u from random pairs, m and lambda by EM over `candidates`.
// Needs at least two records and one candidate pair.
absl::Status Train(const std::vector<PreparedRecord>& records,
                   const std::vector<CandidatePair>& candidates, Model* model,
                   TrainingReport* report);

}  // namespace empi

#endif  // EMPI_LINKAGE_TRAINING_H_
