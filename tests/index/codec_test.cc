// Copyright EMPI developers.
//
// Round trips of every key and value encoding, and rejection of truncated,
// extended and random input.
#include <random>

#include "gtest/gtest.h"
#include "index/store.h"

namespace empi::index {
namespace {

StoredRecord SampleRecord() {
  StoredRecord r;
  r.person_id = 1234567890123ULL;
  r.record.source = "RKB";
  r.record.record_id = "K1234567";
  r.record.nhs_number = "9434765919";
  r.record.family_name = "Nowak";
  r.record.given_names = "Łukasz Piotr";
  r.record.date_of_birth = "1984-03-07";
  r.record.sex = "M";
  r.record.postcode = "CV1 2AB";
  r.record.address = std::string("1 High St\0Coventry", 18);  // embedded NUL survives
  r.record.restricted = true;
  return r;
}

AuditEvent SampleEvent() {
  AuditEvent e;
  e.time_us = -5;  // negative times round-trip through zig-zag
  e.requester = "dr.jones";
  e.organisation = "RKB";
  e.role = "clinician";
  e.purpose = "direct care";
  e.action = "resolve";
  e.outcome = "denied: objection";
  e.persons = {1, 0xffffffffffffffffULL};
  e.records = {std::string("RKB\0K1", 6), ""};
  return e;
}

bool SameEvent(const AuditEvent& a, const AuditEvent& b) {
  return a.time_us == b.time_us && a.requester == b.requester && a.organisation == b.organisation && a.role == b.role &&
         a.purpose == b.purpose && a.action == b.action && a.outcome == b.outcome && a.persons == b.persons &&
         a.records == b.records;
}

TEST(KeyCodec, U64IsBigEndianAndSortsNumerically) {
  EXPECT_EQ(EncodeU64(0x0102030405060708ULL), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(DecodeU64(EncodeU64(0xfedcba9876543210ULL)), 0xfedcba9876543210ULL);
  EXPECT_LT(EncodeU64(255), EncodeU64(256));
  EXPECT_LT(EncodeU64(1), EncodeU64(1ULL << 56));
}

TEST(KeyCodec, CompositeKeys) {
  const std::string rk("RKB\0K1", 6);
  EXPECT_EQ(PersonRecordKey(7, rk), EncodeU64(7) + rk);
  EXPECT_EQ(NhsIndexKey(9434765919, rk), EncodeU64(9434765919) + rk);
  EXPECT_EQ(BlockKey(3, "NWK|1984", rk), std::string("\x03NWK|1984\0", 10) + rk);
  EXPECT_EQ(HistoryKey(7, 9), EncodeU64(7) + EncodeU64(9));
  EXPECT_EQ(AuditKey(9), EncodeU64(9));
}

TEST(KeyCodec, PairKeyOrdersAndSplits) {
  const std::string a("RKB\0A", 5), b("RLT\0B", 5);
  EXPECT_EQ(PairKey(a, b), PairKey(b, a));
  std::string x, y;
  ASSERT_TRUE(SplitPairKey(PairKey(b, a), &x, &y));
  EXPECT_EQ(x, a);
  EXPECT_EQ(y, b);
  EXPECT_FALSE(SplitPairKey(std::string("RKB\0A", 5), &x, &y));
}

TEST(ValueCodec, RecordRoundTrip) {
  const StoredRecord r = SampleRecord();
  StoredRecord out;
  ASSERT_TRUE(DecodeRecordValue(r.record.Key(), EncodeRecordValue(r), &out));
  EXPECT_EQ(out.record, r.record);
  EXPECT_EQ(out.person_id, r.person_id);
  EXPECT_FALSE(DecodeRecordValue("no separator", EncodeRecordValue(r), &out));
}

TEST(ValueCodec, PersonReviewObjectionRoundTrip) {
  PersonValue p{true, 1700000000000000, ObjectionMethod::kLetter, "FORM-77", -1};
  PersonValue p2;
  ASSERT_TRUE(DecodePersonValue(EncodePersonValue(p), &p2));
  EXPECT_EQ(p2.objection, true);
  EXPECT_EQ(p2.objection_time_us, p.objection_time_us);
  EXPECT_EQ(p2.objection_method, ObjectionMethod::kLetter);
  EXPECT_EQ(p2.objection_reference, "FORM-77");
  EXPECT_EQ(p2.created_time_us, -1);

  ReviewValue v{-12.75, 0.125, "nhs conflict"};
  ReviewValue v2;
  ASSERT_TRUE(DecodeReviewValue(EncodeReviewValue(v), &v2));
  EXPECT_EQ(v2.match_weight, -12.75);
  EXPECT_EQ(v2.match_probability, 0.125);
  EXPECT_EQ(v2.reason, "nhs conflict");

  ObjectionValue o{42, ObjectionMethod::kOnline, "REF", "9434765919", "Nowak", "Łukasz", "1984-03-07", "CV1 2AB"};
  ObjectionValue o2;
  ASSERT_TRUE(DecodeObjectionValue(EncodeObjectionValue(o), &o2));
  EXPECT_EQ(o2.time_us, 42);
  EXPECT_EQ(o2.method, ObjectionMethod::kOnline);
  EXPECT_EQ(o2.reference, "REF");
  EXPECT_EQ(o2.nhs_number, "9434765919");
  EXPECT_EQ(o2.given_names, "Łukasz");
  EXPECT_EQ(o2.postcode, "CV1 2AB");
}

// Person view ops apply in order, concatenate into one operand with the
// same effect, and malformed input is rejected rather than half applied.
TEST(ValueCodec, PersonViewOps) {
  StoredRecord a, b;
  a.record = Record{"RKB", "A"};
  a.record.date_of_birth = "1984-03-07";
  a.person_id = 1;
  b.record = Record{"M84001", "B"};
  b.record.restricted = true;
  b.person_id = 1;
  const std::string ops = PersonViewMemberOp(a) + PersonViewMemberOp(b) +
                          PersonViewPersonOp(PersonValue{true, 9, ObjectionMethod::kForm, "F", 0}) +
                          PersonViewRemoveOp(a.record.Key()) + PersonViewMemberOp(a);
  PersonView one_by_one, at_once;
  for (const std::string& op : {PersonViewMemberOp(a), PersonViewMemberOp(b),
                                PersonViewPersonOp(PersonValue{true, 9, ObjectionMethod::kForm, "F", 0}),
                                PersonViewRemoveOp(a.record.Key()), PersonViewMemberOp(a)}) {
    ASSERT_TRUE(ApplyPersonViewOps(op, &one_by_one));
  }
  ASSERT_TRUE(ApplyPersonViewOps(ops, &at_once));
  EXPECT_EQ(EncodePersonView(one_by_one), EncodePersonView(at_once));
  PersonView decoded;
  ASSERT_TRUE(DecodePersonView(EncodePersonView(at_once), &decoded));
  ASSERT_EQ(decoded.members.size(), 2u);
  EXPECT_EQ(decoded.members[0].record_key, b.record.Key());
  EXPECT_TRUE(decoded.members[0].restricted);
  EXPECT_EQ(decoded.members[1].dob_ymd, 19840307);
  ASSERT_TRUE(decoded.person.has_value());
  EXPECT_TRUE(decoded.person->objection);

  EXPECT_EQ(DateOfBirthYmd("1984-3-07"), 0);
  EXPECT_EQ(DateOfBirthYmd("07/03/1984"), 0);
  PersonView v;
  EXPECT_FALSE(ApplyPersonViewOps("X", &v));
  EXPECT_FALSE(ApplyPersonViewOps(ops.substr(0, ops.size() - 1), &v));
  const std::string value = EncodePersonView(at_once);
  EXPECT_FALSE(DecodePersonView(value.substr(0, value.size() - 1), &v));
  EXPECT_FALSE(DecodePersonView(value + "x", &v));
}

TEST(ValueCodec, AuditRoundTripAndHash) {
  StoredAuditEvent e;
  e.sequence = 17;
  e.event = SampleEvent();
  e.prev_hash = std::string(32, '\x01');
  e.hash = AuditHash(e.prev_hash, e.sequence, e.event);
  ASSERT_EQ(e.hash.size(), 32u);
  StoredAuditEvent out;
  ASSERT_TRUE(DecodeAuditValue(17, EncodeAuditValue(e), &out));
  EXPECT_EQ(out.sequence, 17u);
  EXPECT_TRUE(SameEvent(out.event, e.event));
  EXPECT_EQ(out.prev_hash, e.prev_hash);
  EXPECT_EQ(out.hash, e.hash);
  // The hash covers the sequence, the previous hash and every field.
  EXPECT_NE(AuditHash(e.prev_hash, 18, e.event), e.hash);
  EXPECT_NE(AuditHash(std::string(32, '\0'), 17, e.event), e.hash);
  AuditEvent changed = e.event;
  changed.records[1] = "x";
  EXPECT_NE(AuditHash(e.prev_hash, 17, changed), e.hash);
  EXPECT_EQ(AuditHash(e.prev_hash, 17, SampleEvent()), e.hash);  // deterministic
}

// Every decoder must reject each proper prefix of a valid value and the value
// with a byte appended.
template <typename T, typename Decode>
void ExpectRejectsTruncatedAndExtended(const std::string& valid, Decode decode) {
  T out;
  ASSERT_TRUE(decode(valid, &out));
  for (size_t n = 0; n < valid.size(); ++n) {
    EXPECT_FALSE(decode(valid.substr(0, n), &out)) << "prefix of " << n << " bytes accepted";
  }
  EXPECT_FALSE(decode(valid + "x", &out));
  std::string wrong_version = valid;
  wrong_version[0] = 2;
  EXPECT_FALSE(decode(wrong_version, &out));
}

TEST(ValueCodec, RecordPersonIdDecodesWithoutTheRest) {
  StoredRecord r = SampleRecord();
  for (uint64_t person : {uint64_t{1}, uint64_t{300}, uint64_t{1} << 40}) {
    r.person_id = person;
    const std::string value = EncodeRecordValue(r);
    uint64_t got = 0;
    ASSERT_TRUE(DecodeRecordPersonId(value, &got));
    EXPECT_EQ(got, person);
    std::string wrong_version = value;
    wrong_version[0] = 2;
    EXPECT_FALSE(DecodeRecordPersonId(wrong_version, &got));
    EXPECT_FALSE(DecodeRecordPersonId(value.substr(0, 1), &got));
  }
}

TEST(ValueCodec, RejectsTruncatedExtendedAndWrongVersion) {
  const std::string key = SampleRecord().record.Key();
  ExpectRejectsTruncatedAndExtended<StoredRecord>(
      EncodeRecordValue(SampleRecord()),
      [&](std::string_view v, StoredRecord* r) { return DecodeRecordValue(key, v, r); });
  {
    // A person value written before format version 4 ends before
    // objection_in_review; every other prefix is rejected.
    PersonValue in_review{true, 5, ObjectionMethod::kForm, "r", 6, /*objection_in_review=*/true};
    const std::string valid = EncodePersonValue(in_review);
    PersonValue out;
    ASSERT_TRUE(DecodePersonValue(valid, &out));
    EXPECT_TRUE(out.objection_in_review);
    ASSERT_TRUE(DecodePersonValue(valid.substr(0, valid.size() - 1), &out));
    EXPECT_TRUE(out.objection);
    EXPECT_FALSE(out.objection_in_review);
    EXPECT_EQ(out.created_time_us, 6);
    for (size_t n = 0; n + 1 < valid.size(); ++n) {
      EXPECT_FALSE(DecodePersonValue(valid.substr(0, n), &out)) << "prefix of " << n << " bytes accepted";
    }
    EXPECT_FALSE(DecodePersonValue(valid + "x", &out));
    EXPECT_FALSE(DecodePersonValue(valid.substr(0, valid.size() - 1) + "\x02", &out));
  }
  ExpectRejectsTruncatedAndExtended<ReviewValue>(EncodeReviewValue(ReviewValue{1, 0.5, "weak group"}),
                                                 DecodeReviewValue);
  ExpectRejectsTruncatedAndExtended<ObjectionValue>(EncodeObjectionValue(ObjectionValue{}), DecodeObjectionValue);
  StoredAuditEvent e;
  e.event = SampleEvent();
  e.prev_hash = std::string(32, '\0');
  e.hash = std::string(32, '\x07');
  ExpectRejectsTruncatedAndExtended<StoredAuditEvent>(
      EncodeAuditValue(e), [](std::string_view v, StoredAuditEvent* out) { return DecodeAuditValue(1, v, out); });
}

TEST(ValueCodec, RejectsOutOfRangeFields) {
  std::string p = EncodePersonValue(PersonValue{});
  p[1] = 2;  // objection flag must be 0 or 1
  PersonValue pv;
  EXPECT_FALSE(DecodePersonValue(p, &pv));
  p = EncodePersonValue(PersonValue{});
  p[3] = 6;  // no such ObjectionMethod (version, flag, time varint, method)
  EXPECT_FALSE(DecodePersonValue(p, &pv));
  // An 11-byte varint is malformed.
  std::string overlong(1, '\x01');
  overlong.append(10, '\xff');
  overlong.push_back('\x01');
  StoredRecord r;
  EXPECT_FALSE(DecodeRecordValue(SampleRecord().record.Key(), overlong, &r));
}

// Random bytes and random mutations of valid values: decoders may accept or
// reject, but must not crash or read out of bounds (run under ASan).
TEST(ValueCodec, FuzzDoesNotCrash) {
  std::mt19937_64 rng(20240601);
  StoredAuditEvent e;
  e.event = SampleEvent();
  e.prev_hash = std::string(32, '\0');
  e.hash = std::string(32, '\x07');
  const std::vector<std::string> seeds = {
      EncodeRecordValue(SampleRecord()), EncodePersonValue(PersonValue{true, 5, ObjectionMethod::kForm, "r", 6}),
      EncodeReviewValue(ReviewValue{1, 0.5, "x"}),
      EncodeObjectionValue(ObjectionValue{1, ObjectionMethod::kPhone, "a", "b", "c", "d", "e", "f"}),
      EncodeAuditValue(e)};
  const std::string key = SampleRecord().record.Key();
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    if (i % 2 == 0) {
      input.resize(rng() % 64);
      for (char& c : input) c = static_cast<char>(rng());
      if (!input.empty()) input[0] = 1;  // get past the version byte
    } else {
      input = seeds[rng() % seeds.size()];
      for (int m = 0; m < 3; ++m) input[rng() % input.size()] = static_cast<char>(rng());
    }
    StoredRecord r;
    PersonValue p;
    ReviewValue v;
    ObjectionValue o;
    StoredAuditEvent a;
    accepted += DecodeRecordValue(key, input, &r) + DecodePersonValue(input, &p) + DecodeReviewValue(input, &v) +
                DecodeObjectionValue(input, &o) + DecodeAuditValue(1, input, &a);
  }
  EXPECT_GT(accepted, 0);  // the fuzzer did reach the decoders' success paths
}

}  // namespace
}  // namespace empi::index
