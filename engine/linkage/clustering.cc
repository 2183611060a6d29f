// Copyright EMPI developers.
#include "engine/linkage/clustering.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "matchers/name_equivalence.h"

namespace empi {
namespace {

// Most persons have a handful of records and one NHS number: inline
// storage spares a heap allocation per record on millions of records.
struct Group {
  absl::InlinedVector<uint32_t, 4> members;
  absl::InlinedVector<uint64_t, 1> nhs;  // distinct valid NHS numbers
  uint64_t existing = 0;
};

// Twins registered together: two contributors, or one GP practice, each
// hold a record of both groups, the groups share no NHS number, and a pair
// across them has one date of birth and other first given names. Returns
// the reason to hold them, nullptr if they are not. Twins are registered at
// one practice and seen at one hospital, each under a record of their own;
// one patient duplicated in two contributors, or registered twice at one
// practice, without a number in common, is rarer (a hospital's duplicate
// records are not).
const char* RegisteredTogether(const std::vector<PreparedRecord>& records, const Group& a, const Group& b) {
  for (uint64_t v : a.nhs) {
    if (std::find(b.nhs.begin(), b.nhs.end(), v) != b.nhs.end()) return nullptr;
  }
  absl::InlinedVector<uint32_t, 8> in_a, in_both;
  for (uint32_t m : a.members) in_a.push_back(records[m].source);
  std::sort(in_a.begin(), in_a.end());
  bool practice_in_both = false;
  for (uint32_t m : b.members) {
    const uint32_t source = records[m].source;
    if (source != 0 && std::binary_search(in_a.begin(), in_a.end(), source) &&
        std::find(in_both.begin(), in_both.end(), source) == in_both.end()) {
      in_both.push_back(source);
      practice_in_both = practice_in_both || records[m].practice;
    }
  }
  if (in_both.size() < 2 && !practice_in_both) return nullptr;
  for (uint32_t x : a.members) {
    for (uint32_t y : b.members) {
      const PreparedRecord &rx = records[x], &ry = records[y];
      if (rx.dob != 0 && rx.dob == ry.dob && !rx.given1.empty() && !ry.given1.empty() && rx.given1 != ry.given1) {
        return in_both.size() >= 2 ? kReasonTwinsInTwoContributors : kReasonTwinsAtOnePractice;
      }
    }
  }
  return nullptr;
}

// Whether the pair is held together only by a shared NHS number (and date
// of birth) against given names that conflict (SafetyVerdict::
// names_overridden); scored only where the number is shared and the first
// names differ.
bool NumberOverridesNames(const Model& model, const PreparedRecord& a, const PreparedRecord& b) {
  return a.nhs != 0 && a.nhs == b.nhs && a.given1 != b.given1 && model.Score(a, b).safety.names_overridden;
}

// Each contributor's share of records without an NHS number: counted on
// the records being clustered, or, where the model's training run saw
// more of the contributor's records (a revisit of a few persons), taken
// from the model (NumberGaps). A contributor with fewer than kMinRecords
// records in both is not estimated.
class MissingNumberShares {
 public:
  MissingNumberShares(const std::vector<PreparedRecord>& records, const NumberGaps& trained) {
    NumberGaps here;
    for (const PreparedRecord& r : records) here.Add(r);
    for (const auto& [source, counted] : here.by_source()) {
      const NumberGaps::Counts t = trained.Of(source);
      const NumberGaps::Counts& c = t.records > counted.records ? t : counted;
      // Add-one smoothed: a contributor seen with no record lacking a
      // number has not been seen to never lack one.
      if (source != 0 && c.records >= kMinRecords) share_[source] = (c.unnumbered + 1.0) / (c.records + 2.0);
    }
  }

  // The chance that none of `members` would carry a number if they were
  // the records of a patient who has one: the product of their
  // contributors' shares (1 for a contributor not estimated). With
  // `once_per_contributor`, a contributor's share counts once however many
  // of its records there are (a hospital that never traced the patient's
  // number left it off every episode).
  double AllMissingByChance(const std::vector<PreparedRecord>& records, const absl::InlinedVector<uint32_t, 4>& members,
                            bool once_per_contributor = false) const {
    double p = 1;
    absl::InlinedVector<uint32_t, 4> seen;
    for (uint32_t m : members) {
      const uint32_t source = records[m].source;
      if (once_per_contributor) {
        if (std::find(seen.begin(), seen.end(), source) != seen.end()) continue;
        seen.push_back(source);
      }
      auto it = share_.find(source);
      if (it != share_.end()) p *= it->second;
    }
    return p;
  }

 private:
  static constexpr uint64_t kMinRecords = 50;
  absl::flat_hash_map<uint32_t, double> share_;
};

// Whether two records give one postcode unit or one address.
bool SharedHome(const PreparedRecord& a, const PreparedRecord& b) {
  return (!a.postcode_unit.empty() && a.postcode_unit == b.postcode_unit) ||
         (!a.address.empty() && a.address == b.address);
}

// Whether no record of `a` shares a postcode unit or an address with a
// record of `b`, and at least one pair could have (both sides known).
bool LiveApart(const std::vector<PreparedRecord>& records, const Group& a, const Group& b) {
  bool known = false;
  for (uint32_t x : a.members) {
    for (uint32_t y : b.members) {
      const PreparedRecord &rx = records[x], &ry = records[y];
      if (SharedHome(rx, ry)) return false;
      known = known || (!rx.postcode_unit.empty() && !ry.postcode_unit.empty()) ||
              (!rx.address.empty() && !ry.address.empty());
    }
  }
  return known;
}

// Two people, one of whom was never given a number in any record: the
// records of one group all carry no NHS number, from contributors that
// record it so reliably that a numbered patient would have it on one of
// them, and the other group carries one. Then either
//   - no first given name is used by both: twins, whose records each agree
//     among themselves on a first name (Mary, Marie) that, pair by pair,
//     reads as one name spelt two ways; held when the chance that all the
//     unnumbered records lost a number (MissingNumberShares) is below
//     kUnnumberedByChance; or
//   - they share a first name but no home (LiveApart: at one address a
//     namesake born the same day is no explanation), and the unnumbered
//     records come from two or more contributors: one numbered patient
//     whose number each of them left off (the chance of it, each
//     contributor counted once), or a namesake born the same day who has
//     no number (kPersonsWithoutNumber). The ratio of the two is evidence
//     the link's weight (`weight`) knows nothing of; held when, added to
//     it, the link falls below `link_weight`. A name as rare as Ickercombe
//     outweighs it; Rahul Mistry in another town does not.
// Returns the reason to hold them, or nullptr.
const char* UnnumberedApart(const std::vector<PreparedRecord>& records, const MissingNumberShares& shares,
                            const Group& a, const Group& b, double weight, double link_weight) {
  auto unnumbered = [&](const Group& g) {
    return std::all_of(g.members.begin(), g.members.end(), [&](uint32_t m) { return records[m].Unnumbered(); });
  };
  const Group* numbered = &a;
  const Group* bare = &b;
  if (a.nhs.empty() || !unnumbered(b)) {
    if (b.nhs.empty() || !unnumbered(a)) return nullptr;
    std::swap(numbered, bare);
  }
  if (bare->members.size() < 2) return nullptr;
  bool named = false, same_name = false;
  for (uint32_t x : numbered->members) {
    for (uint32_t y : bare->members) {
      const std::string &gx = records[x].given1, &gy = records[y].given1;
      if (gx.empty() || gy.empty()) continue;
      (gx == gy ? same_name : named) = true;
    }
  }
  if (!same_name) {
    if (!named || shares.AllMissingByChance(records, bare->members) > kUnnumberedByChance) return nullptr;
    return kReasonTwinsUnnumbered;
  }
  const uint32_t first_source = records[bare->members[0]].source;
  const bool two_contributors = std::any_of(bare->members.begin(), bare->members.end(),
                                            [&](uint32_t m) { return records[m].source != first_source; });
  if (!two_contributors || !LiveApart(records, *numbered, *bare)) return nullptr;
  const double chance = shares.AllMissingByChance(records, bare->members, /*once_per_contributor=*/true);
  if (weight + std::log2(chance / kPersonsWithoutNumber) >= link_weight) return nullptr;
  return kReasonUnnumberedNamesake;
}

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  uint32_t Find(uint32_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void Attach(uint32_t child_root, uint32_t root) { parent_[child_root] = root; }

 private:
  std::vector<uint32_t> parent_;
};

// Whose NHS number it is when two groups carry different ones.
class NumberOwners {
 public:
  NumberOwners(const std::vector<PreparedRecord>& records, const Model& model) : records_(records), model_(model) {}

  // Whether `nhs`, held by group `rg`, is someone else's number there: a
  // group outside `rg` and `other` carries it on more records than `rg`
  // does, and each record of `rg` that carries it is, by the safety rules,
  // another member of the family than every record of that group that
  // carries it (RelativesNumber: a parent's number written on a child's
  // record, a spouse's or a sibling's; safety.h). Then the number says
  // nothing against the record's joining its own person elsewhere. A
  // number two groups carry equally often is nobody's to give away, unless
  // the union carries a number of its own on more records
  // (NumberOutnumbered): the group `rg` joins, or `rg` itself (a record with
  // a sister's number already among six with her own).
  bool SomeoneElses(uint64_t nhs, uint32_t rg, uint32_t other, const std::vector<Group>& groups, UnionFind& uf) {
    size_t mine = 0, union_own = 0;
    for (uint32_t g : {rg, other}) {
      for (uint32_t m : groups[g].members) {
        if (!records_[m].OwnNumber()) continue;
        if (records_[m].nhs != nhs) {
          ++union_own;
        } else if (g == rg) {
          ++mine;
        }
      }
    }
    // (group, record) of the number's other holders, by group.
    std::vector<std::pair<uint32_t, uint32_t>> elsewhere;
    for (uint32_t z : Holders(nhs)) {
      const uint32_t rz = uf.Find(z);
      if (rz != rg && rz != other) elsewhere.emplace_back(rz, z);
    }
    std::sort(elsewhere.begin(), elsewhere.end());
    for (size_t from = 0, to = 0; from < elsewhere.size(); from = to) {
      while (to < elsewhere.size() && elsewhere[to].first == elsewhere[from].first) ++to;
      if (!NumberOutnumbered(mine, to - from, union_own)) continue;
      std::vector<const PreparedRecord*> owners;
      for (size_t i = from; i < to; ++i) owners.push_back(&records_[elsewhere[i].second]);
      bool all_relatives = true;
      for (uint32_t m : groups[rg].members) {
        if (!records_[m].OwnNumber() || records_[m].nhs != nhs) continue;
        all_relatives = all_relatives && RelativeOfEach(model_, records_[m], owners);
      }
      if (all_relatives) return true;
    }
    return false;
  }

 private:
  // The records holding `nhs` as a valid number.
  std::vector<uint32_t> Holders(uint64_t nhs) {
    if (by_nhs_.empty()) {
      for (uint32_t i = 0; i < records_.size(); ++i) {
        if (records_[i].OwnNumber()) by_nhs_.push_back(i);
      }
      std::sort(by_nhs_.begin(), by_nhs_.end(), [&](uint32_t x, uint32_t y) {
        return records_[x].nhs != records_[y].nhs ? records_[x].nhs < records_[y].nhs : x < y;
      });
    }
    auto lower =
        std::partition_point(by_nhs_.begin(), by_nhs_.end(), [&](uint32_t i) { return records_[i].nhs < nhs; });
    auto upper = std::partition_point(lower, by_nhs_.end(), [&](uint32_t i) { return records_[i].nhs <= nhs; });
    return std::vector<uint32_t>(lower, upper);
  }

  const std::vector<PreparedRecord>& records_;
  const Model& model_;
  // Records with a valid NHS number, by number (built at the first
  // conflict of numbers).
  std::vector<uint32_t> by_nhs_;
};

Clustering ClusterAll(const ClusterInput& in, const std::vector<ScoredLink>& links);

// `links` strongest first (ClusterRecords sorts them); `missing_shares` of
// in.records.
Clustering ClusterOnce(const ClusterInput& in, const std::vector<ScoredLink>& links,
                       const MissingNumberShares& missing_shares) {
  const auto& records = *in.records;
  const size_t n = records.size();
  const double link_weight = in.model->link_weight();
  UnionFind uf(n);
  std::vector<Group> groups(n);
  for (uint32_t i = 0; i < n; ++i) {
    groups[i].members = {i};
    if (records[i].OwnNumber()) groups[i].nhs = {records[i].nhs};
    groups[i].existing = (*in.existing_person)[i];
  }
  Clustering out;

  auto join = [&](uint32_t ra, uint32_t rb) {
    if (groups[ra].members.size() < groups[rb].members.size()) std::swap(ra, rb);
    Group& a = groups[ra];
    Group& b = groups[rb];
    a.members.insert(a.members.end(), b.members.begin(), b.members.end());
    for (uint64_t v : b.nhs) {
      if (std::find(a.nhs.begin(), a.nhs.end(), v) == a.nhs.end()) a.nhs.push_back(v);
    }
    if (a.existing == 0) a.existing = b.existing;
    // Emptied in place: assigning a Group{} temporary trips GCC 12's
    // -Wmaybe-uninitialized inside absl::InlinedVector's move.
    b.members.clear();
    b.nhs.clear();
    b.existing = 0;
    uf.Attach(rb, ra);
  };

  // Records of one stored person stay together.
  {
    std::vector<std::pair<uint64_t, uint32_t>> by_person;
    for (uint32_t i = 0; i < n; ++i) {
      if ((*in.existing_person)[i] != 0) by_person.emplace_back((*in.existing_person)[i], i);
    }
    std::sort(by_person.begin(), by_person.end());
    for (size_t i = 1; i < by_person.size(); ++i) {
      if (by_person[i].first == by_person[i - 1].first) {
        uint32_t ra = uf.Find(by_person[i - 1].second), rb = uf.Find(by_person[i].second);
        if (ra != rb) join(ra, rb);
      }
    }
  }

  NumberOwners owners(records, *in.model);

  auto refuse_reason = [&](uint32_t ra, uint32_t rb, double weight) -> const char* {
    const Group& a = groups[ra];
    const Group& b = groups[rb];
    if (a.existing != 0 && b.existing != 0 && a.existing != b.existing) return kReasonExistingPersons;
    for (uint64_t x : a.nhs) {
      for (uint64_t y : b.nhs) {
        if (x != y && !owners.SomeoneElses(x, ra, rb, groups, uf) && !owners.SomeoneElses(y, rb, ra, groups, uf)) {
          return "nhs conflict";
        }
      }
    }
    if (a.members.size() * b.members.size() > in.max_join_comparisons) return "group too large to verify";
    if (const char* reason = RegisteredTogether(records, a, b)) return reason;
    if (const char* reason = UnnumberedApart(records, missing_shares, a, b, weight, link_weight)) return reason;
    std::vector<const PreparedRecord*> joined;
    for (const Group* g : {&a, &b}) {
      for (uint32_t m : g->members) joined.push_back(&records[m]);
    }
    for (uint32_t x : a.members) {
      for (uint32_t y : b.members) {
        if (in.never_link != nullptr && in.never_link->contains({std::min(x, y), std::max(x, y)})) {
          return "never link";
        }
        if (const char* reason = CrossPairRefusal(*in.model, records[x], records[y], joined)) {
          return reason;
        }
      }
    }
    return nullptr;
  };

  auto apply = [&](const ScoredLink& l) {
    uint32_t ra = uf.Find(l.a), rb = uf.Find(l.b);
    if (ra == rb) return;
    if (const char* reason = refuse_reason(ra, rb, l.match_weight)) {
      ++out.links_refused;
      out.review.push_back({l.a, l.b, l.match_weight, reason});
    } else {
      ++out.links_applied;
      join(ra, rb);
    }
  };
  // A link from a record with a number to one without, under another first
  // name, is applied after all others: the unnumbered record's own group
  // (its other records by that name) is whole by then, and
  // UnnumberedApart judges the group, not the record that happened
  // to link first. So is a link held only by a shared number against
  // conflicting given names (SafetyVerdict::names_overridden): a twin's
  // record with her sister's number joins her own other records first,
  // whose names then conflict with her sister's.
  auto across_names = [&](const ScoredLink& l) {
    const PreparedRecord &x = records[l.a], &y = records[l.b];
    if (x.given1.empty() || y.given1.empty() || x.given1 == y.given1) return false;
    return x.Unnumbered() != y.Unnumbered() || NumberOverridesNames(*in.model, x, y);
  };
  std::vector<const ScoredLink*> between, deferred;
  for (const ScoredLink& l : links) {
    if (l.match_weight < link_weight) {
      between.push_back(&l);
    } else if (across_names(l)) {
      deferred.push_back(&l);
    } else {
      apply(l);
    }
  }
  for (const ScoredLink* l : deferred) apply(*l);
  // A record with a relative's number and the number's owner: two members
  // of one family, not a steward's decision. By the rules (RelativesNumber);
  // or, one name a generation apart on the number, when the person of
  // either carries a number of its own beside it (a junior's record with
  // his father's number, in the junior's person: SomeoneElses).
  auto carries_another = [&](uint32_t r) {
    const auto& numbers = groups[uf.Find(r)].nhs;
    return std::any_of(numbers.begin(), numbers.end(), [&](uint64_t v) { return v != records[r].nhs; });
  };
  auto relatives_apart = [&](const ScoredLink& l) {
    if (l.held_by == kGenerationApartOnNumber) return carries_another(l.a) || carries_another(l.b);
    return l.held_by == kGivenConflictOnNumber &&
           RelativesNumber(records[l.a], records[l.b], {PairSafety::kReview, kGivenConflictOnNumber});
  };
  // A pair below the link threshold, one of whose records has no number,
  // between two persons who each carry a number of their own and none in
  // common: its weight never counted the numbers' disagreement, which the
  // persons show. Counted, below the review threshold, it is two
  // registered patients, not a steward's question (a duplicate
  // registration is resolved nationally and arrives as a supersession).
  const double review_weight = in.model->review_weight();
  const double numbers_differ = in.model->LevelWeight(comparison::kNhsNumber, kNhsDifferent);
  auto numbered_apart = [&](const ScoredLink& l) {
    const auto& na = groups[uf.Find(l.a)].nhs;
    const auto& nb = groups[uf.Find(l.b)].nhs;
    if (na.empty() || nb.empty() || l.match_weight + numbers_differ >= review_weight) return false;
    for (uint64_t v : na) {
      if (std::find(nb.begin(), nb.end(), v) != nb.end()) return false;
    }
    return CompareNhs(records[l.a], records[l.b]) == 0;
  };
  for (const ScoredLink* l : between) {
    if (uf.Find(l->a) != uf.Find(l->b) && !relatives_apart(*l) && !numbered_apart(*l)) {
      out.review.push_back(
          {l->a, l->b, l->match_weight, l->held_by.empty() ? "between thresholds" : std::string(l->held_by)});
    }
  }
  out.group.resize(n);
  for (uint32_t i = 0; i < n; ++i) out.group[i] = uf.Find(i);
  return out;
}

// One review pair per pair of persons, the strongest: a steward decides
// whether two persons are one, once, not once per pair of their records.
void KeepStrongestPerPersonPair(Clustering* c) {
  absl::flat_hash_map<std::pair<uint32_t, uint32_t>, size_t> best;
  std::vector<ReviewPair> kept;
  for (ReviewPair& r : c->review) {
    uint32_t ga = c->group[r.a], gb = c->group[r.b];
    // Refused, then joined by a later link once the groups had grown (two
    // witnesses to a weak pair, a record that explains a conflict).
    if (ga == gb) continue;
    auto [it, added] = best.try_emplace({std::min(ga, gb), std::max(ga, gb)}, kept.size());
    if (added) {
      kept.push_back(std::move(r));
    } else if (r.match_weight > kept[it->second].match_weight) {
      kept[it->second] = std::move(r);
    }
  }
  c->review = std::move(kept);
}

}  // namespace

namespace {

// How much more often a name must be seen than two slips of it for them to
// be taken as its misspellings ("Lidna" and "Linsa" beside Linda); twins'
// names (Jack and Jake) are both common.
constexpr float kSlipFrequencyRatio = 20;

// The same first and second given names in the other order (Scott James
// and James Scott).
bool TwoNamesSwapped(const PreparedRecord& a, const PreparedRecord& b) {
  return !a.given2.empty() && a.given1 == b.given2 && a.given2 == b.given1;
}

// Whether `m` and `other`, scored `s`, are safely one person by the rules,
// their names not overridden by an NHS number, and their given names equal,
// agreeing at one of `levels` (any, when empty), or the same two names in
// the other order (Scott James and James Scott).
bool NamesAgree(const ScoredPair& s, const PreparedRecord& m, const PreparedRecord& other,
                std::initializer_list<int> levels) {
  const int given = GammaOf(s.pattern, comparison::kGivenNames);
  return s.safety.safety == PairSafety::kSafe && !s.safety.names_overridden &&
         (levels.size() == 0 || given == kNameExact || TwoNamesSwapped(m, other) ||
          std::find(levels.begin(), levels.end(), given) != levels.end());
}

// NamesAgree, and born the same day.
bool AgreesBy(const Model& model, const PreparedRecord& m, const PreparedRecord& other,
              std::initializer_list<int> levels = {}) {
  const ScoredPair s = model.Score(m, other);
  return NamesAgree(s, m, other, levels) && GammaOf(s.pattern, comparison::kDateOfBirth) == kDobExact;
}

// x and y each agree with a record m of x's group, born the same day:
//   - their names are a slip and a nickname apart (GivenMisspeltForm), and
//     one is m's first or second name mistyped, the other m's name, its
//     nickname, or m's name as its middle name: Haroold (x) and Harry (y) by
//     Harold (m), Dorothby and Agnes Dorothy by Agnes Dorothy, Steohen and
//     Matthew Stephen by Stephen;
//   - or both are m's name with a slip each, m's a name (the table knows it
//     and neither of theirs, or it is seen kSlipFrequencyRatio times as
//     often as either): Keneth and Kennneth by Kenneth. Twins Jack and Jake
//     are two names, and Jakc (Jack mistyped) is no name.
// Twins of equivalent names (Lewis, and Louis mistyped Lkuis) do not
// qualify: the mistyped twin agrees with no record of the other's.
bool SlipExplainedByGroup(const Model& model, const PreparedRecord& x, const std::vector<const PreparedRecord*>& group,
                          const PreparedRecord& y) {
  const NameEquivalence& names = NameEquivalence::Default();
  const bool slip_and_nickname = GivenMisspeltForm(x, y);
  auto known = [&](const PreparedRecord& r) { return names.Known(r.given1); };
  const float rarer = std::max(x.given_tf, y.given_tf);
  // m's name is a name and x's and y's are two slips of it: the table knows
  // m's name and neither of theirs, or theirs are far rarer in the data
  // (records annotated with term frequencies; a small feed tells nothing).
  auto slips_of = [&](const PreparedRecord& m) {
    const bool is_the_name =
        (known(m) && !known(x) && !known(y)) || (rarer > 0 && m.given_tf >= kSlipFrequencyRatio * rarer);
    return is_the_name && names.Misspelt(x.given1, m.given1) && names.Misspelt(y.given1, m.given1);
  };
  // r's name is m's first or second name with one slip (or of a spelling
  // close to the first).
  auto slip_of = [&](const PreparedRecord& r, const PreparedRecord& m) {
    const bool slip = names.Misspelt(r.given1, m.given1) || (!m.given2.empty() && names.Misspelt(r.given1, m.given2));
    return slip ? AgreesBy(model, m, r) : AgreesBy(model, m, r, {kGivenClose});
  };
  // r carries m's name: as it is, as its nickname, or as a middle name
  // (Matthew Stephen beside Stephen).
  auto carries_name = [&](const PreparedRecord& r, const PreparedRecord& m) {
    return AgreesBy(model, m, r, {kGivenNickname, kGivenFirstMiddleSwapped});
  };
  for (const PreparedRecord* m : group) {
    if (m == &x || m == &y) continue;
    if (slip_and_nickname && ((slip_of(x, *m) && carries_name(y, *m)) || (slip_of(y, *m) && carries_name(x, *m)))) {
      return true;
    }
    if (slips_of(*m) && AgreesBy(model, *m, x) && AgreesBy(model, *m, y)) return true;
  }
  return false;
}

// Dates of birth one keying error apart: a slip of one digit or two
// swapped, or day and month swapped.
bool DateKept(const PreparedRecord& a, const PreparedRecord& b) {
  const int dob = CompareDates(a, b);
  return dob == kDobSwapped || dob == kDobSlip;
}

// x's and y's dates of birth, which differ beyond a keying error, are each
// one keying error from the date of a record m of x's group whose given
// names agree with both (equal, a nickname or a slip), safely: 08/04/1989
// keyed 04/08/1989 on one record and 05/04/1989 on another. A sibling
// born months apart is one error from none of the other's records.
bool DatesExplainedByGroup(const Model& model, const PreparedRecord& x, const std::vector<const PreparedRecord*>& group,
                           const PreparedRecord& y) {
  auto names_agree = [&](const PreparedRecord& m, const PreparedRecord& other) {
    return NamesAgree(model.Score(m, other), m, other, {kGivenNickname, kGivenClose});
  };
  for (const PreparedRecord* m : group) {
    if (m == &x || m == &y) continue;
    if (DateKept(*m, x) && DateKept(*m, y) && names_agree(*m, x) && names_agree(*m, y)) return true;
  }
  return false;
}

// y is a record m of x's group with the names in another order: the first
// and second given names the other way round, or given and family names in
// each other's fields on m's own NHS number (such a swap may carry a slip;
// the number says whose it is). x's names agree with m's first name (equal,
// a nickname or a close spelling, or the same two names the other way
// round), and all three are born the same day: Walter Michael and Mick by
// Michael Walter, Grahm (given) Lisa (family) and Freya Lisa by Lisa Freya.
// The order is y's contributor's, not another person's name, when more
// records of the group go by m's first name than by y's: twin Emma Betty's
// records, one "Betty Emma", do not say which is her first name, and her
// twin Elizabeth (Betty) is not let in. One name of the other's is not
// another order: x's middle name being m's first (twins Chinedu James and
// James Roger), or y's only name m's middle name (Eleanor beside Faith
// Eleanor, and a namesake Faith born the same day at another address).
bool OrderExplainedByGroup(const Model& model, const PreparedRecord& x, const std::vector<const PreparedRecord*>& group,
                           const PreparedRecord& y) {
  auto reordered = [&](const PreparedRecord& m) {
    const ScoredPair s = model.Score(m, y);
    if (s.safety.safety != PairSafety::kSafe || GammaOf(s.pattern, comparison::kDateOfBirth) != kDobExact) return false;
    const bool own_number = m.OwnNumber() && y.OwnNumber() && m.nhs == y.nhs;
    return TwoNamesSwapped(m, y) || (own_number && NamesInWrongFields(s.pattern));
  };
  // How many records of the group go by `name` first.
  auto first_name_of = [&](const std::string& name) {
    return std::count_if(group.begin(), group.end(), [&](const PreparedRecord* r) { return r->given1 == name; });
  };
  for (const PreparedRecord* m : group) {
    if (m == &x || m == &y) continue;
    if (reordered(*m) && first_name_of(m->given1) > first_name_of(y.given1) &&
        AgreesBy(model, *m, x, {kGivenNickname, kGivenClose})) {
      return true;
    }
  }
  return false;
}

// Whether x and y, a weak pair across a join, are each linked safely at
// the link threshold to two records of the union (other than themselves)
// that carry a date of birth: two independent witnesses that they are one
// person, each sure of it. A record that matches two people well is one
// witness; twins' and a father's and son's records are held by the safety
// rules before this, and a sibling born years apart links no record with a
// date to both.
bool WitnessedTwice(const Model& model, const PreparedRecord& x, const PreparedRecord& y,
                    const std::vector<const PreparedRecord*>& joined) {
  auto sure = [&](const PreparedRecord& a, const PreparedRecord& b) {
    const ScoredPair s = model.Score(a, b);
    return s.safety.safety == PairSafety::kSafe && s.match_weight >= model.link_weight();
  };
  int witnesses = 0;
  for (const PreparedRecord* m : joined) {
    if (m == &x || m == &y || m->dob == 0) continue;
    if (sure(*m, x) && sure(*m, y) && ++witnesses == 2) return true;
  }
  return false;
}

}  // namespace

bool ConflictExplainedByGroup(const Model& model, const SafetyVerdict& verdict, const PreparedRecord& x,
                              const std::vector<const PreparedRecord*>& group, const PreparedRecord& y) {
  if (verdict.reason == kDobDifferNoNumber) return DatesExplainedByGroup(model, x, group, y);
  if (verdict.reason == kTwinsNames) return SlipExplainedByGroup(model, x, group, y);
  if (verdict.reason != kGivenConflict && verdict.reason != kMiddleConflict) return false;
  if (SlipExplainedByGroup(model, x, group, y) || OrderExplainedByGroup(model, x, group, y)) return true;
  // A first name another contributor also gives is a name, not a slip: a
  // twin's records name her alike wherever she is seen (Sharon at a
  // community trust and a council, on her sister Linda's number).
  const bool attested = std::any_of(group.begin(), group.end(), [&](const PreparedRecord* m) {
    return m != &x && m != &y && m->source != x.source && !x.given1.empty() && m->given1 == x.given1;
  });
  if (attested) return false;
  bool x_mistyped = false, y_agrees = false;
  for (const PreparedRecord* m : group) {
    if (m == &x || m == &y) continue;
    x_mistyped = x_mistyped || model.Score(x, *m).safety.names_overridden;
    if (!y_agrees) {
      // y's names agree with m's, and so do their dates of birth: a record
      // without a date (a namesake's, as likely as this person's) does not
      // qualify.
      const ScoredPair s = model.Score(*m, y);
      y_agrees = s.safety.safety == PairSafety::kSafe && !s.safety.names_overridden &&
                 GammaOf(s.pattern, comparison::kDateOfBirth) == kDobExact;
    }
    if (x_mistyped && y_agrees) return true;
  }
  return false;
}

bool RelativeOfEach(const Model& model, const PreparedRecord& holder,
                    const std::vector<const PreparedRecord*>& owners) {
  bool told = false;
  for (const PreparedRecord* owner : owners) {
    const ScoredPair s = model.Score(holder, *owner);
    if (RelativesNumber(holder, *owner, s.safety) || s.safety.reason == kGenerationApartOnNumber) {
      told = true;
    } else if (!NamesInWrongFields(s.pattern)) {
      return false;
    }
  }
  return told;
}

const char* CrossPairRefusal(const Model& model, const PreparedRecord& x, const PreparedRecord& y,
                             const std::vector<const PreparedRecord*>& joined) {
  const ScoredPair s = model.Score(x, y);
  double weight = s.match_weight;
  if (s.safety.safety != PairSafety::kSafe) {
    // Read against every other record of the two groups: which of them
    // holds the record that explains the conflict is the order links
    // arrived in, not who the records are.
    if (!ConflictExplainedByGroup(model, s.safety, x, joined, y) &&
        !ConflictExplainedByGroup(model, s.safety, y, joined, x)) {
      return s.safety.reason.data();
    }
    // The records explain the conflict; the rest of the pair must hold as
    // for any other (the weight before the rule's cap).
    weight = model.Weight(s.pattern, x, y);
  }
  if (weight < model.review_weight() && !DiffersOnlyByLifeEvents(s.pattern) && !WitnessedTwice(model, x, y, joined)) {
    return "weak group";
  }
  return nullptr;
}

bool NamesakeAtHome(const Model& model, const PreparedRecord& x, const PreparedRecord& best,
                    const PreparedRecord& other) {
  if (x.dob != 0 || x.nhs == 0 || x.nhs != best.nhs || other.nhs == x.nhs) return false;
  if (best.dob == 0 || other.dob == 0 || best.dob == other.dob || !SharedHome(x, other)) return false;
  if (!x.given2.empty() && x.given2 == best.given2 && x.given2 != other.given2) return false;
  const ScoredPair o = model.Score(x, other);
  if (o.safety.safety != PairSafety::kSafe) return false;
  const uint32_t b = ComparePair(x, best);
  const int family = GammaOf(o.pattern, comparison::kFamilyName);
  const int given = GammaOf(o.pattern, comparison::kGivenNames);
  return (family == kNameExact || family == kFamilyClose || family == GammaOf(b, comparison::kFamilyName)) &&
         given != 0 &&
         (given == kNameExact || given == kGivenNickname || given == kGivenClose ||
          given == GammaOf(b, comparison::kGivenNames));
}

double NamesakeFloor(const Model& model, const PreparedRecord& x, double contest_floor) {
  return x.dob == 0 && x.nhs != 0 ? std::min(contest_floor, model.review_weight()) : contest_floor;
}

bool Contests(const Model& model, const PreparedRecord& x, const PreparedRecord& best, double best_weight,
              const PreparedRecord& other, double other_weight, double contest_floor, double margin_bits) {
  if (other_weight < NamesakeFloor(model, x, contest_floor)) return false;
  if (other_weight < contest_floor) return NamesakeAtHome(model, x, best, other);
  return !DecisivelyBetter(model, x, best, best_weight, other, other_weight, margin_bits);
}

bool DecisivelyBetter(const Model& model, const PreparedRecord& x, const PreparedRecord& best, double best_weight,
                      const PreparedRecord& other, double other_weight, double margin_bits) {
  if (best_weight - other_weight < margin_bits || NamesakeAtHome(model, x, best, other)) return false;
  const ScoredPair b = model.Score(x, best);
  const int given_best = GammaOf(b.pattern, comparison::kGivenNames);
  const bool by_number = x.nhs != 0 && x.nhs == best.nhs && given_best != kNameExact;
  if (!b.safety.names_overridden && !by_number) return true;
  const ScoredPair o = model.Score(x, other);
  const int given = GammaOf(o.pattern, comparison::kGivenNames);
  // Names that conflict with the number's person agree with the other's
  // unless they conflict there too; names only alike to the number's
  // person's agree with the other's if they fit them better, at one home
  // on the same date of birth (a twin with a number of its own).
  const bool twin_fits_better =
      other.nhs != 0 && other.nhs != x.nhs && GammaOf(o.pattern, comparison::kDateOfBirth) == kDobExact &&
      SharedHome(x, other) &&
      model.LevelWeight(comparison::kGivenNames, given) > model.LevelWeight(comparison::kGivenNames, given_best);
  const bool names_agree = given != 0 && given != kGivenElse && (b.safety.names_overridden || twin_fits_better);
  return o.safety.safety != PairSafety::kSafe || o.safety.names_overridden || !names_agree;
}

Clustering ClusterRecords(const ClusterInput& in, std::vector<ScoredLink> links) {
  // Scoring hands links over in whatever order its threads finished; every
  // step below breaks ties by the order it meets links in, so that order is
  // fixed first: strongest first, then by record.
  std::sort(links.begin(), links.end(), [](const ScoredLink& x, const ScoredLink& y) {
    if (x.match_weight != y.match_weight) return x.match_weight > y.match_weight;
    return x.a != y.a ? x.a < y.a : x.b < y.b;
  });
  Clustering out = ClusterAll(in, links);
  KeepStrongestPerPersonPair(&out);
  return out;
}

namespace {

// Whether each record's strongest link (`links` strongest first) is at the
// link threshold and held only by the NHS number and date of birth against
// given names that conflict (Model::ContestFloor).
std::vector<bool> BestLinkNamesOverridden(const Model& model, const std::vector<PreparedRecord>& records,
                                          const std::vector<ScoredLink>& links) {
  std::vector<bool> seen(records.size(), false), overridden(records.size(), false);
  for (const ScoredLink& l : links) {
    if (l.match_weight < model.link_weight()) break;
    if (seen[l.a] && seen[l.b]) continue;
    const bool by_number = NumberOverridesNames(model, records[l.a], records[l.b]);
    for (uint32_t r : {l.a, l.b}) {
      if (!seen[r]) overridden[r] = by_number;
      seen[r] = true;
    }
  }
  return overridden;
}

Clustering ClusterAll(const ClusterInput& in, const std::vector<ScoredLink>& links) {
  const MissingNumberShares missing_shares(*in.records, in.model->number_gaps);
  Clustering first = ClusterOnce(in, links, missing_shares);
  // A new record with links at the link threshold into two persons that
  // could not be joined (a father and son of one name and address, seen by
  // a record with no date of birth) would stay with whichever came first.
  // It is ambiguous: it joins neither, and its links go to review.
  const double link_weight = in.model->link_weight();
  const auto& records = *in.records;
  std::vector<bool> ambiguous(records.size(), false);
  size_t n_ambiguous = 0;
  const std::vector<bool> overridden = BestLinkNamesOverridden(*in.model, records, links);
  auto contest_floor = [&](uint32_t x) { return in.model->ContestFloor(records[x], overridden[x]); };
  // Links are gathered down to NamesakeFloor; below the contest floor only
  // a namesake at the record's home contests it.
  auto floor = [&](uint32_t x) { return NamesakeFloor(*in.model, records[x], contest_floor(x)); };
  // Links at each record's floor by record, as one offsets array and one
  // entries array rather than a vector per record.
  const size_t n = records.size();
  std::vector<uint32_t> offset(n + 1, 0);
  for (const ScoredLink& l : links) {
    if (l.match_weight >= floor(l.a)) ++offset[l.a + 1];
    if (l.match_weight >= floor(l.b)) ++offset[l.b + 1];
  }
  for (size_t i = 0; i < n; ++i) offset[i + 1] += offset[i];
  std::vector<std::pair<uint32_t, double>> strong(offset[n]);
  {
    std::vector<uint32_t> fill(offset.begin(), offset.end() - 1);
    for (const ScoredLink& l : links) {
      if (l.match_weight >= floor(l.a)) strong[fill[l.a]++] = {l.b, l.match_weight};
      if (l.match_weight >= floor(l.b)) strong[fill[l.b]++] = {l.a, l.match_weight};
    }
  }
  const double kNoBest = -1e300;
  // Another record of x's person that x links to and that links, safely,
  // to y as well: then the two persons stay apart over records other than
  // x, not over which of them x is.
  auto partner_also_links = [&](uint32_t x, uint32_t y) {
    for (uint32_t k = offset[x]; k < offset[x + 1]; ++k) {
      uint32_t w = strong[k].first;
      if (w == y || first.group[w] != first.group[x] || strong[k].second < link_weight) continue;
      // Two numbered persons (twins) stay apart over their numbers, which
      // says nothing of which one a numbered record is.
      if (records[x].nhs != 0 && records[w].nhs != 0 && records[y].nhs != 0 && records[w].nhs != records[y].nhs) {
        continue;
      }
      ScoredPair s = in.model->Score(records[w], records[y]);
      if (s.safety.safety == PairSafety::kSafe && s.match_weight >= link_weight) return true;
    }
    return false;
  };
  for (uint32_t x = 0; x < n; ++x) {
    if ((*in.existing_person)[x] != 0 || offset[x + 1] - offset[x] < 2) continue;
    uint32_t own = first.group[x];
    double best_own = kNoBest, best_elsewhere = kNoBest;
    uint32_t own_best = x, elsewhere = x;
    for (uint32_t k = offset[x]; k < offset[x + 1]; ++k) {
      auto [y, w] = strong[k];
      if (first.group[y] == own) {
        if (w > best_own) {
          best_own = w;
          own_best = y;
        }
      } else if (w > best_elsewhere) {
        best_elsewhere = w;
        elsewhere = y;
      }
    }
    // The odds between the two persons are 2^(best_own - best_elsewhere).
    // A record that matches the other person better is ambiguous whatever
    // its partners do (a twin's record held from its own twin by a name
    // rule, let into the other twin's person).
    if (best_own == kNoBest || best_elsewhere == kNoBest) continue;
    const bool contested = Contests(*in.model, records[x], records[own_best], best_own, records[elsewhere],
                                    best_elsewhere, contest_floor(x), in.decisive_margin_bits);
    if (contested && (best_own < best_elsewhere || !partner_also_links(x, elsewhere))) {
      ambiguous[x] = true;
      ++n_ambiguous;
    }
  }
  if (n_ambiguous == 0) return first;
  std::vector<ScoredLink> kept;
  std::vector<ReviewPair> held;
  for (const ScoredLink& l : links) {
    if (l.match_weight >= link_weight && (ambiguous[l.a] || ambiguous[l.b])) {
      held.push_back({l.a, l.b, l.match_weight, "ambiguous: matches more than one person"});
    } else {
      kept.push_back(l);
    }
  }
  Clustering second = ClusterOnce(in, kept, missing_shares);
  second.review.insert(second.review.end(), held.begin(), held.end());
  second.links_refused += held.size();
  return second;
}

}  // namespace
}  // namespace empi
