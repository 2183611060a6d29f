// Copyright EMPI developers.
#include "engine/linkage/safety.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>

#include "engine/linkage/clustering.h"
#include "engine/linkage/model.h"
#include "gtest/gtest.h"

namespace empi {
namespace {

Record Person(const char* given, const char* family, const char* dob, const char* nhs, const char* sex = "M") {
  Record r;
  r.source = "RKB";
  r.record_id = given;
  r.given_names = given;
  r.family_name = family;
  r.date_of_birth = dob;
  r.nhs_number = nhs;
  r.sex = sex;
  r.postcode = "CV32 5QN";
  r.address = "12 Warwick Road, Kenilworth";
  return r;
}

PreparedRecord Prep(const Record& r) { return PrepareRecord(r, {}); }

SafetyVerdict Verdict(const Record& a, const Record& b) {
  PreparedRecord pa = Prep(a), pb = Prep(b);
  return CheckPairSafety(pa, pb, ComparePair(pa, pb));
}

// A model whose weights a household's shared fields carry over the link
// threshold: without the rules, the pairs below would merge.
Model HouseholdModel() {
  Model m = Model::Default();
  m.lambda_ = 1e-3;
  m.Refresh();
  return m;
}

constexpr char kNhsFather[] = "9434765919";
constexpr char kNhsTwin[] = "9434765870";

TEST(PairSafety, TwinsWithoutNhsNumberOnOneAreTwoPeople) {
  Record kieran = Person("Kieran", "Doyle", "1990-04-12", kNhsTwin);
  Record daniel = Person("Daniel", "Doyle", "1990-04-12", "");
  SafetyVerdict v = Verdict(kieran, daniel);
  EXPECT_EQ(v.safety, PairSafety::kDistinct);
  EXPECT_EQ(v.reason, "given names conflict");
  // The household's evidence alone would have linked them.
  const Model model = HouseholdModel();
  PreparedRecord a = Prep(kieran), b = Prep(daniel);
  ASSERT_GE(model.Weight(ComparePair(a, b), a, b), model.link_weight());
  EXPECT_LT(model.Score(a, b).match_weight, model.review_weight());
}

TEST(PairSafety, TwinsWithSimilarNamesGoToReview) {
  SafetyVerdict v = Verdict(Person("Jack", "Doyle", "1990-04-12", ""), Person("Jake", "Doyle", "1990-04-12", ""));
  EXPECT_EQ(v.safety, PairSafety::kReview);
  const Model model = HouseholdModel();
  PreparedRecord a = Prep(Person("Jack", "Doyle", "1990-04-12", "")),
                 b = Prep(Person("Jake", "Doyle", "1990-04-12", ""));
  EXPECT_LT(model.Score(a, b).match_weight, model.link_weight());
}

// Twins of another sex and names one edit apart, one without a number
// (cases from a population of another generator, each once merged): a
// steward decides. Of one sex, one edit is a keying slip and the weight
// decides.
TEST(PairSafety, TwinsOfAnotherSexWithNamesOneEditApartGoToReview) {
  for (auto [x, y] : {std::pair{"Christina", "Christian"}, {"Mary", "Mark"}, {"Jessie", "Jesse"}}) {
    const Record girl = Person(x, "Kumar", "1995-07-10", kNhsTwin, "F"), boy = Person(y, "Kumar", "1995-07-10", "");
    SafetyVerdict v = Verdict(girl, boy);
    EXPECT_EQ(v.safety, PairSafety::kReview) << x << " " << y;
    EXPECT_EQ(v.reason, kTwinsNames) << x << " " << y;
    EXPECT_EQ(
        Verdict(Person(x, "Kumar", "1995-07-10", kNhsTwin, "F"), Person(y, "Kumar", "1995-07-10", "", "F")).safety,
        PairSafety::kSafe)
        << x << " " << y << ": one sex";
  }
  // One record with the sex missing, or one given name equal: the weight decides.
  EXPECT_EQ(
      Verdict(Person("Mary", "Kumar", "1995-07-10", "", "F"), Person("Mark", "Kumar", "1995-07-10", "", "")).safety,
      PairSafety::kSafe);
  EXPECT_EQ(
      Verdict(Person("Mary", "Kumar", "1995-07-10", "", "F"), Person("Mary", "Kumar", "1995-07-10", "", "M")).safety,
      PairSafety::kSafe);
}

// A slip on a nickname (Haroold for Harold, whose nickname is Harry) is
// not a conflict of names, but on one date of birth without a number it is
// a twins' pair all the same (Lkuis, twin of Lewis, mistyped from Louis):
// only the person's other records can tell (clustering_test).
TEST(PairSafety, ANicknameWithASlipIsATwinsPairOnOneDate) {
  for (auto [x, y] : {std::pair{"Harry", "Haroold"}, {"Lewis", "Lkuis"}}) {
    const SafetyVerdict v = Verdict(Person(x, "Fraser", "2000-09-16", ""), Person(y, "Fraser", "2000-09-16", ""));
    EXPECT_EQ(v.safety, PairSafety::kReview) << x << " " << y;
    EXPECT_EQ(v.reason, kTwinsNames) << x << " " << y;
  }
  EXPECT_EQ(Verdict(Person("Harry", "Fraser", "2000-09-16", ""), Person("Haroold", "Fraser", "", "")).safety,
            PairSafety::kSafe);
  const SafetyVerdict v =
      Verdict(Person("Jessica", "Smith", "1992-06-17", "", "F"), Person("Jesse", "Smith", "1992-06-17", "", "M"));
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, kTwinsNames);
}

TEST(PairSafety, ParentsNumberOnChildsRecordIsNotALink) {
  // The son's social-care record carries his father's NHS number.
  Record father = Person("Michael", "Doyle", "1956-02-03", kNhsFather);
  Record son = Person("Liam", "Doyle", "1990-07-21", kNhsFather);
  SafetyVerdict v = Verdict(father, son);
  EXPECT_EQ(v.safety, PairSafety::kDistinct);
  EXPECT_EQ(v.reason, "dates of birth a generation apart");
}

TEST(PairSafety, ParentAndChildOfOneNameAreTwoPeopleUnlessTheNumberSaysOtherwise) {
  Record father = Person("John", "Doyle", "1956-02-03", kNhsFather);
  SafetyVerdict v = Verdict(father, Person("John", "Doyle", "1988-02-03", ""));
  EXPECT_EQ(v.safety, PairSafety::kDistinct);
  EXPECT_EQ(v.reason, "dates of birth a generation apart");
  // One NHS number, one name: a date of birth keyed a generation out, or a
  // junior with his father's number (the independent population's Jesse
  // Cole, 1963, and Jesse Jeremy Cole, 1999, once merged). A steward decides.
  const Record junior = Person("John", "Doyle", "1988-02-03", kNhsFather);
  v = Verdict(father, junior);
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, kGenerationApartOnNumber);
  // An estimated date (1 January of a guessed year) is a guess within a few
  // years, not a generation out (the independent population's William
  // Foster, 2008-01-01 beside his father's 1978 and his number, once merged).
  v = Verdict(father, Person("John", "Doyle", "1988-01-01", kNhsFather));
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, kGenerationApartOnNumber);
  // So it does for a contributor's identifier not checked as an NHS number.
  PreparedRecord a = PrepareRecord(father, {.validate_nhs_number = false}),
                 b = PrepareRecord(junior, {.validate_nhs_number = false});
  EXPECT_EQ(CheckPairSafety(a, b, ComparePair(a, b)).safety, PairSafety::kSafe);
}

TEST(PairSafety, ConflictingGivenNamesOnOneNumberGoToReviewUnlessTheDateAgrees) {
  Record a = Person("Kieran", "Doyle", "1990-04-12", kNhsTwin);
  SafetyVerdict v = Verdict(a, Person("Daniel", "Doyle", "", kNhsTwin));
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, "given names conflict on a shared NHS number");
  EXPECT_EQ(Verdict(a, Person("Daniel", "Doyle", "1993-07-01", kNhsTwin)).safety, PairSafety::kReview);
  // Number and date of birth identify the person; the weight decides.
  EXPECT_EQ(Verdict(a, Person("Daniel", "Doyle", "1990-04-12", kNhsTwin)).safety, PairSafety::kSafe);
  EXPECT_EQ(Verdict(a, Person("Daniel", "Doyle", "1990-12-04", kNhsTwin)).safety, PairSafety::kSafe);
  // A date months out is not a keying error: with the given names it makes
  // two fields wrong at once, a sister's number on the record (Kelly born
  // in February, Mary in August) rather than one person.
  v = Verdict(a, Person("Daniel", "Doyle", "1990-09-30", kNhsTwin));
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, "given names conflict on a shared NHS number");
  // An estimated date (1 January of a guessed year) names no day: it
  // confirms nothing, as a missing one.
  v = Verdict(a, Person("Daniel", "Doyle", "1990-01-01", kNhsTwin));
  EXPECT_EQ(v.safety, PairSafety::kReview);
  // Unless the sexes differ as well: a twin sister's number on her
  // brother's record.
  v = Verdict(a, Person("Megan", "Doyle", "1990-04-12", kNhsTwin, "F"));
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, "given names conflict on a shared NHS number");
}

// An identifier read raw, not checked as an NHS number (FEBRL's, a
// contributor's own), is not written on a relative's record: agreeing, or
// one keying slip apart, it leaves conflicting given names and dates of
// birth a generation apart to the weight, where an NHS number holds them
// for a steward or keeps them apart.
TEST(PairSafety, AnUncheckedIdentifierIsNotARelativesNumber) {
  const FieldConventions raw{.validate_nhs_number = false};
  auto verdict = [&](const Record& x, const Record& y) {
    PreparedRecord a = PrepareRecord(x, raw), b = PrepareRecord(y, raw);
    return CheckPairSafety(a, b, ComparePair(a, b));
  };
  const Record father = Person("Michael", "Doyle", "1956-02-03", "4300412");
  for (const char* id : {"4300412", "4300421", "4300413"}) {  // equal, digits transposed, one digit different
    const Record son = Person("Liam", "Doyle", "1990-07-21", id);
    EXPECT_EQ(verdict(father, son).safety, PairSafety::kSafe) << id;
    EXPECT_EQ(verdict(father, Person("Liam", "Doyle", "", id)).safety, PairSafety::kSafe) << id;
  }
  // A different identifier still leaves a generation apart two people, and
  // conflicting given names without any shared number too.
  EXPECT_EQ(verdict(father, Person("Liam", "Doyle", "1990-07-21", "7719034")).safety, PairSafety::kDistinct);
  EXPECT_EQ(verdict(father, Person("Liam", "Doyle", "1956-02-03", "")).safety, PairSafety::kDistinct);
  // As NHS numbers, the same pairs are kept apart or held for a steward.
  const Record numbered = Person("Michael", "Doyle", "1956-02-03", kNhsFather);
  EXPECT_EQ(Verdict(numbered, Person("Liam", "Doyle", "1990-07-21", kNhsFather)).reason, kGenerationApart);
  EXPECT_EQ(Verdict(numbered, Person("Liam", "Doyle", "", kNhsFather)).reason, kGivenConflictOnNumber);
}

// A number that fails its check and is one keying slip from another
// record's NHS number is that number mistyped: evidence that the records
// share it ("near"), and held to the rules of an NHS number, not left to
// the weight as a contributor's own identifier is. The father's number
// mistyped on his son's record keeps them apart; a twin's given name on it
// goes to a steward.
TEST(PairSafety, AMistypedNumberIsHeldToTheRulesOfTheNumber) {
  constexpr char kFatherMistyped[] = "9434756919";  // two digits transposed: fails the check
  const Record father = Person("Michael", "Doyle", "1956-02-03", kNhsFather);
  PreparedRecord a = Prep(father), b = Prep(Person("Liam", "Doyle", "1990-07-21", kFatherMistyped));
  ASSERT_FALSE(b.nhs_validated);
  ASSERT_EQ(GammaOf(ComparePair(a, b), comparison::kNhsNumber), kNhsNear);
  EXPECT_EQ(Verdict(father, Person("Liam", "Doyle", "1990-07-21", kFatherMistyped)).reason, kGenerationApart);
  EXPECT_EQ(Verdict(father, Person("Liam", "Doyle", "", kFatherMistyped)).reason, kGivenConflictOnNumber);
  // The same person, his number mistyped: safe.
  EXPECT_EQ(Verdict(father, Person("Michael", "Doyle", "1956-02-03", kFatherMistyped)).safety, PairSafety::kSafe);
  // Two slips from the number, or no number on the other record: no evidence.
  PreparedRecord far = Prep(Person("Michael", "Doyle", "1956-02-03", "9434756991"));
  EXPECT_EQ(GammaOf(ComparePair(a, far), comparison::kNhsNumber), 0);
  PreparedRecord none = Prep(Person("Michael", "Doyle", "1956-02-03", ""));
  EXPECT_EQ(GammaOf(ComparePair(b, none), comparison::kNhsNumber), 0);
}

// Whose number a record carries: a relative's when the verdict on the
// record and the number's owner says another member of the family (a
// generation apart, or conflicting given names with another sex or born two
// or more years apart; a date missing or estimated does not count), never a
// twin's of the same sex.
TEST(PairSafety, ARelativesNumberIsToldByTheVerdictTheSexAndTheYearsBetween) {
  auto relatives = [](const Record& holder, const Record& owner) {
    const PreparedRecord h = Prep(holder), o = Prep(owner);
    return RelativesNumber(h, o, Verdict(holder, owner));
  };
  const Record owner = Person("Elijah", "Hammond", "1998-06-12", kNhsTwin);
  EXPECT_TRUE(relatives(Person("Robert", "Hammond", "2002-08-06", kNhsTwin), owner));
  EXPECT_TRUE(relatives(Person("Robert", "Hammond", "1970-08-06", kNhsTwin), owner));
  EXPECT_FALSE(relatives(Person("Robert", "Hammond", "1998-06-12", kNhsTwin), owner));  // a twin
  EXPECT_FALSE(relatives(Person("Robert", "Hammond", "1999-08-06", kNhsTwin), owner));  // a year: a slip
  EXPECT_FALSE(relatives(Person("Robert", "Hammond", "", kNhsTwin), owner));
  EXPECT_FALSE(relatives(Person("Robert", "Hammond", "2002-01-01", kNhsTwin), owner));    // estimated
  EXPECT_FALSE(relatives(Person("Elijah", "Hammond", "2002-08-06", kNhsTwin), owner));    // one name
  EXPECT_FALSE(relatives(Person("Robert", "Hammond", "2002-08-06", kNhsFather), owner));  // another number
  // Another sex as well as another name: a sister's or a wife's, a twin
  // sister's too, whatever the dates say.
  for (const char* dob : {"2002-08-06", "1998-06-12", "1999-08-06", "", "2002-01-01"}) {
    EXPECT_TRUE(relatives(Person("Lori", "Hammond", dob, kNhsTwin, "F"), owner)) << dob;
  }
  EXPECT_FALSE(relatives(Person("Lori", "Hammond", "1999-08-06", kNhsTwin, ""), owner));  // sex unknown
}

// A case from our generator's 1M-record population, merged once: a husband's
// record with his wife's number, his date of birth missing, his given name
// one letter from hers. Alike names and another sex on one number, with no
// date of birth to confirm it: a relative's number. With the dates agreeing
// the weight decides (a name and a sex both mistyped), as without a number.
TEST(PairSafety, AlikeNamesOfAnotherSexOnOneNumberWithoutADateAreARelativesNumber) {
  const Record wife = Person("Jing Carole", "Zhao", "1955-07-21", kNhsTwin, "F");
  const Record husband = Person("Ming", "Zhao", "", kNhsTwin, "M");
  SafetyVerdict v = Verdict(husband, wife);
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, kGivenConflictOnNumber);
  EXPECT_TRUE(RelativesNumber(Prep(husband), Prep(wife), v));
  Record born_apart = husband;
  born_apart.date_of_birth = "1952-07-16";
  EXPECT_EQ(Verdict(born_apart, wife).reason, kGivenConflictOnNumber);
  // Born months apart (Mark and Mary): a name, a sex and a date keyed
  // wrongly at once are rarer than a spouse's number.
  Record months_apart = husband;
  months_apart.date_of_birth = "1955-12-13";
  EXPECT_EQ(Verdict(months_apart, wife).reason, kGivenConflictOnNumber);
  Record same_day = husband;
  same_day.date_of_birth = "1955-07-21";
  EXPECT_EQ(Verdict(same_day, wife).safety, PairSafety::kSafe);
  Record one_sex = husband;
  one_sex.sex = "F";
  EXPECT_EQ(Verdict(one_sex, wife).safety, PairSafety::kSafe);
}

// Twins of another sex, one carrying the other's number (the adversarial
// population's Hassan and Hasna Khan, Oliver and Olivia Ridwick, merged):
// the same date of birth confirms nothing, for twins share it. Names two
// or more edits apart on one number with sexes that differ are a twin's
// number, for a steward; one keying slip with the sex keyed wrongly too
// (Pioyr for Piotr) is left to the weight.
TEST(PairSafety, AlikeNamesOfAnotherSexOnOneNumberAndOneDateTwoEditsApartAreATwinsNumber) {
  const Record hassan = Person("Hassan", "Khan", "1998-08-22", kNhsTwin, "M");
  const Record hasna = Person("Hasna", "Khan", "1998-08-22", kNhsTwin, "F");
  SafetyVerdict v = Verdict(hasna, hassan);
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, kGivenConflictOnNumber);
  EXPECT_TRUE(RelativesNumber(Prep(hasna), Prep(hassan), v));
  EXPECT_EQ(Verdict(Person("Olivia Louise", "Ridwick", "2006-04-21", kNhsTwin, "F"),
                    Person("Oliver", "Ridwick", "2006-04-21", kNhsTwin, "M"))
                .reason,
            kGivenConflictOnNumber);
  // One slip, and the sex keyed wrongly: the weight decides.
  EXPECT_EQ(Verdict(Person("Pioyr", "Lewandowski", "1940-03-28", kNhsTwin, "F"),
                    Person("Piotr", "Lewandowski", "1940-03-28", kNhsTwin, "M"))
                .safety,
            PairSafety::kSafe);
  // One sex, or no sex recorded: twins of one sex are told apart by nothing
  // but the number.
  Record unknown = hasna;
  unknown.sex = "";
  EXPECT_EQ(Verdict(unknown, hassan).safety, PairSafety::kSafe);
}

// Whose number a record carries, judged among the records carrying it: a
// son's record with his father's number beside two of the father's is a
// relative's; the father's records are not (each has the other beside it).
// A tie, or relatives who are not one person (a parent's number on each of
// two children's records, one record of the parent's) void nothing.
TEST(PairSafety, ANumberIsARelativesWhenMoreOfItsHoldersAreOnePersonOfTheFamily) {
  const PreparedRecord father = Prep(Person("Gareth", "Morgan", "1958-03-02", kNhsFather));
  const PreparedRecord father_again = Prep(Person("Gareth", "Morgan", "1958-03-02", kNhsFather));
  const PreparedRecord son = Prep(Person("Owen", "Morgan", "1990-06-14", kNhsFather));
  const PreparedRecord daughter = Prep(Person("Seren", "Morgan", "1993-01-30", kNhsFather, "F"));
  EXPECT_TRUE(NumberIsARelatives(son, {&father, &father_again}));
  EXPECT_FALSE(NumberIsARelatives(father, {&father_again, &son}));
  EXPECT_FALSE(NumberIsARelatives(son, {&father}));                         // a tie
  EXPECT_FALSE(NumberIsARelatives(son, {&father, &daughter}));              // two persons
  EXPECT_FALSE(NumberIsARelatives(father, {&son, &daughter}));              // the owner
  EXPECT_FALSE(NumberIsARelatives(son, {&father, &father_again, &son}));    // his own twice
  EXPECT_TRUE(NumberIsARelatives(son, {&father, &father_again, &father}));  // outnumbered
  // A record of the father's with the names in the wrong fields tells
  // nothing either way.
  const PreparedRecord swapped = Prep(Person("Morgan", "Gareth", "", kNhsFather));
  EXPECT_FALSE(NumberIsARelatives(son, {&father, &swapped}));
  EXPECT_TRUE(NumberIsARelatives(son, {&father, &father_again, &swapped}));
  // Twins of one sex are never told apart by it.
  const PreparedRecord twin = Prep(Person("Rhys", "Morgan", "1990-06-14", kNhsFather));
  EXPECT_FALSE(NumberIsARelatives(twin, {&son, &son}));
}

TEST(PairSafety, OrdinaryErrorsOfOnePersonAreSafe) {
  Record r = Person("Jonathan", "Doyle", "1971-03-09", kNhsFather);
  auto with = [&](auto change) {
    Record c = r;
    change(c);
    return Verdict(r, c).safety;
  };
  EXPECT_EQ(with([](Record& c) { c.given_names = "Jonathon"; }), PairSafety::kSafe);      // one edit
  EXPECT_EQ(with([](Record& c) { c.given_names = "Jon"; }), PairSafety::kSafe);           // nickname or similar
  EXPECT_EQ(with([](Record& c) { c.given_names = "J"; }), PairSafety::kSafe);             // initial
  EXPECT_EQ(with([](Record& c) { c.given_names = ""; }), PairSafety::kSafe);              // missing
  EXPECT_EQ(with([](Record& c) { c.date_of_birth = "1972-03-09"; }), PairSafety::kSafe);  // year off
  EXPECT_EQ(with([](Record& c) { c.date_of_birth = "1971-09-03"; }), PairSafety::kSafe);  // day and month
  EXPECT_EQ(with([](Record& c) { c.date_of_birth = "1975-01-01"; }), PairSafety::kSafe);  // estimated
  EXPECT_EQ(with([](Record& c) {
              c.nhs_number = "";
              c.date_of_birth = "1971-03-19";
            }),
            PairSafety::kSafe);
  EXPECT_EQ(with([](Record& c) {
              c.given_names = "Doyle";
              c.family_name = "Jonathan";
            }),
            PairSafety::kSafe);  // swapped fields
}

// Cases from a population of another generator, each once merged.
TEST(PairSafety, GivenNamesSpacedOtherwiseAreOnePersonsNames) {
  // One date of birth and one family; the same letters with the space lost
  // are not twins' names, nor moved by three letters two middle names.
  Record spaced = Person("Anthony Emeka", "Okafor", "1971-04-22", kNhsTwin);
  Record run = Person("ANTHONYEMEKA", "Okafor", "1971-04-22", "");
  EXPECT_EQ(Verdict(spaced, run).safety, PairSafety::kSafe) << Verdict(spaced, run).reason;
  Record mary = Person("Mary Annelise", "Okafor", "1971-04-22", kNhsTwin, "F");
  Record maryann = Person("Maryann Elise", "Okafor", "1971-04-22", "", "F");
  EXPECT_EQ(Verdict(mary, maryann).safety, PairSafety::kSafe) << Verdict(mary, maryann).reason;
  // Twins of other letters stay a steward's question.
  Record christina = Person("Christina", "Okafor", "1971-04-22", "", "F");
  Record christian = Person("Christian", "Okafor", "1971-04-22", kNhsTwin);
  EXPECT_EQ(Verdict(christina, christian).safety, PairSafety::kReview);
}

TEST(PairSafety, ANumberCarriedAsOftenIsTheRelativesWhenTheJoinedPersonCarriesItsOwnMore) {
  EXPECT_TRUE(NumberOutnumbered(1, 2, 0));   // more often elsewhere
  EXPECT_FALSE(NumberOutnumbered(2, 1, 9));  // less often elsewhere
  EXPECT_FALSE(NumberOutnumbered(1, 1, 1));  // a tie all round: nobody's
  EXPECT_TRUE(NumberOutnumbered(1, 1, 3));   // the joined person's own number, three times
  EXPECT_FALSE(NumberOutnumbered(2, 2, 2));
}

TEST(PairSafety, NamesThatSoundAlikeButAreTwoNamesConflict) {
  // Alfie and Olivia share a Double Metaphone key; a relative's number.
  SafetyVerdict v = Verdict(Person("Alfie", "Lee", "2000-02-27", kNhsTwin), Person("Olivia", "Lee", "", kNhsTwin));
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, "given names conflict on a shared NHS number");
}

TEST(PairSafety, TwinsOfSimilarFirstNamesAreToldApartByTheirMiddleNames) {
  SafetyVerdict v = Verdict(Person("Sarah Bethany", "Brown", "1991-07-12", kNhsTwin, "F"),
                            Person("Sara Eleanor", "Brown", "1991-07-12", "", "F"));
  EXPECT_EQ(v.safety, PairSafety::kDistinct);
  EXPECT_EQ(v.reason, "middle names conflict");
  // Kaur and Begum among the given names are not middle names.
  EXPECT_EQ(Verdict(Person("Harpreet Kaur", "Sandhu", "1970-01-05", "", "F"),
                    Person("Harpreet Simran", "Sandhu", "1970-01-05", "", "F"))
                .safety,
            PairSafety::kSafe);
}

// One record's first name is the other's middle name. Swapped whole, or
// one record giving only the name the patient goes by, or the names after
// the first, it is one person; with two other names left over it is a
// sister's (Ava Amelia's number on the record of Amelia Olivia, born seven
// years later).
TEST(PairSafety, NamesLeftOverFromAFirstAndMiddleNameSwapAreComparedAsMiddleNames) {
  const Record ava = Person("Ava Amelia", "Johnson", "1995-06-07", kNhsTwin, "F");
  SafetyVerdict v = Verdict(ava, Person("Amelia Olivia", "Johnson", "1988-06-10", kNhsTwin, "F"));
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, "middle names conflict on a shared NHS number");
  v = Verdict(ava, Person("Olivia Ava", "Johnson", "1995-06-07", "", "F"));
  EXPECT_EQ(v.safety, PairSafety::kDistinct);
  EXPECT_EQ(v.reason, "middle names conflict");

  EXPECT_EQ(Verdict(ava, Person("Amelia Ava", "Johnson", "1995-06-07", "", "F")).safety, PairSafety::kSafe);
  EXPECT_EQ(Verdict(ava, Person("Amelia", "Johnson", "1995-06-07", "", "F")).safety, PairSafety::kSafe);
  EXPECT_EQ(Verdict(ava, Person("Amelia Ava", "Johnson", "1988-06-10", kNhsTwin, "F")).safety, PairSafety::kSafe);
  const Record bridget = Person("Bridget Kathleen Aine", "Calancombe", "1947-11-05", "", "F");
  EXPECT_EQ(Verdict(bridget, Person("Kathleen Aine", "Calancombe", "1947-11-05", "", "F")).safety, PairSafety::kSafe);
  EXPECT_EQ(Verdict(Person("Kathleen Aine", "Calancombe", "1947-11-05", "", "F"), bridget).safety, PairSafety::kSafe);
  EXPECT_EQ(Verdict(bridget, Person("Kathleen Mary", "Calancombe", "1947-11-05", "", "F")).reason,
            "middle names conflict");
}

// A middle name dropped by one system (Graham Peter beside Graham Michael
// Peter) is not a middle name in conflict; another middle name is.
TEST(PairSafety, AMiddleNameDroppedIsNoConflict) {
  const Record graham = Person("Graham Michael Peter", "Cox", "1960-02-13", "");
  EXPECT_EQ(Verdict(graham, Person("Graham Peter", "Cox", "1960-02-13", "")).safety, PairSafety::kSafe);
  EXPECT_EQ(Verdict(Person("Graham Peter", "Cox", "1960-02-13", ""), graham).safety, PairSafety::kSafe);
  EXPECT_EQ(Verdict(graham, Person("Graham Joseph", "Cox", "1960-02-13", "")).reason, "middle names conflict");
}

TEST(PairSafety, SiblingsOfOneNameYearsApartAreTwoPeople) {
  Record a = Person("Zainab", "Iqbal", "1986-07-28", "", "F");
  SafetyVerdict v = Verdict(a, Person("Zainab", "Iqbal", "1983-08-27", "", "F"));
  EXPECT_EQ(v.safety, PairSafety::kDistinct);
  // An estimated date of birth (1 January of a guessed year) is no evidence.
  EXPECT_EQ(Verdict(a, Person("Zainab", "Iqbal", "1983-01-01", "", "F")).safety, PairSafety::kSafe);
}

// Months apart (Olivia born 2006-09-07 with her number, Olivia Amy born
// 2006-12-10 without one, at one address): not a keying error, and nothing
// shared says it is one person, so a steward decides. The same dates with a
// shared NHS number, or a date that is an estimate, leave it to the weight.
TEST(PairSafety, DatesOfBirthMonthsApartWithoutASharedNumberGoToReview) {
  Record a = Person("Olivia", "Quenby", "2006-09-07", kNhsTwin, "F");
  Record b = Person("Olivia Amy", "Quenby", "2006-12-10", "", "F");
  SafetyVerdict v = Verdict(a, b);
  EXPECT_EQ(v.safety, PairSafety::kReview);
  EXPECT_EQ(v.reason, kDobDifferNoNumber);
  const Model model = HouseholdModel();
  PreparedRecord pa = Prep(a), pb = Prep(b);
  ASSERT_GE(model.Weight(ComparePair(pa, pb), pa, pb), model.link_weight());
  EXPECT_LT(model.Score(pa, pb).match_weight, model.link_weight());

  b.nhs_number = kNhsTwin;
  EXPECT_EQ(Verdict(a, b).safety, PairSafety::kSafe);
  b.nhs_number = "";
  b.date_of_birth = "2006-01-01";
  EXPECT_EQ(Verdict(a, b).safety, PairSafety::kSafe);
  b.date_of_birth = "2006-09-17";  // one digit: a keying error
  EXPECT_EQ(Verdict(a, b).safety, PairSafety::kSafe);
}

// Batch clustering never joins twins, even through a third record that
// matches both (a record of Jack without a given name): the pair held for
// review still scores above the review threshold, so only the safety check
// of the join keeps them apart.
TEST(PairSafety, ClusteringKeepsTwinsApartThroughAThirdRecord) {
  const Model model = HouseholdModel();
  Record no_given = Person("", "Doyle", "1990-04-12", kNhsTwin);
  no_given.record_id = "x";
  std::vector<PreparedRecord> recs = {Prep(Person("Jack", "Doyle", "1990-04-12", kNhsTwin)),
                                      Prep(Person("Jake", "Doyle", "1990-04-12", "")), Prep(no_given)};
  for (auto& p : recs) model.Annotate(&p);
  std::vector<ScoredLink> links;
  for (uint32_t a = 0; a < 3; ++a) {
    for (uint32_t b = a + 1; b < 3; ++b) {
      ScoredPair s = model.Score(recs[a], recs[b]);
      if (s.match_weight >= model.review_weight()) links.push_back({a, b, s.match_weight, s.safety.reason});
    }
  }
  std::vector<uint64_t> existing(3, 0);
  ClusterInput in{&recs, &existing, nullptr, &model};
  ASSERT_EQ(links.size(), 3u);
  ASSERT_GE(links[0].match_weight, model.review_weight());  // Jack and Jake, held for review
  Clustering c = ClusterRecords(in, links);
  EXPECT_NE(c.group[0], c.group[1]);
}

uint32_t PatternOf(const Record& a, const Record& b) { return ComparePair(Prep(a), Prep(b)); }

// Sarah Jones married, moved, and was registered again without her NHS
// number: only the fields a life changes differ. Any difference in a field a
// person keeps makes it two people's pattern again.
TEST(PairSafety, MarriageAndMoveDifferOnlyByLifeEvents) {
  Record before = Person("Sarah", "Jones", "1985-03-02", kNhsTwin, "F");
  Record after = Person("Sarah", "Patel", "1985-03-02", "", "F");
  after.postcode = "B15 2TT";
  after.address = "3 Harborne Road, Birmingham";
  EXPECT_TRUE(DiffersOnlyByLifeEvents(PatternOf(before, after)));
  Record slip = after;
  slip.date_of_birth = "1985-03-20";  // day and month digits slipped
  EXPECT_TRUE(DiffersOnlyByLifeEvents(PatternOf(before, slip)));

  Record other_given = after;
  other_given.given_names = "Emma";
  Record initial = after;
  initial.given_names = "S";
  Record other_dob = after;
  other_dob.date_of_birth = "1979-11-30";
  Record other_nhs = after;
  other_nhs.nhs_number = kNhsFather;
  Record other_sex = after;
  other_sex.sex = "M";
  Record no_dob_other_family = after;
  no_dob_other_family.date_of_birth = "";
  for (const Record& r : {other_given, initial, other_dob, other_nhs, other_sex, no_dob_other_family}) {
    EXPECT_FALSE(DiffersOnlyByLifeEvents(PatternOf(before, r))) << r.given_names << " " << r.date_of_birth;
  }
  // Without a date of birth, a family name that agrees leaves only the move.
  Record moved_no_dob = Person("Sarah", "Jones", "", "", "F");
  moved_no_dob.postcode = "B15 2TT";
  EXPECT_TRUE(DiffersOnlyByLifeEvents(PatternOf(before, moved_no_dob)));
  // So does one that sounds alike (a slip the ear makes: Porter and
  // Pirter, a case from the independent population once split in three),
  // not one that only looks a little alike.
  Record porter = Person("Betty", "Porter", "1981-01-01", "", "F");
  Record pirter = Person("Betty Natalie", "Pirter", "1981-03-06", "", "F");
  pirter.postcode = "WR10 3UF";
  ASSERT_EQ(GammaOf(PatternOf(porter, pirter), comparison::kDateOfBirth), kDobNull);  // an estimate
  EXPECT_TRUE(DiffersOnlyByLifeEvents(PatternOf(porter, pirter)));
  Record parker = pirter;
  parker.family_name = "Parkes";
  EXPECT_FALSE(DiffersOnlyByLifeEvents(PatternOf(porter, parker)));
}

// Her old record (A), a new one with her number (B), and a later one from
// another contributor without it (C). A and C disagree on family name and
// postcode and score below the review threshold, yet B links both: the join
// is not refused as a weak group. A record of another person at B's address
// (D, given name an initial) still is.
TEST(PairSafety, MarriedNameAndMoveJoinThroughTheirNumber) {
  const Model model = HouseholdModel();
  Record c = Person("Sarah", "Patel", "1985-03-02", "", "F");
  c.postcode = "B15 2TT";
  c.address = "3 Harborne Road, Birmingham";
  Record b = c;
  b.nhs_number = kNhsTwin;
  Record d = c;
  d.given_names = "S";
  std::vector<PreparedRecord> recs = {Prep(Person("Sarah", "Jones", "1985-03-02", kNhsTwin, "F")), Prep(b), Prep(c),
                                      Prep(d)};
  for (auto& p : recs) model.Annotate(&p);
  ASSERT_LT(model.Score(recs[0], recs[2]).match_weight, model.review_weight());
  ASSERT_LT(model.Score(recs[0], recs[3]).match_weight, model.review_weight());
  for (uint32_t x : {0u, 2u, 3u}) ASSERT_EQ(model.Score(recs[1], recs[x]).safety.safety, PairSafety::kSafe) << x;
  std::vector<uint64_t> existing(recs.size(), 0);
  ClusterInput in{&recs, &existing, nullptr, &model};
  const double l = model.link_weight();
  Clustering cl = ClusterRecords(in, {{1, 0, l + 10}, {1, 2, l + 10}, {1, 3, l + 5}});
  EXPECT_EQ(cl.group[0], cl.group[1]);
  EXPECT_EQ(cl.group[1], cl.group[2]);
  EXPECT_NE(cl.group[3], cl.group[0]);
}

// The naive reference: the optimal string alignment recurrence, memo-free.
int NaiveOsa(const std::string& a, const std::string& b, size_t i, size_t j) {
  if (i == 0) return static_cast<int>(j);
  if (j == 0) return static_cast<int>(i);
  int best = std::min({NaiveOsa(a, b, i - 1, j) + 1, NaiveOsa(a, b, i, j - 1) + 1,
                       NaiveOsa(a, b, i - 1, j - 1) + (a[i - 1] == b[j - 1] ? 0 : 1)});
  if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
    best = std::min(best, NaiveOsa(a, b, i - 2, j - 2) + 1);
  }
  return best;
}

TEST(EditDistance, AgreesWithNaiveReferenceOnRandomStrings) {
  std::mt19937 rng(7);
  for (int t = 0; t < 5000; ++t) {
    auto word = [&] {
      std::string s(rng() % 7, 'a');
      for (char& c : s) c = static_cast<char>('a' + rng() % 4);
      return s;
    };
    std::string a = word(), b = word();
    int cap = 1 + static_cast<int>(rng() % 4);
    EXPECT_EQ(EditDistance(a, b, cap), std::min(cap, NaiveOsa(a, b, a.size(), b.size()))) << a << " " << b;
  }
}

// The verdict does not depend on which record comes first.
TEST(PairSafety, SymmetricOnRandomPairs) {
  std::mt19937 rng(11);
  const char* given[] = {"Jack", "Jake", "John", "Jon", "J", "", "Daniel", "Kieran", "Emily", "Emma"};
  const char* dob[] = {"1990-04-12", "1990-12-04", "1991-04-12", "1960-04-12", "", "1990-01-01"};
  const char* nhs[] = {kNhsFather, kNhsTwin, ""};
  for (int t = 0; t < 5000; ++t) {
    Record a = Person(given[rng() % 10], "Doyle", dob[rng() % 6], nhs[rng() % 3]);
    Record b = Person(given[rng() % 10], "Doyle", dob[rng() % 6], nhs[rng() % 3]);
    SafetyVerdict x = Verdict(a, b), y = Verdict(b, a);
    EXPECT_EQ(x.safety, y.safety);
    EXPECT_EQ(x.reason, y.reason);
  }
}

}  // namespace
}  // namespace empi
