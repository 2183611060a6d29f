// Copyright EMPI developers.
//
// training.h: estimating a Model's parameters from unlabelled records.
//
// As in Splink: u probabilities from pairs of records drawn at random (all
// but a negligible share are non-matches; a level never seen counts half a
// pair, so its weight stays finite). Value-collision estimates are not used
// for exact levels: for an identifier such as the NHS number nearly every
// collision is a true match, so they would cancel the evidence they measure.
// m probabilities by expectation-maximisation
// over the blocked candidate pairs, one session per blocking rule with u
// fixed and the rule's own fields left out (Splink's method, which avoids
// learning "agrees on date of birth" from pairs blocked on date of birth),
// on histograms of comparison patterns so an iteration costs the number of
// distinct patterns, not pairs; probability_two_random_records_match from
// the expected number of matches among the candidates. Term
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
  uint64_t u_pairs = 0;      // random pairs compared for u
  uint64_t em_pairs = 0;     // candidate pairs in the EM histogram
  uint64_t em_patterns = 0;  // distinct comparison patterns
  int em_iterations = 0;     // most iterations of one session
  int em_sessions = 0;       // blocking rules EM ran on
  // Every session's last change in m or lambda was below kEmConvergence
  // (false when no session ran).
  bool em_converged = false;
  double lambda_candidates = 0;  // share of candidate pairs EM calls matches
};

// Fills the frequency tables and the number gaps of `model` from `records`.
void BuildTermFrequencies(const std::vector<PreparedRecord>& records, Model* model);

// Estimates u from random pairs, m and lambda by EM over `candidates`.
// Needs at least two records and one candidate pair.
// `keys[i]` are the blocking keys of records[i] under `rules`: each rule's
// pairs form one EM session.
absl::Status Train(const std::vector<PreparedRecord>& records, const std::vector<CandidatePair>& candidates,
                   const std::vector<BlockKeys>& keys, const BlockingRules& rules, Model* model,
                   TrainingReport* report);

}  // namespace empi

#endif  // EMPI_LINKAGE_TRAINING_H_
