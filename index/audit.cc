// Copyright EMPI developers.
//
// audit.cc: the audit event encoding and its SHA-256 hash chain
// (docs/format/store.md, "audit").
#include <openssl/evp.h>

#include "index/codec_internal.h"
#include "index/store.h"

namespace empi::index {
namespace {

constexpr size_t kHashSize = 32;

// The event fields in canonical order, without the sequence number.
void AppendEventBody(const AuditEvent& e, std::string* out) {
  internal::PutSigned(out, e.time_us);
  for (const std::string* field : {&e.requester, &e.organisation, &e.role, &e.purpose, &e.action, &e.outcome}) {
    internal::PutString(out, *field);
  }
  internal::PutVarint(out, e.persons.size());
  for (uint64_t person : e.persons) out->append(EncodeU64(person));
  internal::PutVarint(out, e.records.size());
  for (const std::string& record : e.records) internal::PutString(out, record);
  // Since format version 7, and only when set (or when the ids follow).
  const bool ids = !e.request_id.empty() || !e.correlation_id.empty();
  if (e.at_change != 0 || !e.model_version.empty() || e.as_of || ids) {
    internal::PutVarint(out, e.at_change);
    internal::PutString(out, e.model_version);
    out->push_back(e.as_of ? 1 : 0);
  }
  // Since format version 8, and only when set.
  if (ids) {
    internal::PutString(out, e.request_id);
    internal::PutString(out, e.correlation_id);
  }
}

bool ReadEventBody(internal::Reader* in, AuditEvent* e) {
  if (!in->Signed(&e->time_us)) return false;
  for (std::string* field : {&e->requester, &e->organisation, &e->role, &e->purpose, &e->action, &e->outcome}) {
    if (!in->String(field)) return false;
  }
  uint64_t n;
  // Counts are not trusted for allocation: elements are read one by one,
  // so a forged huge count fails on the first missing element.
  if (!in->Varint(&n)) return false;
  e->persons.clear();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t person;
    if (!in->Fixed64(&person)) return false;
    e->persons.push_back(person);
  }
  if (!in->Varint(&n)) return false;
  e->records.clear();
  for (uint64_t i = 0; i < n; ++i) {
    std::string record;
    if (!in->String(&record)) return false;
    e->records.push_back(std::move(record));
  }
  e->at_change = 0;
  e->model_version.clear();
  e->as_of = false;
  e->request_id.clear();
  e->correlation_id.clear();
  if (in->done()) return true;
  if (!in->Varint(&e->at_change) || !in->String(&e->model_version) || !in->Bool(&e->as_of)) return false;
  if (in->done()) return true;
  return in->String(&e->request_id) && in->String(&e->correlation_id);
}

}  // namespace

std::string CanonicalAuditBytes(uint64_t sequence, const AuditEvent& event) {
  std::string out = EncodeU64(sequence);
  AppendEventBody(event, &out);
  return out;
}

std::string EncodeAuditBody(const AuditEvent& event) {
  std::string out;
  AppendEventBody(event, &out);
  return out;
}

bool AuditHashOfBody(std::string_view prev_hash, uint64_t sequence, std::string_view body, char out[32]) {
  // One fetch of the algorithm and one context per thread: an implicit
  // fetch on every hash takes OpenSSL's provider lock, which concurrent
  // readers would share.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Context context;
  const std::string seq = EncodeU64(sequence);
  unsigned int len = 0;
  return sha256 != nullptr && context.ctx != nullptr && EVP_DigestInit_ex(context.ctx, sha256, nullptr) == 1 &&
         EVP_DigestUpdate(context.ctx, prev_hash.data(), prev_hash.size()) == 1 &&
         EVP_DigestUpdate(context.ctx, seq.data(), seq.size()) == 1 &&
         EVP_DigestUpdate(context.ctx, body.data(), body.size()) == 1 &&
         EVP_DigestFinal_ex(context.ctx, reinterpret_cast<unsigned char*>(out), &len) == 1 && len == kHashSize;
}

std::string AuditHash(std::string_view prev_hash, uint64_t sequence, const AuditEvent& event) {
  std::string hash(kHashSize, '\0');
  // SHA-256 over memory cannot fail short of allocation failure; an empty
  // hash never verifies, so such a failure cannot pass for a good chain.
  if (!AuditHashOfBody(prev_hash, sequence, EncodeAuditBody(event), hash.data())) return std::string();
  return hash;
}

std::string EncodeAuditValue(const StoredAuditEvent& e) {
  std::string out(1, static_cast<char>(internal::kValueVersion));
  out.append(e.prev_hash);
  out.append(e.hash);
  AppendEventBody(e.event, &out);
  return out;
}

bool DecodeAuditValue(uint64_t sequence, std::string_view value, StoredAuditEvent* e) {
  StoredAuditEvent out;
  out.sequence = sequence;
  internal::Reader in(value);
  if (!in.Version() || !in.Bytes(kHashSize, &out.prev_hash) || !in.Bytes(kHashSize, &out.hash) ||
      !ReadEventBody(&in, &out.event) || !in.done()) {
    return false;
  }
  *e = std::move(out);
  return true;
}

}  // namespace empi::index
