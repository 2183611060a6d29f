// Copyright EMPI developers.
#include "engine/linkage/comparisons.h"

#include <array>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/linkage/comparisons_reference.h"
#include "tests/engine/linkage/linkage_test_util.h"

namespace empi {
namespace {

using testing_linkage::RecordGenerator;

FieldConventions Raw() {
  FieldConventions c;
  c.postcode_format = PostcodeFormat::kRaw;
  return c;
}

FieldConventions RawNhs() {
  FieldConventions c;
  c.validate_nhs_number = false;
  return c;
}

struct R {
  std::string family, given, dob, nhs, postcode, sex, address;
};

PreparedRecord Prep(const R& r, const FieldConventions& c = {}) {
  Record rec;
  rec.source = "T";
  rec.record_id = "1";
  rec.family_name = r.family;
  rec.given_names = r.given;
  rec.date_of_birth = r.dob;
  rec.nhs_number = r.nhs;
  rec.postcode = r.postcode;
  rec.sex = r.sex;
  rec.address = r.address;
  return PrepareRecord(rec, c);
}

std::string Describe(uint32_t p) {
  std::string s;
  for (int c = 0; c < kNumComparisons; ++c) {
    s += std::string(Comparisons()[c].name) + "=" + std::to_string(GammaOf(p, c)) + " ";
  }
  return s;
}

// Gamma of one comparison for a hand-written pair, checked both ways round.
int Level(const R& a, const R& b, int comparison, const FieldConventions& c = {}) {
  PreparedRecord pa = Prep(a, c), pb = Prep(b, c);
  uint32_t ab = ComparePair(pa, pb), ba = ComparePair(pb, pa);
  EXPECT_EQ(ab, ba) << "asymmetric: " << Describe(ab) << " vs " << Describe(ba);
  EXPECT_EQ(ab, testing_ref::ReferencePattern(pa, pb)) << Describe(ab);
  return GammaOf(ab, comparison);
}

TEST(ComparisonsTest, LevelTablesStartWithNullAndAreSmall) {
  for (const Comparison& c : Comparisons()) {
    ASSERT_GE(c.levels.size(), 3u) << c.name;
    EXPECT_LE(c.levels.size(), 16u) << c.name;  // 4 bits per gamma
    EXPECT_TRUE(c.levels[0].is_null) << c.name;
    for (size_t l = 1; l < c.levels.size(); ++l) EXPECT_FALSE(c.levels[l].is_null) << c.name;
  }
}

TEST(ComparisonsTest, GammaPacking) {
  uint32_t p = 0;
  for (int c = 0; c < kNumComparisons; ++c) p = WithGamma(p, c, (c * 3 + 1) % 10);
  for (int c = 0; c < kNumComparisons; ++c) EXPECT_EQ(GammaOf(p, c), (c * 3 + 1) % 10);
  p = WithGamma(p, comparison::kFamilyName, 0);
  EXPECT_EQ(GammaOf(p, comparison::kFamilyName), 0);
  EXPECT_EQ(GammaOf(p, comparison::kGivenNames), 7);
}

TEST(ComparisonsTest, NhsLevels) {
  FieldConventions raw = RawNhs();
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = ""}, comparison::kNhsNumber, raw), 0);
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "943 476 5919"}, comparison::kNhsNumber, raw), kNhsExact);
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "9434765918"}, comparison::kNhsNumber, raw), kNhsNear);  // one digit
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "9434765991"}, comparison::kNhsNumber, raw), kNhsNear);  // transposed
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "4934765919"}, comparison::kNhsNumber, raw), kNhsNear);  // first pair
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "9434765109"}, comparison::kNhsNumber, raw), kNhsDifferent);
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "9434769515"}, comparison::kNhsNumber, raw),
            kNhsDifferent);  // not adjacent
  // Validated: a number failing the check digit is no number of its own,
  // but one keying slip from the other's valid number it is that number
  // mistyped ("near"); further off, or beside another failing one, missing.
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "9434765918"}, comparison::kNhsNumber), kNhsNear);
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "9434756919"}, comparison::kNhsNumber), kNhsNear);
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "9434756918"}, comparison::kNhsNumber), 0);
  EXPECT_EQ(Level({.nhs = "9434765918"}, {.nhs = "9434765918"}, comparison::kNhsNumber), 0);
  EXPECT_EQ(Level({.nhs = "9434765919"}, {.nhs = "9434765919"}, comparison::kNhsNumber), kNhsExact);
  // A relative's number (NumberIsARelatives) compares as missing, beside its
  // owner's records and its own person's alike.
  PreparedRecord holder = PrepareRecord(Record{.nhs_number = "9434765919"}, {});
  const PreparedRecord owner = PrepareRecord(Record{.nhs_number = "9434765919"}, {});
  const PreparedRecord own = PrepareRecord(Record{.nhs_number = "4010232137"}, {});
  holder.nhs_relatives = true;
  EXPECT_EQ(CompareNhs(holder, owner), 0);
  EXPECT_EQ(CompareNhs(own, holder), 0);
  EXPECT_FALSE(holder.OwnNumber());
  EXPECT_TRUE(owner.OwnNumber());
}

TEST(ComparisonsTest, FamilyLevels) {
  EXPECT_EQ(Level({.family = "Smith"}, {.family = ""}, comparison::kFamilyName), 0);
  EXPECT_EQ(Level({.family = "Smith"}, {.family = "SMITH"}, comparison::kFamilyName), 1);
  EXPECT_EQ(Level({.family = "Smith-Jones"}, {.family = "Jones"}, comparison::kFamilyName), 2);
  EXPECT_EQ(Level({.family = "Smith-Jones"}, {.family = "Smith"}, comparison::kFamilyName), 2);
  EXPECT_EQ(Level({.family = "Smith-Jones"}, {.family = "Jones Smith"}, comparison::kFamilyName), 2);
  EXPECT_EQ(Level({.family = "Smith", .given = "John"}, {.family = "John", .given = "Smith"}, comparison::kFamilyName),
            kFamilySwapped);
  // A given name written in two words on one side, as one in the other.
  EXPECT_EQ(Level({.family = "Slack-Smith", .given = "Katelyn"}, {.family = "Katelyn", .given = "Slack-Smith"},
                  comparison::kFamilyName),
            kFamilySwapped);
  // Given names of three words moved whole into the family field, and of
  // two with one mistyped in the move.
  EXPECT_EQ(Level({.family = "Wright", .given = "Elsie Barbara Betty"},
                  {.family = "Elsie Barbara Betty", .given = "Wright"}, comparison::kFamilyName),
            kFamilySwapped);
  EXPECT_EQ(Level({.family = "Penewell", .given = "Barbara Elsie"}, {.family = "Barbraa Elsie", .given = "Penewell"},
                  comparison::kGivenNames),
            kGivenSwapped);
  // A first part that is another name is no swap.
  EXPECT_EQ(Level({.family = "Penewell", .given = "Barbara Elsie"}, {.family = "Mary Elsie", .given = "Penewell"},
                  comparison::kFamilyName),
            5);
  // The family name moved exactly, and the given name moved as a nickname
  // or with a slip that Jaro-Winkler alone does not see (0.88): a swap.
  EXPECT_EQ(Level({.family = "Hawkins", .given = "Alexander Bryan"}, {.family = "Alex", .given = "Hawkins"},
                  comparison::kFamilyName),
            kFamilySwapped);
  EXPECT_EQ(
      Level({.family = "Fisher", .given = "Lisa"}, {.family = "Liss", .given = "Fisher"}, comparison::kFamilyName),
      kFamilySwapped);
  // Another name moved with it is half a swap (a twin's record with its
  // names in the wrong fields).
  EXPECT_EQ(Level({.family = "Andrews", .given = "Hassan James"}, {.family = "Harold", .given = "Andrews"},
                  comparison::kFamilyName),
            5);
  EXPECT_EQ(Level({.family = "Yousaf", .given = "Fatima Maryam"}, {.family = "Samina Fatima", .given = "Yousaf"},
                  comparison::kFamilyName),
            5);
  EXPECT_EQ(Level({.family = "Robinson"}, {.family = "Robinsen"}, comparison::kFamilyName), 4);
  // Half a swap: the family name moved to the given field, the other name
  // replaced; either record may be the one that moved.
  EXPECT_EQ(
      Level({.family = "Lodge", .given = "Gillian"}, {.family = "Adele", .given = "Lodge"}, comparison::kFamilyName),
      5);
  EXPECT_EQ(
      Level({.family = "Adele", .given = "Lodge"}, {.family = "Lodge", .given = "Gillian"}, comparison::kFamilyName),
      5);
  // The given comparison is left to say the given names disagree.
  EXPECT_EQ(
      Level({.family = "Lodge", .given = "Gillian"}, {.family = "Adele", .given = "Lodge"}, comparison::kGivenNames),
      9);
  EXPECT_EQ(Level({.family = "Schmidt"}, {.family = "Smith"}, comparison::kFamilyName), 6);    // phonetic, jw 0.74
  EXPECT_EQ(Level({.family = "Thompson"}, {.family = "Tomsen"}, comparison::kFamilyName), 7);  // jw 0.84
  EXPECT_EQ(Level({.family = "Nowak"}, {.family = "Kowalski"}, comparison::kFamilyName), 8);
  EXPECT_EQ(
      Level({.family = "Nowak", .given = "Nowak"}, {.family = "Kowalski", .given = "Nowak"}, comparison::kFamilyName),
      8);
  // The half swap needs only the two names involved.
  EXPECT_EQ(Level({.family = "Bennier"}, {.family = "Taylor", .given = "Bennier"}, comparison::kFamilyName), 5);
}

TEST(ComparisonsTest, GivenLevels) {
  EXPECT_EQ(Level({.given = "John"}, {.given = ""}, comparison::kGivenNames), 0);
  EXPECT_EQ(Level({.given = "John Paul"}, {.given = "john"}, comparison::kGivenNames), 1);
  EXPECT_EQ(Level({.given = "Bill"}, {.given = "William"}, comparison::kGivenNames), 2);
  EXPECT_EQ(Level({.given = "Peggy"}, {.given = "Margaret"}, comparison::kGivenNames), 2);
  EXPECT_EQ(Level({.family = "Smith", .given = "John"}, {.family = "John", .given = "Smith"}, comparison::kGivenNames),
            kGivenSwapped);
  EXPECT_EQ(Level({.given = "John Paul"}, {.given = "Paul John"}, comparison::kGivenNames), 4);
  EXPECT_EQ(Level({.given = "Catherine"}, {.given = "Catherina"}, comparison::kGivenNames), 5);
  EXPECT_EQ(Level({.given = "Phillips"}, {.given = "Filips"}, comparison::kGivenNames), 6);  // phonetic, jw 0.82
  EXPECT_EQ(Level({.given = "J"}, {.given = "Jasmine"}, comparison::kGivenNames), 7);        // initial only
  EXPECT_EQ(Level({.given = "Thompson"}, {.given = "Tomsen"}, comparison::kGivenNames), 8);  // jw 0.84
  EXPECT_EQ(Level({.given = "Sophie"}, {.given = "Mohammed"}, comparison::kGivenNames), 9);
}

TEST(ComparisonsTest, ANicknameOrASwapWithASlipOnTopIsASimilarSpelling) {
  // Harry is Harold's nickname; "Haroold" is Harold with a letter added.
  EXPECT_EQ(Level({.given = "Harry"}, {.given = "Haroold"}, comparison::kGivenNames), 8);
  EXPECT_EQ(Level({.given = "Jack"}, {.given = "Ojhn"}, comparison::kGivenNames), 8);  // John, two letters swapped
  // A short nickname beside its long name mistyped: Bob and Robert.
  EXPECT_EQ(Level({.given = "Bob"}, {.given = "Robetr"}, comparison::kGivenNames), 8);
  // David is the other's middle name, mistyped.
  EXPECT_EQ(Level({.given = "Dylan David"}, {.given = "Dabid"}, comparison::kGivenNames), 8);
  // Two names the table knows are two names, not one mistyped: Mark is not
  // Mary (Molly's equivalent) with a slip.
  EXPECT_EQ(Level({.given = "Mark"}, {.given = "Molly"}, comparison::kGivenNames), 9);
  EXPECT_EQ(Level({.given = "Harry"}, {.given = "Haarolld"}, comparison::kGivenNames), 9);  // two slips
}

TEST(ComparisonsTest, GivenNamesRunTogetherOrSpacedOtherwiseAreOneSlip) {
  // The space between two given names lost (in capitals, nothing shows
  // where it was) or moved by a letter: one keying slip, not two names.
  EXPECT_EQ(Level({.given = "ANTHONYEMEKA"}, {.given = "Anthony Emeka"}, comparison::kGivenNames), kGivenClose);
  EXPECT_EQ(Level({.given = "Mary Annelise"}, {.given = "Maryann Elise"}, comparison::kGivenNames), kGivenClose);
  EXPECT_TRUE(GivenSpacedOtherwise(Prep({.given = "Raymon Dlawrence"}), Prep({.given = "Raymond Lawrence"})));
  // Other letters are other names: twins Christina Lee and Christian Lee.
  EXPECT_FALSE(GivenSpacedOtherwise(Prep({.given = "Christina Lee"}), Prep({.given = "Christian Lee"})));
  EXPECT_FALSE(GivenSpacedOtherwise(Prep({.given = "Anthony"}), Prep({.given = "ANTHONYEMEKA"})));
}

TEST(ComparisonsTest, GivenNamesRunTogetherWithTheirCapitalsAreTwoNames) {
  // A system that took "Stephanie Marie" as one word kept its capitals.
  PreparedRecord run = Prep({.given = "StephanieMarie"});
  EXPECT_EQ(run.given1, "stephanie");
  EXPECT_EQ(run.given2, "marie");
  EXPECT_EQ(Level({.given = "StephanieMarie"}, {.given = "Stephanie"}, comparison::kGivenNames), kNameExact);
  EXPECT_EQ(Prep({.given = "Ashley Kathleen"}).given2, "kathleen");
  // Names whose capital is their own: a prefix of two letters, or "Mac";
  // and a capital moved onto the next name's first letter ("AshleyK").
  for (const char* one : {"DeShawn", "LaToya", "JoAnne", "McKenzie", "MacKenzie"}) {
    PreparedRecord p = Prep({.given = one});
    EXPECT_TRUE(p.given2.empty()) << one << " -> " << p.given1 << " " << p.given2;
  }
  PreparedRecord moved = Prep({.given = "AshleyK athleen"});
  EXPECT_EQ(moved.given1, "ashleyk");
  EXPECT_EQ(moved.given2, "athleen");
}

TEST(ComparisonsTest, DateLevels) {
  EXPECT_EQ(Level({.dob = "1984-03-07"}, {.dob = ""}, comparison::kDateOfBirth), 0);
  EXPECT_EQ(Level({.dob = "1984-03-07"}, {.dob = "1984-03-07"}, comparison::kDateOfBirth), 1);
  EXPECT_EQ(Level({.dob = "1984-03-07"}, {.dob = "1984-07-03"}, comparison::kDateOfBirth), 2);  // day/month swapped
  EXPECT_EQ(Level({.dob = "1984-03-07"}, {.dob = "1984-03-08"}, comparison::kDateOfBirth), 3);  // one digit
  EXPECT_EQ(Level({.dob = "1984-03-07"}, {.dob = "1994-03-07"}, comparison::kDateOfBirth), 3);
  EXPECT_EQ(Level({.dob = "1984-03-12"}, {.dob = "1984-03-21"}, comparison::kDateOfBirth),
            3);  // adjacent digits transposed
  EXPECT_EQ(Level({.dob = "1948-03-07"}, {.dob = "1984-03-07"}, comparison::kDateOfBirth), 3);
  EXPECT_EQ(Level({.dob = "1989-03-07"}, {.dob = "1990-03-07"}, comparison::kDateOfBirth), 4);  // year one apart
  EXPECT_EQ(Level({.dob = "1984-03-07"}, {.dob = "1984-04-17"}, comparison::kDateOfBirth), 5);
  EXPECT_EQ(Level({.dob = "1984-03-07"}, {.dob = "1900-01-01"}, comparison::kDateOfBirth), 0);  // placeholder
  // An estimated date (1 January or 1 July: a guessed age) within a year of
  // the other says nothing either way; further out it disagrees.
  EXPECT_EQ(Level({.dob = "1984-09-09"}, {.dob = "1984-01-01"}, comparison::kDateOfBirth), 0);
  EXPECT_EQ(Level({.dob = "1935-06-26"}, {.dob = "1936-01-01"}, comparison::kDateOfBirth), 0);
  EXPECT_EQ(Level({.dob = "1984-07-01"}, {.dob = "1983-11-30"}, comparison::kDateOfBirth), 0);
  EXPECT_EQ(Level({.dob = "1984-09-09"}, {.dob = "1982-01-01"}, comparison::kDateOfBirth), 5);
  EXPECT_EQ(Level({.dob = "1984-01-01"}, {.dob = "1984-01-01"}, comparison::kDateOfBirth), 1);
  EXPECT_EQ(Level({.dob = "1984-01-11"}, {.dob = "1984-01-01"}, comparison::kDateOfBirth), 3);  // a slip still
}

// A date that names no day (a keying slip: month 13, or day and month in
// each other's places in a YYYYMMDD file) is compared as that slip of the
// other record's date, and otherwise as missing: never as disagreement,
// since the true date is unknown, and never as an exact date.
TEST(ComparisonsTest, ADateThatNamesNoDayIsComparedOnlyAsASlip) {
  const int dob = comparison::kDateOfBirth;
  EXPECT_EQ(Level({.dob = "1971-13-19"}, {.dob = "1971-12-19"}, dob), kDobSlip);
  EXPECT_EQ(Level({.dob = "1971-13-19"}, {.dob = "1971-03-19"}, dob), kDobSlip);
  EXPECT_EQ(Level({.dob = "19402704"}, {.dob = "1940-04-27"}, dob), kDobSwapped);
  EXPECT_EQ(Level({.dob = "05/13/1984"}, {.dob = "1984-05-13"}, dob), kDobSwapped);  // US order
  EXPECT_EQ(Level({.dob = "31/02/1984"}, {.dob = "1984-02-13"}, dob), kDobSlip);
  EXPECT_EQ(Level({.dob = "1984-02-30"}, {.dob = "1984-02-20"}, dob), kDobSlip);
  EXPECT_EQ(Level({.dob = "1971-13-19"}, {.dob = "1950-02-02"}, dob), kDobNull);
  EXPECT_EQ(Level({.dob = "1971-13-19"}, {.dob = "1971-13-19"}, dob), kDobSlip);
  EXPECT_EQ(Level({.dob = "1971-13-19"}, {.dob = "1971-13-18"}, dob), kDobSlip);
  EXPECT_EQ(Level({.dob = "1971-13-19"}, {.dob = ""}, dob), kDobNull);
  // A part left unknown is no slip; a placeholder is missing.
  EXPECT_EQ(Level({.dob = "1971-00-00"}, {.dob = "1971-01-01"}, dob), kDobNull);
  EXPECT_EQ(Level({.dob = "1971-00-19"}, {.dob = "1971-01-19"}, dob), kDobNull);
  EXPECT_EQ(Level({.dob = "1900-01-01"}, {.dob = "1900-01-11"}, dob), kDobNull);
  EXPECT_EQ(Level({.dob = "not known"}, {.dob = "1971-12-19"}, dob), kDobNull);
}

TEST(ComparisonsTest, AddressAndSexLevels) {
  EXPECT_EQ(Level({.postcode = "CV1 2AB"}, {.postcode = ""}, comparison::kPostcode), 0);
  EXPECT_EQ(Level({.postcode = "CV1 2AB", .address = "12 High Street"},
                  {.postcode = "CV9 9ZZ", .address = "12, HIGH STREET"}, comparison::kPostcode),
            1);  // same address
  EXPECT_EQ(Level({.postcode = "CV1 2AB", .address = "12 High Street"},
                  {.postcode = "cv12ab", .address = "12 High Stret"}, comparison::kPostcode),
            2);
  EXPECT_EQ(Level({.postcode = "CV1 2AB", .address = "12 High Street"},
                  {.postcode = "CV1 2AB", .address = "3 Mill Road"}, comparison::kPostcode),
            3);
  // Without an address on one side or both, "same address", "unit, address
  // similar" and "unit" cannot be told apart.
  EXPECT_EQ(Level({.postcode = "CV1 2AB"}, {.postcode = "cv12ab"}, comparison::kPostcode), kPostcodeUnitAddressUnknown);
  EXPECT_EQ(Level({.postcode = "CV1 2AB", .address = "12 High Street"}, {.postcode = "CV1 2AB"}, comparison::kPostcode),
            kPostcodeUnitAddressUnknown);
  EXPECT_EQ(Level({.postcode = "CV1 2AB", .address = "12 High Street"},
                  {.postcode = "CV1 2AD", .address = "12 High Stret"}, comparison::kPostcode),
            4);
  EXPECT_EQ(Level({.address = "12 High Street"}, {.address = "12 High Stret"}, comparison::kPostcode), 4);
  // Address lines in another order, a space dropped: still similar.
  EXPECT_EQ(Level({.address = "105 Hawker Place, Chippendale Village, Currambine"},
                  {.address = "105 Chippendale Village, Hawkerplace, Currambine"}, comparison::kPostcode),
            4);
  // A postcode one keying error away, with a similar address, even in
  // another district.
  EXPECT_EQ(Level({.postcode = "B19 9ED", .address = "54 Elmdon Road"},
                  {.postcode = "B91 9ED", .address = "54 Elmdon Road, Birmingham"}, comparison::kPostcode),
            4);
  EXPECT_EQ(Level({.postcode = "CV1 2AB"}, {.postcode = "CV1 2AD"}, comparison::kPostcode), 5);  // one character
  EXPECT_EQ(Level({.postcode = "CV1 2AB"}, {.postcode = "CV1 2BA"}, comparison::kPostcode), 5);  // transposed
  EXPECT_EQ(Level({.postcode = "CV1 2AB"}, {.postcode = "CV1 2DD"}, comparison::kPostcode), 6);
  EXPECT_EQ(Level({.postcode = "CV1 2AB"}, {.postcode = "CV1 3XY"}, comparison::kPostcode), 7);
  EXPECT_EQ(Level({.postcode = "CV1 2AB"}, {.postcode = "CV2 1AA"}, comparison::kPostcode), 8);
  EXPECT_EQ(Level({.postcode = "CV1 2AB"}, {.postcode = "B1 1AA"}, comparison::kPostcode), 9);
  EXPECT_EQ(Level({.address = "12 High Street"}, {.address = "3 Mill Road"}, comparison::kPostcode), 9);
  // A similar address in another district is not taken as evidence.
  EXPECT_EQ(Level({.postcode = "CV1 2AB", .address = "12 High Street"},
                  {.postcode = "B1 1AA", .address = "12 High Stret"}, comparison::kPostcode),
            9);
  // Raw (non-UK) postcodes: a transposition is near.
  EXPECT_EQ(Level({.postcode = "2148"}, {.postcode = "2184"}, comparison::kPostcode, Raw()), 5);
  EXPECT_EQ(Level({.sex = "M"}, {.sex = "male"}, comparison::kSex), 1);
  EXPECT_EQ(Level({.sex = "M"}, {.sex = "F"}, comparison::kSex), 2);
  EXPECT_EQ(Level({.sex = "M"}, {.sex = "U"}, comparison::kSex), 0);
}

// "No fixed abode" and the like say nothing of where someone lives and are
// shared by strangers: no address, as a ZZ99 postcode is no postcode.
TEST(ComparisonsTest, NoFixedAbodeIsNoAddress) {
  for (const char* none : {"No Fixed Abode", "NFA", "n/a", "N.F.A.", "Unknown", "NOT KNOWN", "NFA - Coventry",
                           "no fixed abode, Leamington Spa", "Homeless", "Address unknown"}) {
    EXPECT_EQ(Prep({.address = none}).address, "") << none;
    EXPECT_EQ(Level({.address = none}, {.address = none}, comparison::kPostcode), 0) << none;
    EXPECT_EQ(Level({.postcode = "ZZ99 3VZ", .address = none}, {.postcode = "ZZ99 3VZ", .address = none},
                    comparison::kPostcode),
              0)
        << none;
    // The postcode still counts where one is given.
    EXPECT_EQ(
        Level({.postcode = "CV1 2AB", .address = none}, {.postcode = "CV1 2AB", .address = "12 High Street"},
              comparison::kPostcode),
        Level({.postcode = "CV1 2AB"}, {.postcode = "CV1 2AB", .address = "12 High Street"}, comparison::kPostcode))
        << none;
  }
  // Addresses holding such words are addresses.
  for (const char* real : {"1 Unknown Lane", "Flat 2, NFA House", "12 Homeless Way", "Nash Avenue"}) {
    EXPECT_NE(Prep({.address = real}).address, "") << real;
  }
}

// Found by the random twin test: a record whose family and given names are
// the same word ("Smith Smith") must not be read as a swap from one side
// only, or ComparePair(a, b) != ComparePair(b, a).
TEST(ComparisonsTest, SameWordInBothNameFieldsIsSymmetric) {
  Level({.family = "Smith", .given = "Smith"}, {.family = "Smiths", .given = "Smith"}, comparison::kFamilyName);
  Level({.family = "Thomas", .given = "Thomas"}, {.family = "Thomas", .given = "Tomas"}, comparison::kGivenNames);
}

// The implementation against the naive twin, and symmetry, on generated
// pairs: a record with its noisy copy, two copies of one person, and two
// unrelated records.
TEST(ComparisonsTest, MatchesReferenceOnGeneratedPairs) {
  RecordGenerator gen(20240607);
  std::vector<PreparedRecord> recs;
  std::vector<int> person;
  const FieldConventions validated{}, raw = RawNhs();
  for (int p = 0; p < 1500; ++p) {
    Record truth = gen.Person();
    int copies = gen.Uniform(1, 3);
    const FieldConventions& c = gen.Chance(0.5) ? validated : raw;
    recs.push_back(PrepareRecord(truth, c));
    person.push_back(p);
    for (int k = 0; k < copies; ++k) {
      recs.push_back(PrepareRecord(gen.Noisy(truth), c));
      recs.back().nhs_relatives = gen.Chance(0.05);
      person.push_back(p);
    }
  }
  std::array<std::set<int>, kNumComparisons> seen;
  int mismatches = 0, asymmetric = 0;
  const int n = static_cast<int>(recs.size());
  for (int t = 0; t < 120000; ++t) {
    int i = gen.Uniform(0, n - 1), j;
    switch (t % 3) {
      case 0:
      case 1:  // same person where possible
        j = i + (gen.Chance(0.5) ? 1 : -1);
        if (j < 0 || j >= n || person[j] != person[i]) j = gen.Uniform(0, n - 1);
        break;
      default: j = gen.Uniform(0, n - 1);
    }
    uint32_t got = ComparePair(recs[i], recs[j]);
    uint32_t want = testing_ref::ReferencePattern(recs[i], recs[j]);
    uint32_t back = ComparePair(recs[j], recs[i]);
    if (got != want && ++mismatches <= 10) {
      ADD_FAILURE() << "pair " << i << "," << j << " (" << recs[i].family << " " << recs[i].given1 << " | "
                    << recs[j].family << " " << recs[j].given1 << ")\n got  " << Describe(got) << "\n want "
                    << Describe(want);
    }
    if (got != back && ++asymmetric <= 10) {
      ADD_FAILURE() << "asymmetric " << recs[i].family << " " << recs[i].given1 << " | " << recs[j].family << " "
                    << recs[j].given1 << "\n ab " << Describe(got) << "\n ba " << Describe(back);
    }
    for (int c = 0; c < kNumComparisons; ++c) seen[c].insert(GammaOf(got, c));
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(asymmetric, 0);
  // The generated data must reach every level, or the comparison above
  // proves little.
  for (int c = 0; c < kNumComparisons; ++c) {
    for (int l = 0; l < static_cast<int>(Comparisons()[c].levels.size()); ++l) {
      EXPECT_TRUE(seen[c].contains(l)) << Comparisons()[c].name << " level " << l << " ("
                                       << Comparisons()[c].levels[l].label << ") never generated";
    }
  }
}

}  // namespace
}  // namespace empi
