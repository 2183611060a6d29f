// Copyright EMPI developers.
//
// safety.h: rules that keep two people of one family apart whatever their
// match weight says.
//
// Fellegi-Sunter adds the evidence of each comparison as if the fields were
// independent given the match status. Within a family they are not: twins
// share a family name, a date of birth, an address and often a sex; a parent
// and an adult child share all but the date of birth; and a parent's NHS
// number is sometimes written on a child's record. Summed, that shared
// evidence outweighs the one field that tells the two apart (the given name,
// or a date of birth a generation away), so a pure Fellegi-Sunter model
// merges them. A false merge puts one person's medicines and allergies in
// front of a clinician treating another, so these rules are applied after
// scoring and before clustering, in the batch linker, the real-time engine,
// searches and explanations alike (docs/matching.md):
//
//   1. Dates of birth a generation apart (both known, not a keying error
//      of one another, 15 or more years between the years): two people
//      (a parent and an adult child of one name and address). An exact
//      NHS number with given names that do not conflict is a date keyed a
//      generation out or a junior with his father's number: a steward
//      decides (kReview), an estimated date too (a guess is off by a few
//      years, not a generation). Identifiers not checked as NHS numbers
//      that agree (or but for one keying slip) leave the pair to the
//      weight: nobody writes a contributor's own identifier on a
//      relative's record.
//   2. Dates of birth two or more years apart with no NHS number in common
//      (neither an estimate, 1 January or 1 July): two people (siblings of
//      one name at one address).
//   2b. Dates of birth that differ beyond a keying error but by less than
//      two years, with no NHS number in common (neither an estimate): a
//      steward decides (kReview). Siblings of one first name born months
//      apart, one without an NHS number, look otherwise like one person.
//   3. Given names that conflict (not equal, not equivalent by the nickname
//      table, not swapped, not an initial, not a similar spelling; names
//      that only sound alike count as conflicting three edits apart), or
//      middle names that conflict: an NHS number that agrees (exactly, or
//      but for one keying slip) with dates of birth that agree but for a
//      keying error and sexes that do not differ identifies the person, and
//      the weight decides; with the number alone (or the sexes differing
//      too: a twin's number; or dates months apart: a sibling's) a steward
//      decides (a relative's number: kReview); without one they are two
//      people (kDistinct). Identifiers read raw, never checked as NHS
//      numbers (FieldConventions), leave it to the weight, whether they
//      agree or differ. Given names only alike in spelling (Ming and Jing)
//      with sexes that differ, on one NHS number with no date of birth to
//      confirm it (missing, or another date), are held the same way: a
//      spouse's or sibling's number (kReview); so are such names two or
//      more edits apart on one date (Hassan and Hasna): a twin's.
//   4. Given names that differ by two or more edits (Jack and Jake, Emily
//      and Emma) on records born the same day, without an NHS number in
//      common: the signature of twins, and a steward decides (kReview). A
//      single keying slip (one edit) is not held, unless the sexes differ
//      too (Christina and Christian, Mary and Mark).
//
// A kDistinct pair's weight is capped below the review threshold, a
// kReview pair's below the link threshold (Model::Score, Model::Capped),
// so the rules act wherever weights are compared, and the explanation shows
// the cap as the waterfall's last step.
//
// Thread-safety: pure functions.
#ifndef EMPI_LINKAGE_SAFETY_H_
#define EMPI_LINKAGE_SAFETY_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/linkage/prepared_record.h"

namespace empi {

// Values are written in review reasons by name only; order is not stored.
enum class PairSafety : uint8_t {
  kSafe = 0,      // the weight decides
  kReview = 1,    // never linked automatically; a steward decides
  kDistinct = 2,  // two people: neither linked nor reviewed
};

struct SafetyVerdict {
  PairSafety safety = PairSafety::kSafe;
  std::string_view reason;  // empty when kSafe; static storage
  // kSafe although the given or middle names conflict: the NHS number and
  // the date of birth decided (rule 3). One of the two names is then a
  // keying error, and clustering knows that record's name is unreliable
  // (ConflictExplainedByGroup, clustering.h).
  bool names_overridden = false;
};

// Every reason CheckPairSafety gives, as review reasons and explanations
// name them.
inline constexpr std::string_view kGenerationApart = "dates of birth a generation apart";
inline constexpr std::string_view kYearsApartNoNumber = "dates of birth years apart, no shared NHS number";
inline constexpr std::string_view kDobDifferNoNumber = "dates of birth differ, no shared NHS number";
inline constexpr std::string_view kGivenConflict = "given names conflict";
inline constexpr std::string_view kMiddleConflict = "middle names conflict";
inline constexpr std::string_view kGivenConflictOnNumber = "given names conflict on a shared NHS number";
inline constexpr std::string_view kMiddleConflictOnNumber = "middle names conflict on a shared NHS number";
inline constexpr std::string_view kTwinsNames = "given names differ on a shared date of birth (twins?)";
inline constexpr std::string_view kGenerationApartOnNumber = "dates of birth a generation apart on a shared NHS number";
inline constexpr std::string_view kSafetyReasons[] = {
    kGenerationApart,       kYearsApartNoNumber,     kDobDifferNoNumber, kGivenConflict,          kMiddleConflict,
    kGivenConflictOnNumber, kMiddleConflictOnNumber, kTwinsNames,        kGenerationApartOnNumber};

// Years between dates of birth at which two records are of different
// generations (the youngest mothers in England are 15 to 17 at a birth).
inline constexpr int kGenerationYears = 15;

// The verdict for records `a` and `b` whose comparison pattern is `pattern`
// (ComparePair(a, b)). Symmetric in (a, b).
SafetyVerdict CheckPairSafety(const PreparedRecord& a, const PreparedRecord& b, uint32_t pattern);

// Whether `holder`, which carries `owner`'s NHS number exactly, is another
// member of the owner's family whose record was given the owner's number
// (a parent's number on a child's record, a spouse's or a sibling's), by
// their pair's verdict: dates of birth a generation apart, or given names
// that conflict with sexes that differ or with dates of birth two or more
// years apart (neither missing nor an estimate). Twins of one sex are never
// told apart this way: nothing but the number does.
bool RelativesNumber(const PreparedRecord& holder, const PreparedRecord& owner, const SafetyVerdict& verdict);

// Whether the valid NHS number of `holder` is a relative's, by the other
// records carrying it exactly (`others`): more of them are the holder's
// relatives (RelativesNumber) than are not, counting the holder among the
// latter (NumberOutnumbered), and no two of those relatives are relatives
// of each other (they are one person, the number's owner). A record beside
// which the holder's names are in the wrong fields (NamesInWrongFields)
// counts neither way. A parent with one record and two children each with
// the parent's number on one: nobody's number is voided. Judged on the
// pairs' comparisons alone, without a model, so before training.
bool NumberIsARelatives(const PreparedRecord& holder, const std::vector<const PreparedRecord*>& others);

// Whether one record of the pair has its names in the wrong fields (levels
// "given and family names swapped" or "family name is the other's given
// name"): its given names are not compared, so its verdict cannot tell a
// relative (RelativesNumber) unless the dates of birth do.
bool NamesInWrongFields(uint32_t pattern);

// Whether a number that records of a group carry (`mine` of them) is
// another person's, by how often: a relative's group carries it on
// `theirs` records, and the person the group would join carries a number
// of their own on `joined_own`. More often elsewhere, it is theirs. As
// often, it is theirs when the person being joined carries their own
// number more often still ("Jennifer Hughes" on one record with her
// brother's number, on three with her own, and one record of his with
// it): the join shows whose number the record was meant to carry.
inline bool NumberOutnumbered(size_t mine, size_t theirs, size_t joined_own) {
  return theirs > mine || (theirs == mine && joined_own > mine);
}

// Whether a pair's comparison pattern differs only where a person's life
// changes a record: family name (marriage) and postcode and address (a
// move). The fields a person keeps agree: the given name (equal, a nickname,
// swapped with the middle name, or a close spelling), the date of birth
// (equal, day and month swapped, or one keying slip; or missing on a side,
// or an estimate within a year, when the family name agrees or sounds
// alike), the sex (unless missing) and the NHS number
// (unless missing). Such a pair may score below the review threshold (two
// fields disagree) and still be one person, so clustering's "weak group"
// check does not count it against joining two groups that a strong link
// already joins (clustering.h).
bool DiffersOnlyByLifeEvents(uint32_t pattern);

// Optimal string alignment distance (Levenshtein with adjacent
// transpositions counted once) of two short strings, stopping at `cap`.
int EditDistance(std::string_view a, std::string_view b, int cap);

}  // namespace empi

#endif  // EMPI_LINKAGE_SAFETY_H_
