// Copyright EMPI developers.
//
// evaluate.h: how good a clustering of records into persons is, measured
// against the true persons.
//
// Truth comes from the generator's truth.csv (source,record_id,person) or a
// FEBRL true-links file (pairs of record ids, joined into persons by
// union-find). Predictions are streamed into an Evaluator one record at a
// time, from a clusters CSV (source,record_id,person_id,...) or the RocksDB
// store. Pairwise figures come from the contingency table of true person x
// predicted person (TP = sum of C(n_ij, 2)), never by listing pairs, so ten
// million records take seconds. docs/evaluation.md defines every figure.
//
//   EMPI_ASSIGN_OR_RETURN(Truth truth, LoadTruth("truth.csv"));
//   Evaluator evaluator(truth, /*hard_cases=*/nullptr);
//   EMPI_RETURN_IF_ERROR(ReadClustersFile("clusters.csv", &evaluator));
//   Evaluation result = evaluator.Finish();
//   std::cout << FormatEvaluation(result);
//
// Thread-safety: Truth and HardCases are immutable once loaded and may be
// shared; an Evaluator is used by one thread at a time.
#ifndef EMPI_ENGINE_EVAL_EVALUATE_H_
#define EMPI_ENGINE_EVAL_EVALUATE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/eval/interner.h"
#include "nlohmann/json.hpp"

namespace empi::eval {

// One record's cluster: the person (true or predicted) it belongs to.
struct Assignment {
  std::string source;
  std::string record_id;
  std::string cluster;
};

struct Truth {
  enum class Kind { kRecords, kPairs };
  Kind kind = Kind::kRecords;
  // False for pair truth without sources: records are matched on record_id
  // alone, and a record_id seen under two sources is an error.
  bool keyed_by_source = true;
  std::string path;  // for messages; empty if built in memory
  Interner records;  // record key (source \0 record_id, or record_id) -> index
  std::vector<uint32_t> person_of_record;
  Interner persons;  // person label -> index (pair truth: a member's key)
};

struct TruthOptions {
  // For pair truth: the sources of the first and second column. Both empty
  // (the default) matches records by record_id alone.
  std::string source_a;
  std::string source_b;
};

// Loads truth from `path`, recognised by its header: `source,record_id,person`
// (further columns ignored) or `rec_id_a,rec_id_b` / `rec_id_1,rec_id_2`.
// Returns NotFound if the file is missing, InvalidArgument naming file and
// line for an unknown header, a short row, an empty id or a record listed
// twice with different persons.
absl::StatusOr<Truth> LoadTruth(const std::string& path, const TruthOptions& options = {});

// Truth from memory (tests, tools). InvalidArgument on a repeated record.
absl::StatusOr<Truth> TruthFromAssignments(absl::Span<const Assignment> assignments);

// Hard cases: which true persons are hard, and how (twin, junk, ...).
struct HardCases {
  std::vector<std::string> case_names;  // in order of first appearance
  // person index in Truth -> bit i set if the person has case_names[i]
  std::vector<std::pair<uint32_t, uint64_t>> person_cases;
};

// Loads `person,hard_case` rows. InvalidArgument naming file and line for a
// bad header, a person absent from truth, pair truth (which has no persons)
// or more than 64 case types; NotFound if the file is missing.
absl::StatusOr<HardCases> LoadHardCases(const std::string& path, const Truth& truth);

// Figures for the persons that have one hard case.
struct HardCaseFigures {
  int64_t persons = 0;               // true persons with the case
  int64_t records = 0;               // their records
  uint64_t true_pairs = 0;           // pairs of records within those persons
  uint64_t true_positive_pairs = 0;  // of which predicted together
  double recall = 1;
  int64_t touching_clusters = 0;  // predicted persons holding any of their records
  uint64_t touching_predicted_pairs = 0;
  uint64_t touching_true_positive_pairs = 0;
  double precision = 1;      // pairwise precision of touching clusters
  int64_t false_merges = 0;  // false merges holding any of their records
  int64_t false_merge_records = 0;
  int64_t split_persons = 0;
};

struct Evaluation {
  int64_t records = 0;  // records evaluated
  int64_t true_persons = 0;
  int64_t predicted_persons = 0;  // distinct person ids over evaluated records
  uint64_t true_positive_pairs = 0;
  uint64_t predicted_pairs = 0;
  uint64_t true_pairs = 0;
  double precision = 1;  // 1 when there are no predicted pairs
  double recall = 1;     // 1 when there are no true pairs
  double f1 = 0;
  int64_t false_merges = 0;         // predicted persons holding > 1 true person
  int64_t false_merge_records = 0;  // records in those
  double false_merges_per_10k_persons = 0;
  int64_t split_persons = 0;  // true persons over > 1 predicted person
  double bcubed_precision = 1;
  double bcubed_recall = 1;
  // Truth records absent from the predictions; each scored as a singleton.
  int64_t missing_records = 0;
  std::vector<std::string> missing_examples;  // "source/record_id", capped
  // Predicted records absent from the truth. With truth.csv they are errors,
  // left out of every figure; with pair truth they are true singletons.
  int64_t extra_records = 0;
  bool extra_records_are_errors = true;
  std::vector<std::string> extra_examples;
  std::vector<std::pair<std::string, HardCaseFigures>> hard_cases;
};

// Accumulates predictions for one truth and computes the figures.
class Evaluator {
 public:
  // `truth` and `hard_cases` (may be null) must outlive the Evaluator.
  // At most `max_listed` missing and extra records are named.
  Evaluator(const Truth& truth, const HardCases* hard_cases, size_t max_listed = 20);

  // Records that (source, record_id) was put in predicted person `cluster`.
  // Returns InvalidArgument (without a location: the caller adds file and
  // line) for an empty record_id or cluster, a record given twice, or, when
  // truth has no sources, one record_id under two sources.
  [[nodiscard]] absl::Status Add(std::string_view source, std::string_view record_id, std::string_view cluster);

  // Optional: a hint that Add(source, record_id, ...) follows soon. Calling
  // it for a batch of rows before adding them overlaps their memory fetches.
  void Prefetch(std::string_view source, std::string_view record_id);

  // Computes the figures. Call once.
  Evaluation Finish();

 private:
  const Truth& truth_;
  const HardCases* hard_cases_;
  size_t max_listed_;
  std::string key_;  // scratch
  Interner clusters_;
  std::string last_cluster_;  // the cluster of the previous Add
  uint32_t last_cluster_id_ = 0;
  Interner sources_;                         // used when truth is not keyed by source
  std::vector<uint32_t> cluster_of_record_;  // per truth record, or kNotFound
  std::vector<uint32_t> source_of_record_;   // per truth record, when unkeyed
  Interner extras_;                          // keys of records absent from truth
  std::vector<uint32_t> cluster_of_extra_;
  std::vector<uint32_t> source_of_extra_;
};

// Evaluates in-memory predictions (tests, small tools).
absl::StatusOr<Evaluation> Evaluate(const Truth& truth, absl::Span<const Assignment> predictions,
                                    const HardCases* hard_cases);

// Streams a clusters CSV whose header starts `source,record_id,person_id`
// (or cluster_id; further columns are ignored) into *evaluator. Errors name
// file and line; NotFound if the file is missing.
absl::Status ReadClustersFile(const std::string& path, Evaluator* evaluator);

// Streams every record of the store in `dir` (opened read-only) into
// *evaluator. NotFound if `dir` does not exist; DataLoss for a record that
// does not decode.
absl::Status ReadStore(const std::string& dir, Evaluator* evaluator);

// A readable table of the figures.
std::string FormatEvaluation(const Evaluation& e);

// The figures as JSON, keys as in docs/evaluation.md.
nlohmann::json ToJson(const Evaluation& e);

}  // namespace empi::eval

#endif  // EMPI_ENGINE_EVAL_EVALUATE_H_
