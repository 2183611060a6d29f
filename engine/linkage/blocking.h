// Copyright EMPI developers.
//
// blocking.h: candidate pairs from a union of blocking rules.
//
// A BlockingRule maps a record to a key (or to none when a field it needs is
// missing); records sharing a key form a block and every pair inside a
// block is a candidate. Several rules are unioned, so a pair missed by one
// (a mistyped date of birth) is found by another (names and postcode). A pair
// is generated only by the first rule that would produce it, so no pair is
// scored twice. Blocks larger than max_block_size are skipped and reported
// (every such record is still reachable through the other rules).
//
//   BlockingRules rules = BlockingRules::Default();
//   CandidateSet c = GenerateCandidates(records, is_stored, rules, 300, &report);
//
// Thread-safety: GenerateCandidates runs in parallel on the TBB pool; the
// rules themselves are immutable.
#ifndef EMPI_LINKAGE_BLOCKING_H_
#define EMPI_LINKAGE_BLOCKING_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/linkage/prepared_record.h"
#include "nlohmann/json.hpp"

namespace empi {

inline constexpr int kMaxBlockingRules = 12;

struct BlockingRule {
  // Stored in block_keys under this id: part of the persistent format.
  uint8_t id;
  std::string name;
  // The key of `r`, or 0 when the rule does not apply to it.
  uint64_t (*key)(const PreparedRecord& r);
};

class BlockingRules {
 public:
  // nhs_number; dob_family_phonetic; dob_postcode; names_phonetic_birth_year;
  // names_phonetic_postcode_sector; dob_given_phonetic; given_phonetic_postcode;
  // family_phonetic_postcode; names_phonetic_house_number; dob_name_initials;
  // address_given_initial.
  static BlockingRules Default();
  static const std::vector<BlockingRule>& All();
  // Comma-separated rule names, from the --blocking-rules flag.
  static absl::StatusOr<BlockingRules> FromNames(std::string_view names);

  // The rules as JSON, for a database's meta: an array of {"id", "name"}
  // in rule order. FromJson accepts only what ToJson writes and returns
  // InvalidArgument for anything else, for a rule name this version does not
  // know, or for an id that is not that rule's id (ids reach block_keys).
  nlohmann::json ToJson() const;
  static absl::StatusOr<BlockingRules> FromJson(const nlohmann::json& j);

  const std::vector<BlockingRule>& rules() const { return rules_; }
  std::string Names() const;

 private:
  std::vector<BlockingRule> rules_;
};

using BlockKeys = std::array<uint64_t, kMaxBlockingRules>;
BlockKeys ComputeBlockKeys(const BlockingRules& rules, const PreparedRecord& r);

struct CandidatePair {
  uint32_t a, b;  // indices into the record array, a < b
  uint32_t pattern;
};

struct BlockingReport {
  struct Rule {
    std::string name;
    uint64_t pairs = 0;  // new pairs this rule contributed
    uint64_t blocks = 0;
    uint64_t oversized_blocks = 0;  // skipped for exceeding max_block_size
    uint64_t oversized_records = 0;
    uint64_t largest_block = 0;
  };
  std::vector<Rule> rules;
  uint64_t total_pairs = 0;
};

// Generates and compares every candidate pair among `records`, skipping
// pairs where both records are stored (`stored[i]`, already decided by an
// earlier run). `keys[i]` must be ComputeBlockKeys(rules, records[i]).
// Returns each pair once with its comparison pattern.
std::vector<CandidatePair> GenerateCandidates(const std::vector<PreparedRecord>& records,
                                              const std::vector<BlockKeys>& keys, const std::vector<bool>& stored,
                                              const BlockingRules& rules, size_t max_block_size,
                                              BlockingReport* report);

}  // namespace empi

#endif  // EMPI_LINKAGE_BLOCKING_H_
