// Copyright EMPI developers.
//
// codec.cc: key and value encodings of the store (docs/format/store.md).
//
// Values start with a version byte (kValueVersion) followed by fields in a
// fixed order: strings as varint length + bytes, unsigned integers as
// varints, signed integers zig-zag varints, doubles as 8 bytes big-endian
// IEEE-754 bit patterns. Keys use 8-byte big-endian integers so that byte
// order is numeric order. Decoders consume the whole value and reject
// anything truncated, overlong, out of range or followed by extra bytes.
#include <algorithm>
#include <bit>
#include <cstring>

#include "index/codec_internal.h"
#include "index/store.h"

namespace empi::index {
namespace internal {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

void PutSigned(std::string* out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutDouble(std::string* out, double d) { out->append(EncodeU64(std::bit_cast<uint64_t>(d))); }

bool Reader::Varint(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in_.empty()) return false;
    const auto byte = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    // The tenth byte may only carry the top bit of a 64-bit value.
    if (shift == 63 && byte > 1) return false;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool Reader::String(std::string* s) {
  std::string_view view;
  if (!StringView(&view)) return false;
  s->assign(view);
  return true;
}

bool Reader::StringView(std::string_view* s) {
  uint64_t n;
  if (!Varint(&n) || n > in_.size()) return false;
  *s = in_.substr(0, n);
  in_.remove_prefix(n);
  return true;
}

bool Reader::Signed(int64_t* v) {
  uint64_t u;
  if (!Varint(&u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

bool Reader::Byte(uint8_t* b) {
  if (in_.empty()) return false;
  *b = static_cast<uint8_t>(in_.front());
  in_.remove_prefix(1);
  return true;
}

bool Reader::Bool(bool* b) {
  uint8_t byte;
  if (!Byte(&byte) || byte > 1) return false;
  *b = byte == 1;
  return true;
}

bool Reader::Fixed64(uint64_t* v) {
  if (in_.size() < 8) return false;
  *v = DecodeU64(in_.substr(0, 8));
  in_.remove_prefix(8);
  return true;
}

bool Reader::Double(double* d) {
  uint64_t bits;
  if (!Fixed64(&bits)) return false;
  *d = std::bit_cast<double>(bits);
  return true;
}

bool Reader::Bytes(size_t n, std::string* s) {
  if (in_.size() < n) return false;
  s->assign(in_.substr(0, n));
  in_.remove_prefix(n);
  return true;
}

bool Reader::Version() {
  uint8_t v;
  return Byte(&v) && v == kValueVersion;
}

}  // namespace internal

using internal::PutDouble;
using internal::PutSigned;
using internal::PutString;
using internal::PutVarint;
using internal::Reader;

std::string_view CfName(Cf cf) {
  switch (cf) {
    case Cf::kRecords: return "records";
    case Cf::kPersonRecords: return "person_records";
    case Cf::kPersons: return "persons";
    case Cf::kBlockKeys: return "block_keys";
    case Cf::kNhsIndex: return "nhs_index";
    case Cf::kModel: return "model";
    case Cf::kReview: return "review";
    case Cf::kManual: return "manual";
    case Cf::kObjections: return "objections";
    case Cf::kHistory: return "history";
    case Cf::kAudit: return "audit";
    case Cf::kMeta: return "meta";
    case Cf::kPersonView: return "person_view";
    case Cf::kChanges: return "changes";
    case Cf::kViewHistory: return "view_history";
    case Cf::kRecordHistory: return "record_history";
    case Cf::kNhsHistory: return "nhs_history";
  }
  return "unknown";
}

std::string EncodeU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t DecodeU64(std::string_view eight) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < eight.size(); ++i) v = (v << 8) | static_cast<uint8_t>(eight[i]);
  return v;
}

std::string PersonRecordKey(uint64_t person_id, std::string_view record_key) {
  return EncodeU64(person_id).append(record_key);
}

std::string BlockKey(uint8_t rule, std::string_view blocking_key, std::string_view record_key) {
  std::string key(1, static_cast<char>(rule));
  key.append(blocking_key).push_back('\0');
  key.append(record_key);
  return key;
}

std::string NhsIndexKey(uint64_t nhs, std::string_view record_key) { return EncodeU64(nhs).append(record_key); }

std::string PairKey(std::string_view a, std::string_view b) {
  if (b < a) std::swap(a, b);
  return DirectedPairKey(a, b);
}

std::string DirectedPairKey(std::string_view from, std::string_view to) {
  std::string key(from);
  key.append(2, '\0');
  key.append(to);
  return key;
}

bool SplitPairKey(std::string_view pair_key, std::string* a, std::string* b) {
  const size_t sep = pair_key.find(std::string_view("\0\0", 2));
  if (sep == std::string_view::npos) return false;
  a->assign(pair_key.substr(0, sep));
  b->assign(pair_key.substr(sep + 2));
  return true;
}

std::string HistoryKey(uint64_t person_id, uint64_t sequence) {
  return EncodeU64(person_id).append(EncodeU64(sequence));
}

std::string RecordHistoryKey(std::string_view record_key, uint64_t sequence) {
  return std::string(record_key).append(EncodeU64(sequence));
}

std::string NhsHistoryKey(uint64_t nhs, std::string_view record_key, uint64_t sequence) {
  return EncodeU64(nhs).append(record_key).append(EncodeU64(sequence));
}

std::string AuditKey(uint64_t sequence) { return EncodeU64(sequence); }

std::string EncodeRecordValue(const StoredRecord& r) {
  std::string out(1, static_cast<char>(internal::kValueVersion));
  PutVarint(&out, r.person_id);
  const Record& rec = r.record;
  for (const std::string* field : {&rec.nhs_number, &rec.family_name, &rec.given_names, &rec.date_of_birth, &rec.sex,
                                   &rec.postcode, &rec.address}) {
    PutString(&out, *field);
  }
  out.push_back(rec.restricted ? 1 : 0);
  return out;
}

bool DecodeRecordValue(std::string_view record_key, std::string_view value, StoredRecord* r) {
  std::string_view source, record_id;
  if (!SplitRecordKey(record_key, &source, &record_id)) return false;
  StoredRecord out;
  out.record.source.assign(source);
  out.record.record_id.assign(record_id);
  Reader in(value);
  Record& rec = out.record;
  if (!in.Version() || !in.Varint(&out.person_id)) return false;
  for (std::string* field : {&rec.nhs_number, &rec.family_name, &rec.given_names, &rec.date_of_birth, &rec.sex,
                             &rec.postcode, &rec.address}) {
    if (!in.String(field)) return false;
  }
  if (!in.Bool(&rec.restricted) || !in.done()) return false;
  *r = std::move(out);
  return true;
}

bool DecodeRecordPersonId(std::string_view value, uint64_t* person_id) {
  Reader in(value);
  return in.Version() && in.Varint(person_id);
}

namespace {
bool ValidMethod(uint8_t m) { return m <= static_cast<uint8_t>(ObjectionMethod::kSteward); }
}  // namespace

std::string EncodePersonValue(const PersonValue& p) {
  std::string out(1, static_cast<char>(internal::kValueVersion));
  out.push_back(p.objection ? 1 : 0);
  PutSigned(&out, p.objection_time_us);
  out.push_back(static_cast<char>(p.objection_method));
  PutString(&out, p.objection_reference);
  PutSigned(&out, p.created_time_us);
  out.push_back(p.objection_in_review ? 1 : 0);
  return out;
}

bool DecodePersonValue(std::string_view value, PersonValue* p) {
  PersonValue out;
  Reader in(value);
  uint8_t method;
  if (!in.Version() || !in.Bool(&out.objection) || !in.Signed(&out.objection_time_us) || !in.Byte(&method) ||
      !ValidMethod(method) || !in.String(&out.objection_reference) || !in.Signed(&out.created_time_us)) {
    return false;
  }
  // Values written before format version 4 end here.
  if (!in.done() && (!in.Bool(&out.objection_in_review) || !in.done())) return false;
  out.objection_method = static_cast<ObjectionMethod>(method);
  *p = std::move(out);
  return true;
}

namespace {
// Person view ops: a tag byte, then the op's fields.
constexpr char kOpMember = 'M';  // record key, restricted (bool), dob_ymd (varint)
constexpr char kOpRemove = 'R';  // record key
constexpr char kOpPerson = 'P';  // EncodePersonValue bytes as a string
constexpr char kOpView = 'V';    // EncodePersonView bytes as a string: replaces the whole view

void PutMember(std::string* out, const PersonViewMember& m) {
  PutString(out, m.record_key);
  out->push_back(m.restricted ? 1 : 0);
  internal::PutVarint(out, static_cast<uint32_t>(m.dob_ymd));
}

bool ReadMember(Reader* in, PersonViewMember* m) {
  uint64_t ymd;
  if (!in->String(&m->record_key) || !in->Bool(&m->restricted) || !in->Varint(&ymd) || ymd > 99991231) {
    return false;
  }
  m->dob_ymd = static_cast<int32_t>(ymd);
  return true;
}

bool KeyLess(const PersonViewMember& m, std::string_view key) { return m.record_key < key; }
}  // namespace

int32_t DateOfBirthYmd(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return 0;
  int32_t ymd = 0;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (d[i] < '0' || d[i] > '9') return 0;
    ymd = ymd * 10 + (d[i] - '0');
  }
  return ymd;
}

std::string EncodePersonView(const PersonView& v) {
  std::string out(1, static_cast<char>(internal::kValueVersion));
  out.push_back(v.person ? 1 : 0);
  if (v.person) PutString(&out, EncodePersonValue(*v.person));
  internal::PutVarint(&out, v.members.size());
  for (const auto& m : v.members) PutMember(&out, m);
  return out;
}

bool DecodePersonView(std::string_view value, PersonView* v) {
  PersonView out;
  Reader in(value);
  bool has_person;
  uint64_t n;
  if (!in.Version() || !in.Bool(&has_person)) return false;
  if (has_person) {
    std::string_view pv;
    if (!in.StringView(&pv) || !DecodePersonValue(pv, &out.person.emplace())) return false;
  }
  if (!in.Varint(&n) || n > value.size()) return false;
  out.members.resize(n);
  for (auto& m : out.members) {
    if (!ReadMember(&in, &m)) return false;
  }
  if (!in.done()) return false;
  *v = std::move(out);
  return true;
}

std::string PersonViewMemberOp(const StoredRecord& r) {
  std::string out(1, kOpMember);
  PutMember(&out, {r.record.Key(), r.record.restricted, DateOfBirthYmd(r.record.date_of_birth)});
  return out;
}

std::string PersonViewRemoveOp(std::string_view record_key) {
  std::string out(1, kOpRemove);
  PutString(&out, record_key);
  return out;
}

std::string PersonViewPersonOp(const PersonValue& p) {
  std::string out(1, kOpPerson);
  PutString(&out, EncodePersonValue(p));
  return out;
}

std::string PersonViewSetOp(const PersonView& v) {
  std::string out(1, kOpView);
  PutString(&out, EncodePersonView(v));
  return out;
}

bool ApplyPersonViewOps(std::string_view operand, PersonView* v) {
  Reader in(operand);
  while (!in.done()) {
    uint8_t tag;
    if (!in.Byte(&tag)) return false;
    if (tag == kOpMember) {
      PersonViewMember m;
      if (!ReadMember(&in, &m)) return false;
      auto at = std::lower_bound(v->members.begin(), v->members.end(), m.record_key, KeyLess);
      if (at != v->members.end() && at->record_key == m.record_key) {
        *at = std::move(m);
      } else {
        v->members.insert(at, std::move(m));
      }
    } else if (tag == kOpRemove) {
      std::string_view key;
      if (!in.StringView(&key)) return false;
      auto at = std::lower_bound(v->members.begin(), v->members.end(), key, KeyLess);
      if (at != v->members.end() && at->record_key == key) v->members.erase(at);
    } else if (tag == kOpPerson) {
      std::string_view pv;
      if (!in.StringView(&pv) || !DecodePersonValue(pv, &v->person.emplace())) return false;
    } else if (tag == kOpView) {
      std::string_view pv;
      if (!in.StringView(&pv) || !DecodePersonView(pv, v)) return false;
    } else {
      return false;
    }
  }
  return true;
}

std::string EncodeReviewValue(const ReviewValue& v) {
  std::string out(1, static_cast<char>(internal::kValueVersion));
  PutDouble(&out, v.match_weight);
  PutDouble(&out, v.match_probability);
  PutString(&out, v.reason);
  return out;
}

bool DecodeReviewValue(std::string_view value, ReviewValue* v) {
  ReviewValue out;
  Reader in(value);
  if (!in.Version() || !in.Double(&out.match_weight) || !in.Double(&out.match_probability) || !in.String(&out.reason) ||
      !in.done()) {
    return false;
  }
  *v = std::move(out);
  return true;
}

std::string EncodeObjectionValue(const ObjectionValue& v) {
  std::string out(1, static_cast<char>(internal::kValueVersion));
  PutSigned(&out, v.time_us);
  out.push_back(static_cast<char>(v.method));
  for (const std::string* field :
       {&v.reference, &v.nhs_number, &v.family_name, &v.given_names, &v.date_of_birth, &v.postcode}) {
    PutString(&out, *field);
  }
  return out;
}

bool DecodeObjectionValue(std::string_view value, ObjectionValue* v) {
  ObjectionValue out;
  Reader in(value);
  uint8_t method;
  if (!in.Version() || !in.Signed(&out.time_us) || !in.Byte(&method) || !ValidMethod(method)) return false;
  out.method = static_cast<ObjectionMethod>(method);
  for (std::string* field :
       {&out.reference, &out.nhs_number, &out.family_name, &out.given_names, &out.date_of_birth, &out.postcode}) {
    if (!in.String(field)) return false;
  }
  if (!in.done()) return false;
  *v = std::move(out);
  return true;
}

std::string EncodeChange(const Change& c) {
  std::string out(1, static_cast<char>(internal::kValueVersion));
  PutSigned(&out, c.time_us);
  PutString(&out, c.kind);
  PutVarint(&out, c.persons.size());
  for (uint64_t p : c.persons) PutVarint(&out, p);
  PutVarint(&out, c.records.size());
  for (const std::string& r : c.records) PutString(&out, r);
  return out;
}

bool DecodeChange(std::string_view value, Change* c) {
  Change out;
  Reader in(value);
  uint64_t n = 0;
  if (!in.Version() || !in.Signed(&out.time_us) || !in.String(&out.kind) || !in.Varint(&n) || n > value.size()) {
    return false;
  }
  out.persons.resize(n);
  for (uint64_t& p : out.persons) {
    if (!in.Varint(&p)) return false;
  }
  if (!in.Varint(&n) || n > value.size()) return false;
  out.records.resize(n);
  for (std::string& r : out.records) {
    if (!in.String(&r)) return false;
  }
  if (!in.done()) return false;
  *c = std::move(out);
  return true;
}

}  // namespace empi::index
