// Copyright EMPI developers.
//
// clustering.h: from scored pairs to persons, without chaining into false
// merges.
//
// Links are applied strongest first (union-find). Two groups are joined
// only when all of these hold; otherwise the pair goes to review with the
// reason:
//   - the union holds at most one valid NHS number ("nhs conflict"),
//     not counting a number that is someone else's in the group carrying
//     it: a third group carries it on more records (or as often, while the
//     union carries a number of its own on more), and each of this group's
//     records with it is another member of that family than each of them
//     (RelativeOfEach: a generation apart, or conflicting given names with
//     another sex or born years apart; a parent's, spouse's or sibling's
//     number on the record; or one name a generation apart, a junior's),
//     and not counting a relative's number compared as missing
//     (nhs_relatives, NumberIsARelatives in safety.h);
//   - at most one of them is a person already stored ("existing persons":
//     joining stored persons is a steward's decision, never automatic);
//   - no pair across them was marked never-to-link ("never link");
//   - every pair across them scores at least the review threshold, i.e. is
//     more likely the same person than not ("weak group"): a record that
//     matches two people well cannot pull them together. A pair that
//     differs only where a life changes a record (family name and address:
//     a marriage and a move; DiffersOnlyByLifeEvents in safety.h) is not
//     counted against the join: the strong link decides; nor is a pair
//     that two records of the union with a date of birth each link at the
//     link threshold, safely (two witnesses, not one record matching two
//     people);
//   - no pair across them is held apart by the safety rules of safety.h
//     (twins, a parent and child): the rule's reason. A conflict that the
//     two groups' other records explain (a record whose given name was
//     mistyped, let in by its NHS number; a slip on one side and a nickname
//     on the other of a name in the group; dates of birth each a keying
//     error from a group record's; ConflictExplainedByGroup) is not held
//     against the join, whichever group holds the record that explains it.
// Pairs between the review and link thresholds whose records end in
// different persons go to review ("between thresholds"), except a record
// carrying a relative's number and a record of the number's owner
// (RelativesNumber): two members of one family. Of the pairs
// between two persons only the strongest is kept: one decision for a
// steward per pair of persons. A new record whose
// links at the link threshold reach two persons that stay apart, neither
// decisively better (DecisivelyBetter), joins neither ("ambiguous:
// matches more than one person"), unless another record of its own person
// that it links to also links, safely and at the link threshold, to the
// other person's record: then the persons stay apart over records other
// than this one (a record with a wrong date of birth beside one with a
// wrong given name), not over which person this record is. Not so for a
// record with a number when the two records carry numbers that differ:
// twins, or one person under two numbers, stay apart over their numbers,
// and which of them the record is remains the question. A record with
// only household evidence (PreparedRecord::HouseholdEvidenceOnly: no date
// of birth, no number of its own) is contested by a second person at the
// review threshold, not only at the link threshold (Model::ContestFloor).
//
// Thread-safety: single-threaded; the caller parallelises scoring.
#ifndef EMPI_LINKAGE_CLUSTERING_H_
#define EMPI_LINKAGE_CLUSTERING_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "engine/linkage/model.h"

namespace empi {

// How much stronger (log2 odds) a record's best match must be than a match
// to another person for the best to be taken: 10 bits, odds of about 1000
// to 1.
inline constexpr double kDecisiveMarginBits = 10;

// Whether record x's best match, record `best` of one person scoring
// `best_weight`, decides between that person and another whose best match
// is record `other` scoring `other_weight`: it is `margin_bits` stronger,
// and it is not held only by an NHS number against conflicting given names
// (SafetyVerdict::names_overridden) while x's names agree with `other`
// (the pair is safe and its given names are not "else": a record whose
// names conflict with both persons' is decided by the margin). Nor is it
// held by x's NHS number against given names only alike to best's (John
// beside Joshua) while x's given names fit `other`'s better, born the same
// day at one home (a postcode unit or an address), on a number of its own. A twin's number on a record carrying the
// twin's own names outweighs the names by far more than the margin; which
// field was keyed wrongly is a steward's question. Batch clustering, the
// real-time ingest and objection forms all decide ambiguity by it.
bool DecisivelyBetter(const Model& model, const PreparedRecord& x, const PreparedRecord& best, double best_weight,
                      const PreparedRecord& other, double other_weight, double margin_bits = kDecisiveMarginBits);

// Whether record x, with no date of birth, held to record `best` by x's
// NHS number, could as well be `other`'s: a namesake of best's person
// (family and given names that agree with x's, or fit x as well as best's
// do) born on another day, at x's home (a postcode unit or an address),
// with another number or none, and the pair x, other safe. A father and son
// of one name at one address: the son's record may carry his father's
// number (a junior), and nothing on an undated record tells the two apart,
// unless a middle name x shares with best and not with other (Delroy Clive
// beside his son Delroy). Then neither person is decisively better.
bool NamesakeAtHome(const Model& model, const PreparedRecord& x, const PreparedRecord& best,
                    const PreparedRecord& other);

// The weight down to which a second person is looked at for record x whose
// contest floor (Model::ContestFloor) is `contest_floor`: the review
// threshold for a record with no date of birth and an NHS number, where
// below the contest floor only a namesake at its home (NamesakeAtHome)
// contests it; the contest floor otherwise.
double NamesakeFloor(const Model& model, const PreparedRecord& x, double contest_floor);

// Whether another person, whose best match to record x is `other` scoring
// `other_weight`, contests x's best match (`best`, scoring `best_weight`)
// for a record whose contest floor (Model::ContestFloor) is
// `contest_floor`: at or above it, unless the best is decisively better
// (DecisivelyBetter); below it but not below NamesakeFloor, as a namesake
// at x's home (NamesakeAtHome). Batch clustering and the real-time ingest
// and objection forms decide a contest by it alone.
bool Contests(const Model& model, const PreparedRecord& x, const PreparedRecord& best, double best_weight,
              const PreparedRecord& other, double other_weight, double contest_floor,
              double margin_bits = kDecisiveMarginBits);

// The review reason of a pair whose records belong to two different stored
// persons, which a link never joins by itself (empi relink settles them).
inline constexpr const char* kReasonExistingPersons = "existing persons";
// The review reasons of two groups held apart as twins registered together
// (RegisteredTogether, clustering.cc): two contributors each hold a record
// of both, or one GP practice does.
inline constexpr const char* kReasonTwinsInTwoContributors = "twins? two contributors each hold a record of both";
inline constexpr const char* kReasonTwinsAtOnePractice = "twins? one GP practice holds a record of each";
// The review reasons of two groups held apart, one of them without an NHS
// number where its contributors record one (UnnumberedApart,
// clustering.cc): as twins, or as namesakes.
inline constexpr const char* kReasonTwinsUnnumbered =
    "twins? one has no NHS number where its contributors record one, and other first names";
inline constexpr const char* kReasonUnnumberedNamesake =
    "namesakes? one has no NHS number where its contributors record one";
// A group of records is too unlikely to be one numbered patient's when the
// chance that every one of its contributors left the number off is below
// this: a fifth of the share of twins among persons (about 1 in 60).
inline constexpr double kUnnumberedByChance = 0.003;
// The share of persons who carry no NHS number in any record (recent
// arrivals, overseas visitors; docs/matching.md): the chance that a person
// other than a numbered namesake has every record without one.
inline constexpr double kPersonsWithoutNumber = 0.01;

struct ScoredLink {
  uint32_t a, b;
  double match_weight;  // after the safety cap (safety.h)
  // Why the safety rules hold the pair for review (a static string), or
  // empty.
  std::string_view held_by = {};
};

struct ReviewPair {
  uint32_t a, b;
  double match_weight;
  std::string reason;
};

struct ClusterInput {
  const std::vector<PreparedRecord>* records;
  // Stored person of each record, 0 for a record not yet in any person.
  const std::vector<uint64_t>* existing_person;
  // Pairs (a < b) a steward marked never to be linked.
  const absl::flat_hash_set<std::pair<uint32_t, uint32_t>>* never_link;
  const Model* model;
  // Cap on pairs compared to check one join; a larger join goes to review.
  size_t max_join_comparisons = 10'000;
  // A record linking into two persons that stay apart joins the better one
  // only when its best link there is this many bits (log2 odds) stronger
  // than its best link to the other; otherwise it is ambiguous.
  double decisive_margin_bits = kDecisiveMarginBits;
};

struct Clustering {
  // Group of each record: a representative record index. Records with the
  // same representative are one person.
  std::vector<uint32_t> group;
  std::vector<ReviewPair> review;
  uint64_t links_applied = 0;
  uint64_t links_refused = 0;
};

// Whether records `x` and `y`, held apart as two people because their given
// or middle names conflict or look like twins', or their dates of birth
// differ (`verdict`, with no NHS number in common), may still be one person
// because of `group`: the other records of the person they would make
// (CrossPairRefusal passes both groups of a join; `group` may include x and
// y, which are not counted). One of:
//   - x's name already conflicts with a record of the group that shares
//     its NHS number and date of birth (so x's name is a keying error, let
//     in by the number), no record of the group from another contributor
//     gives x's first name (a name two contributors give is not a slip),
//     and y's names and date of birth agree with another record of the
//     group (a record without a date of birth may be a namesake's and does
//     not qualify); or
//   - x's and y's names are a slip and a nickname apart (GivenMisspeltForm:
//     Haroold and Harry), and one of them is a slip of a group record's first
//     or second name (Harold; Dorothby by Agnes Dorothy), the other that
//     name, its nickname, or a name with it as the middle name (Matthew
//     Stephen beside Steohen, by Stephen), all born the same day
//     (or two slips of one known name: Keneth and Kennneth by Kenneth);
//   - y is a group record's names in another order (the same two given
//     names the other way round; or given and family in each other's
//     fields, on that record's own NHS number), born the same day, the
//     group going by that record's first name more often than by y's; and
//     x's names agree with the record's first name, born the same day
//     (Mick, and Walter Michael, by Michael Walter);
//   - x's and y's dates of birth are each one keying error (a digit, two
//     digits swapped, day and month swapped) from the date of a group
//     record whose given names agree with both.
// A twin's records never qualify: they conflict with every record of the
// other twin, and agree with none. A sibling born months apart is one
// keying error from none of the other's records.
bool ConflictExplainedByGroup(const Model& model, const SafetyVerdict& verdict, const PreparedRecord& x,
                              const std::vector<const PreparedRecord*>& group, const PreparedRecord& y);

// Why records `x` and `y`, across two groups about to be joined (`joined`:
// the records of both, x and y among them), keep the groups apart, or
// nullptr: a safety rule that the joined records do not explain
// (ConflictExplainedByGroup), by the rule's reason; or a weight below the
// review threshold that is not a life event's and that two dated records
// of the union are not each sure of ("weak group"), taken before the rule's
// cap where the records explained the rule. Batch clustering and the
// real-time ingest check every pair across a join by it.
const char* CrossPairRefusal(const Model& model, const PreparedRecord& x, const PreparedRecord& y,
                             const std::vector<const PreparedRecord*>& joined);

// Whether `holder`, carrying the number of the person whose records are
// `owners`, is a relative of that person (RelativesNumber with each
// record). A record of theirs with the names in the wrong fields on one
// side ("Lre | James"), whose verdict cannot tell relatives, is passed over;
// at least one record must tell. Asked only of a record that links at the
// link threshold to a person with another number, so a verdict of one name
// a generation apart on the number (kGenerationApartOnNumber: a junior
// with his father's number, or a date keyed a generation out) tells a
// relative too: the record's date agrees with the person it joins.
// NumberIsARelatives (safety.h), which has no such person to go by, does
// not count it.
bool RelativeOfEach(const Model& model, const PreparedRecord& holder, const std::vector<const PreparedRecord*>& owners);

// `links` holds every scored pair at or above the review threshold.
Clustering ClusterRecords(const ClusterInput& input, std::vector<ScoredLink> links);

}  // namespace empi

#endif  // EMPI_LINKAGE_CLUSTERING_H_
