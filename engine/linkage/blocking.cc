// Copyright EMPI developers.
#include "engine/linkage/blocking.h"

#include <algorithm>
#include <atomic>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/linkage/comparisons.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/parallel_for.h"
#include "tbb/parallel_sort.h"
#include "xxhash.h"

namespace empi {
namespace {

uint64_t Mix(std::initializer_list<uint64_t> parts) {
  uint64_t buf[4] = {0, 0, 0, 0};
  size_t n = 0;
  for (uint64_t p : parts) buf[n++] = p;
  uint64_t h = XXH3_64bits(buf, n * sizeof(uint64_t));
  return h == 0 ? 1 : h;
}

uint64_t StrHash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

uint64_t NhsKey(const PreparedRecord& r) { return r.nhs == 0 ? 0 : Mix({1, r.nhs}); }
uint64_t DobFamily(const PreparedRecord& r) {
  return r.dob == 0 || r.family_dm == 0 ? 0 : Mix({2, static_cast<uint64_t>(r.dob), r.family_dm});
}
uint64_t DobPostcode(const PreparedRecord& r) {
  return r.dob == 0 || r.postcode_unit.empty() ? 0 : Mix({3, static_cast<uint64_t>(r.dob), StrHash(r.postcode_unit)});
}
// Order-free in the two names, so a given/family swap still meets.
uint64_t NamesYear(const PreparedRecord& r) {
  if (r.dob == 0 || r.family_dm == 0 || r.given_dm == 0) return 0;
  return Mix(
      {4, std::min(r.given_dm, r.family_dm), std::max(r.given_dm, r.family_dm), static_cast<uint64_t>(r.dob / 10000)});
}
uint64_t NamesSector(const PreparedRecord& r) {
  if (r.family_dm == 0 || r.given_dm == 0) return 0;
  uint64_t place = r.postcode_sector != 0 ? r.postcode_sector : r.postcode_unit.empty() ? 0 : StrHash(r.postcode_unit);
  if (place == 0) return 0;
  return Mix({5, std::min(r.given_dm, r.family_dm), std::max(r.given_dm, r.family_dm), place});
}
// Finds a person whose surname and address both changed (marriage).
uint64_t DobGiven(const PreparedRecord& r) {
  return r.dob == 0 || r.given_dm == 0 ? 0 : Mix({6, static_cast<uint64_t>(r.dob), r.given_dm});
}

// One name and the full postcode. Each finds a duplicate whose other name
// was replaced or badly misspelt while its date of birth is wrong or
// missing, which the rules keyed on both names or on the date cannot.
uint64_t GivenPostcode(const PreparedRecord& r) {
  return r.given_dm == 0 || r.postcode_unit.empty() ? 0 : Mix({7, r.given_dm, StrHash(r.postcode_unit)});
}
uint64_t FamilyPostcode(const PreparedRecord& r) {
  return r.family_dm == 0 || r.postcode_unit.empty() ? 0 : Mix({8, r.family_dm, StrHash(r.postcode_unit)});
}
// Both names and the house number: a postcode mistyped while the date of
// birth is also wrong or missing.
uint64_t NamesHouse(const PreparedRecord& r) {
  if (r.family_dm == 0 || r.given_dm == 0 || r.house_number == 0) return 0;
  return Mix({9, std::min(r.given_dm, r.family_dm), std::max(r.given_dm, r.family_dm), r.house_number});
}

// The date of birth and the two names' initials, order-free: a record whose
// names are both misspelt past their sound ("Hunyer", "Dianw") and whose
// postcode is missing, as an ambulance crew's often is.
uint64_t DobInitials(const PreparedRecord& r) {
  if (r.dob == 0 || r.family.empty() || r.given1.empty()) return 0;
  const auto lo = static_cast<uint8_t>(std::min(r.family[0], r.given1[0]));
  const auto hi = static_cast<uint8_t>(std::max(r.family[0], r.given1[0]));
  return Mix({10, static_cast<uint64_t>(r.dob), lo, hi});
}

// The address as written and the given name's initial: a record whose
// postcode is mistyped or missing and whose names are both misspelt, at the
// address its person gives everywhere else.
uint64_t AddressGivenInitial(const PreparedRecord& r) {
  if (r.address.empty() || r.given1.empty()) return 0;
  return Mix({11, StrHash(r.address), static_cast<uint8_t>(r.given1[0])});
}

}  // namespace

const std::vector<BlockingRule>& BlockingRules::All() {
  static const std::vector<BlockingRule> kAll = {
      {0, "nhs_number", &NhsKey},
      {1, "dob_family_phonetic", &DobFamily},
      {2, "dob_postcode", &DobPostcode},
      {3, "names_phonetic_birth_year", &NamesYear},
      {4, "names_phonetic_postcode_sector", &NamesSector},
      {5, "dob_given_phonetic", &DobGiven},
      {6, "given_phonetic_postcode", &GivenPostcode},
      {7, "family_phonetic_postcode", &FamilyPostcode},
      {8, "names_phonetic_house_number", &NamesHouse},
      {9, "dob_name_initials", &DobInitials},
      {10, "address_given_initial", &AddressGivenInitial},
  };
  return kAll;
}

BlockingRules BlockingRules::Default() {
  BlockingRules r;
  r.rules_ = All();
  return r;
}

absl::StatusOr<BlockingRules> BlockingRules::FromNames(std::string_view names) {
  BlockingRules r;
  for (absl::string_view piece :
       absl::StrSplit(absl::string_view(names.data(), names.size()), ',', absl::SkipWhitespace())) {
    std::string name(piece);
    auto it = std::find_if(All().begin(), All().end(), [&](const BlockingRule& b) { return b.name == name; });
    if (it == All().end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown blocking rule \"", name, "\"; known: ",
          absl::StrJoin(All(), ",", [](std::string* out, const BlockingRule& b) { out->append(b.name); })));
    }
    r.rules_.push_back(*it);
  }
  if (r.rules_.empty()) return absl::InvalidArgumentError("no blocking rules given");
  return r;
}

nlohmann::json BlockingRules::ToJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const BlockingRule& b : rules_) out.push_back({{"id", b.id}, {"name", b.name}});
  return out;
}

absl::StatusOr<BlockingRules> BlockingRules::FromJson(const nlohmann::json& j) {
  if (!j.is_array() || j.empty()) return absl::InvalidArgumentError("blocking rules: not a non-empty array");
  if (j.size() > kMaxBlockingRules) return absl::InvalidArgumentError("blocking rules: too many rules");
  BlockingRules r;
  for (const nlohmann::json& e : j) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("id") ||
        !e["id"].is_number_unsigned()) {
      return absl::InvalidArgumentError("blocking rules: an entry is not {\"id\": n, \"name\": \"...\"}");
    }
    const std::string name = e["name"].get<std::string>();
    auto it = std::find_if(All().begin(), All().end(), [&](const BlockingRule& b) { return b.name == name; });
    if (it == All().end())
      return absl::InvalidArgumentError(absl::StrCat("blocking rules: unknown rule \"", name, "\""));
    if (e["id"].get<uint64_t>() != it->id) {
      return absl::InvalidArgumentError(
          absl::StrCat("blocking rules: rule \"", name, "\" has id ", e["id"].dump(), ", expected ", it->id));
    }
    r.rules_.push_back(*it);
  }
  return r;
}

std::string BlockingRules::Names() const {
  return absl::StrJoin(rules_, ",", [](std::string* out, const BlockingRule& b) { out->append(b.name); });
}

BlockKeys ComputeBlockKeys(const BlockingRules& rules, const PreparedRecord& r) {
  BlockKeys k{};
  for (size_t i = 0; i < rules.rules().size(); ++i) k[i] = rules.rules()[i].key(r);
  return k;
}

std::vector<CandidatePair> GenerateCandidates(const std::vector<PreparedRecord>& records,
                                              const std::vector<BlockKeys>& keys, const std::vector<bool>& stored,
                                              const BlockingRules& rules, size_t max_block_size,
                                              BlockingReport* report) {
  const size_t n_rules = rules.rules().size();
  report->rules.assign(n_rules, {});
  // Keys of oversized blocks per rule: a pair inside one was not generated
  // there, so a later rule must not assume it was.
  std::vector<absl::flat_hash_set<uint64_t>> oversized(n_rules);
  tbb::enumerable_thread_specific<std::vector<CandidatePair>> local;

  for (size_t r = 0; r < n_rules; ++r) {
    BlockingReport::Rule& rep = report->rules[r];
    rep.name = rules.rules()[r].name;
    std::vector<std::pair<uint64_t, uint32_t>> entries;
    entries.reserve(records.size());
    for (uint32_t i = 0; i < records.size(); ++i) {
      if (keys[i][r] != 0) entries.emplace_back(keys[i][r], i);
    }
    tbb::parallel_sort(entries.begin(), entries.end());
    std::vector<std::pair<size_t, size_t>> blocks;  // [begin, end)
    for (size_t b = 0; b < entries.size();) {
      size_t e = b + 1;
      while (e < entries.size() && entries[e].first == entries[b].first) ++e;
      if (e - b >= 2) {
        rep.largest_block = std::max<uint64_t>(rep.largest_block, e - b);
        if (e - b > max_block_size) {
          ++rep.oversized_blocks;
          rep.oversized_records += e - b;
          oversized[r].insert(entries[b].first);
        } else {
          blocks.emplace_back(b, e);
        }
      }
      b = e;
    }
    rep.blocks = blocks.size();
    std::atomic<uint64_t> pairs{0};
    tbb::parallel_for(tbb::blocked_range<size_t>(0, blocks.size(), 64), [&](const auto& range) {
      auto& out = local.local();
      uint64_t made = 0;
      for (size_t bi = range.begin(); bi != range.end(); ++bi) {
        auto [b, e] = blocks[bi];
        for (size_t x = b; x < e; ++x) {
          uint32_t i = entries[x].second;
          for (size_t y = x + 1; y < e; ++y) {
            uint32_t j = entries[y].second;
            if (stored[i] && stored[j]) continue;
            bool earlier = false;
            for (size_t q = 0; q < r && !earlier; ++q) {
              earlier = keys[i][q] != 0 && keys[i][q] == keys[j][q] && !oversized[q].contains(keys[i][q]);
            }
            if (earlier) continue;
            uint32_t a = std::min(i, j), c = std::max(i, j);
            out.push_back({a, c, ComparePair(records[a], records[c])});
            ++made;
          }
        }
      }
      pairs += made;
    });
    rep.pairs = pairs.load();
    report->total_pairs += rep.pairs;
  }
  std::vector<CandidatePair> all;
  all.reserve(report->total_pairs);
  for (auto& v : local) {
    all.insert(all.end(), v.begin(), v.end());
    std::vector<CandidatePair>().swap(v);
  }
  // Thread scheduling decides the order above; sort so results are
  // deterministic.
  tbb::parallel_sort(all.begin(), all.end(),
                     [](const CandidatePair& x, const CandidatePair& y) { return x.a != y.a ? x.a < y.a : x.b < y.b; });
  return all;
}

}  // namespace empi
