// Copyright EMPI developers.
//
// fuzz_jwt.cc: the bearer tokens `empi serve` verifies (JwtVerifier::Verify).
// The first byte chooses what the rest is:
//   even: a whole token, as a client could send it (base64url, the split on
//         '.', the signature check);
//   odd:  "header\npayload", signed here with the trusted ES256 key, so the
//         header and claim checks behind the signature are reached.
// Verify either fails Unauthenticated or returns an identity whose fields
// are all present, whose roles are known, and whose token's header named
// ES256 (never "none", HS256 or RS256 with this key).
#include <openssl/pem.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "engine/server/jwt.h"
#include "nlohmann/json.hpp"
#include "tests/engine/server/jws_sign.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// A key made for this target only (openssl ecparam -name prime256v1
// -genkey); it signs nothing else.
constexpr char kPrivateKey[] = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIH8NJfkz//1luEJ2Llmk9RdWQCLbXm3YsJcWyGOxtKI6oAoGCCqGSM49
AwEHoUQDQgAETU5WZerxrVX49o0xPL1JTFO7smS57o9XqEX3mFMJtG3CCweRpc7f
frH15/bXHTuM1q/Rlfl5Qmym129+FqWoMw==
-----END EC PRIVATE KEY-----
)";
constexpr char kPublicKey[] = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAETU5WZerxrVX49o0xPL1JTFO7smS5
7o9XqEX3mFMJtG3CCweRpc7ffrH15/bXHTuM1q/Rlfl5Qmym129+FqWoMw==
-----END PUBLIC KEY-----
)";
constexpr char kIssuer[] = "https://idp.fuzz";
constexpr char kAudience[] = "empi";
constexpr std::time_t kNow = 1800000000;

EVP_PKEY* signing_key = nullptr;
std::unique_ptr<empi::server::JwtVerifier> verifier;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  BIO* bio = BIO_new_mem_buf(kPrivateKey, -1);
  signing_key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  char path[] = "/tmp/fuzz_jwt_keys_XXXXXX";
  const int fd = mkstemp(path);
  FUZZ_CHECK(signing_key != nullptr && fd >= 0);
  FUZZ_CHECK(write(fd, kPublicKey, sizeof(kPublicKey) - 1) == static_cast<ssize_t>(sizeof(kPublicKey) - 1));
  close(fd);
  auto v = empi::server::JwtVerifier::FromPemFile(path, kIssuer, kAudience);
  unlink(path);
  FUZZ_CHECK(v.ok());
  verifier = std::move(*v);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string token;
  std::string_view header;
  if (data[0] % 2 == 0) {
    token = rest;
  } else {
    const size_t nl = std::min(rest.find('\n'), rest.size());
    header = rest.substr(0, nl);
    token = empi::testing::SignJws(signing_key, header, rest.substr(std::min(nl + 1, rest.size())));
  }
  absl::StatusOr<empi::server::Identity> id = verifier->Verify(token, kNow);
  if (!id.ok()) {
    FUZZ_CHECK(id.status().code() == absl::StatusCode::kUnauthenticated);
    return 0;
  }
  FUZZ_CHECK(!id->subject.empty() && !id->organisation.empty() && !id->purpose.empty() && !id->roles.empty());
  for (const std::string& role : id->roles) {
    FUZZ_CHECK(std::find(std::begin(empi::server::kRoles), std::end(empi::server::kRoles), role) !=
               std::end(empi::server::kRoles));
  }
  // A token that verifies was signed here (a forged signature never
  // verifies), and its header named ES256.
  FUZZ_CHECK(data[0] % 2 == 1);
  const nlohmann::json h = nlohmann::json::parse(header, nullptr, false);
  FUZZ_CHECK(h.is_object() && h.contains("alg") && h["alg"] == "ES256");
  return 0;
}
