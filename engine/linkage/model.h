// Copyright EMPI developers.
//
// model.h: the Fellegi-Sunter model: m and u probabilities per comparison
// level, probability_two_random_records_match, term-frequency tables, and
// the link and review thresholds.
//
// match_weight = log2(lambda / (1 - lambda)) + sum over comparisons of
//                log2(m / u) of the level the pair takes,
// where for an exact agreement on a term-frequency-adjusted field the u of
// the level is replaced by the frequency of the agreed value, so agreeing
// on "smith" counts less than agreeing on "zoltan" (Splink's
// term_frequency_adjustment). match_probability = 2^w / (1 + 2^w).
//
// The model is trained on the first link of a database (see Train) and
// stored with the data as JSON in Splink's vocabulary, so later feeds and the
// real-time path score with exactly the same parameters.
//
//   Model model = Model::Default();
//   EMPI_RETURN_IF_ERROR(Train(records, rules, settings, &model, &report));
//   ScoredPair s = model.Score(a, b);
//
// Thread-safety: a trained Model is immutable and may be shared.
#ifndef EMPI_LINKAGE_MODEL_H_
#define EMPI_LINKAGE_MODEL_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/linkage/comparisons.h"
#include "engine/linkage/prepared_record.h"
#include "engine/linkage/safety.h"
#include "nlohmann/json.hpp"

namespace empi {

struct ModelSettings {
  // Behaviour
  // Pairs at or above this match_probability are linked automatically.
  double link_threshold = 0.999;  // Default: 0.999
  // Pairs at or above this (and below link_threshold) go to human review.
  double review_threshold = 0.5;           // Default: 0.5
  bool term_frequency_adjustments = true;  // Default: true
  // Performance / training
  uint64_t seed = 42;                   // Default: 42
  uint64_t u_sample_pairs = 2'000'000;  // Default: 2 million random pairs
  int em_max_iterations = 100;          // Default: 100
  double em_tolerance = 1e-7;           // Default: 1e-7 (largest change in m)
};

// The key of an estimated date of birth in Model::dob_tf ("19920101").
std::string DobFrequencyKey(int32_t yyyymmdd);

// Value frequencies of one field (share of records holding each value).
class TermFrequencies {
 public:
  void Add(std::string_view value, uint64_t count);
  // Records holding a value the table does not track: in the total only.
  void AddUntracked(uint64_t count) { total_ += count; }
  // Share of records with `value`; unseen values count as seen once.
  float Frequency(std::string_view value) const;
  // Share of records with `value` besides the two of a pair that agree on
  // it, at least one: a value of one person's records alone is rare,
  // however many records that person has.
  float FrequencyBesidesPair(std::string_view value) const;
  uint64_t total() const { return total_; }
  nlohmann::json ToJson() const;  // values seen at least twice
  static TermFrequencies FromJson(const nlohmann::json& j);

 private:
  uint64_t Count(std::string_view value) const;  // 0 for a value unseen
  float Share(uint64_t count) const;             // of total(); 0 while empty
  absl::flat_hash_map<std::string, uint64_t> counts_;
  uint64_t total_ = 0;
};

// Each contributor's records and how many of them carry no NHS number,
// neither valid nor mistyped (PreparedRecord::Unnumbered), by
// PreparedRecord::source: what a contributor's systems leave off, not the
// patient. Counted with the term frequencies on the training run's
// records, so that a revisit of a few persons (a real-time ingest) judges
// the twins rule (clustering.cc, UnnumberedApart) on each
// contributor's whole feed, not on the handful of its records in front of
// it.
class NumberGaps {
 public:
  struct Counts {
    uint64_t unnumbered = 0;
    uint64_t records = 0;
  };
  void Add(const PreparedRecord& r);
  // The counts of `source`; zero for a contributor never counted.
  Counts Of(uint32_t source) const;
  const absl::flat_hash_map<uint32_t, Counts>& by_source() const { return by_source_; }
  // {"<source hash>": {"records": n, "without_nhs_number": k}, ...}
  nlohmann::json ToJson() const;
  // Throws nlohmann::json::exception on a malformed entry (Model::FromJson
  // turns it into an error).
  static NumberGaps FromJson(const nlohmann::json& j);

 private:
  absl::flat_hash_map<uint32_t, Counts> by_source_;
};

struct ComparisonWeight {
  int comparison;
  int gamma;
  double m, u;
  double match_weight;  // log2 Bayes factor contributed (0 for null)
  bool tf_adjusted;
  // A comparison that would show where a restricted patient lives
  // (RevealsLocation), explained with `withhold_location`: gamma -1, no m,
  // u or weight.
  bool withheld = false;
};

struct ScoredPair {
  uint32_t pattern = 0;
  double match_weight = 0;  // after the safety cap (safety.h)
  double match_probability = 0;
  SafetyVerdict safety;
};

struct Explanation {
  double prior_weight;  // log2(lambda / (1 - lambda))
  std::vector<ComparisonWeight> comparisons;
  // Prior plus every comparison's weight: the Fellegi-Sunter sum before the
  // safety cap. total.match_weight is below it when total.safety capped it.
  double uncapped_weight;
  ScoredPair total;
};

using LevelProbabilities = std::array<std::vector<double>, kNumComparisons>;

// Where a model's parameters came from, stored with it ("provenance" in the
// model JSON) so that no link goes on with a model estimated from too
// little evidence without saying so.
struct ModelProvenance {
  // "trained" by a link, "imported" by `empi model import`, "default" (the
  // untrained priors), or "" for a model stored before provenance was.
  std::string origin;
  uint64_t records = 0;          // records of the training run
  uint64_t candidate_pairs = 0;  // candidate pairs EM ran over
  int em_iterations = 0;
  bool em_converged = false;     // every EM session within kEmConvergence
  double estimated_matches = 0;  // candidate pairs EM called matches
  double lambda = 0;             // probability_two_random_records_match
  std::string trained_at;        // UTC, ISO 8601
};

// Evidence a trained model needs before later links keep it: Splink's
// em_convergence, and enough pairs and matches for every level's m to be
// estimated from more than a handful of pairs.
inline constexpr double kEmConvergence = 1e-4;
inline constexpr uint64_t kMinTrainingPairs = 1000;
inline constexpr double kMinEstimatedMatches = 200;

// "" when a link may keep a model of this provenance; otherwise why the next
// link should estimate it again. Imported models and models stored before
// provenance are kept (the user chose them).
std::string UntrustedReason(const ModelProvenance& p);

// Whether level `l` of comparison `c` has its own trained m and u (it is
// neither the null level nor a marginal one).
bool IsTrainedLevel(int c, size_t l);
// Sets each marginal level's entry (ComparisonLevel::marginal_of) of `p`, m
// or u, to the sum over the levels it stands for.
void FillMarginalLevels(LevelProbabilities* p);

class Model {
 public:
  // Untrained defaults: plausible m and u for every level, so a model can
  // score before (or without) training; Train replaces them.
  static Model Default(const ModelSettings& settings = {});
  // Informed priors, for scoring without a model trained on enough
  // evidence (an empty real-time store, a first feed of a few records): m
  // and u of every level set from published NHS data quality and UK
  // population figures (docs/matching.md, "Informed default priors"), not
  // fitted to any generator; provenance origin "default", which a later
  // link does not trust (it estimates the model on its data).
  static Model Informed(const ModelSettings& settings = {});

  // The pair's pattern, its weight after the safety rules (safety.h) and
  // their verdict.
  ScoredPair Score(const PreparedRecord& a, const PreparedRecord& b) const {
    ScoredPair s;
    s.pattern = ComparePair(a, b);
    s.safety = CheckPairSafety(a, b, s.pattern);
    s.match_weight = Capped(Weight(s.pattern, a, b), s.safety.safety);
    s.match_probability = Probability(s.match_weight);
    return s;
  }
  // Weight of a pattern, without the safety rules; the records supply the
  // term frequencies of the values they agree on.
  double Weight(uint32_t pattern, const PreparedRecord& a, const PreparedRecord& b) const;
  // `w` held below the review threshold (kDistinct) or the link threshold
  // (kReview).
  double Capped(double w, PairSafety safety) const;
  // Each comparison's level and weight for (a, b). `withhold_location`
  // (either is a restricted patient): the comparisons that tell where they
  // live are withheld, for search results and `empi explain` alike.
  Explanation Explain(const PreparedRecord& a, const PreparedRecord& b, bool withhold_location = false) const;
  static double Probability(double weight);
  static double WeightOf(double probability);
  // log2(m / u) of comparison c's level g, before any frequency adjustment.
  double LevelWeight(int c, int g) const { return level_weight_[c][g]; }

  // Sets the record's term frequencies from the model's frequency tables.
  void Annotate(PreparedRecord* r) const;

  double link_weight() const { return WeightOf(settings_.link_threshold); }
  double review_weight() const { return WeightOf(settings_.review_threshold); }
  // The weight at which a second person contests a record's link: the link
  // threshold, or the review threshold for a record with only household
  // evidence (PreparedRecord::HouseholdEvidenceOnly): "Nasreen Begum" with no
  // date of birth, at the address of a Nasreen Begum born 1943 and a
  // Rukhsana Nasreen Begum born 1982. So too for a record whose best link
  // is held only by its NHS number and date of birth against given names
  // that conflict (`best_names_overridden`, SafetyVerdict::names_overridden):
  // "Thomad Lawrence" carrying his twin Ralph's number, beside Thomas
  // Lawrence of the same date, whose own number keeps that pair below the
  // link threshold (DecisivelyBetter then decides).
  double ContestFloor(const PreparedRecord& r, bool best_names_overridden = false) const;
  const ModelSettings& settings() const { return settings_; }
  ModelSettings& mutable_settings() { return settings_; }
  double lambda() const { return lambda_; }

  nlohmann::json ToJson() const;
  static absl::StatusOr<Model> FromJson(const nlohmann::json& j);

  // Parameters, for training and tests.
  LevelProbabilities m, u;
  double lambda_ = 1e-6;  // probability_two_random_records_match
  TermFrequencies family_tf, given_tf;
  // Estimated dates of birth (EstimatedDate) by DobFrequencyKey; every
  // other known date in the total only.
  TermFrequencies dob_tf;
  NumberGaps number_gaps;
  ModelProvenance provenance;
  // Fills the marginal levels and recomputes the per-level weight table
  // after m, u or lambda change.
  void Refresh();

 private:
  // Bits to add to comparison c's level g for an exact agreement on a's
  // value, from the value's frequency, or for a swap; 0 where none applies.
  double FrequencyAdjustment(int c, int g, const PreparedRecord& a, const PreparedRecord& b) const;
  // Bits to add to a name comparison's "swapped" level.
  double SwapAdjustment(int c, const PreparedRecord& a, const PreparedRecord& b) const;

  ModelSettings settings_;
  double prior_weight_ = 0;
  std::array<std::array<double, 16>, kNumComparisons> level_weight_{};
};

}  // namespace empi

#endif  // EMPI_LINKAGE_MODEL_H_
