// Copyright EMPI developers.
//
// jwt.h: verifies the signed JWT bearer tokens `empi serve` accepts, and
// turns one into the identity every audit event records.
//
// A token is accepted when it is a compact JWS (header.payload.signature)
// signed with RS256 (RSA PKCS#1 v1.5, SHA-256) or ES256 (ECDSA P-256,
// SHA-256, the signature as raw r || s) by one of the PEM public keys
// loaded, and its claims hold: `exp` (required) in the future, `nbf` (if
// present) in the past, both with `leeway_seconds` of clock skew; `iss`
// equal to the configured issuer; `aud` (a string or an array) naming the
// configured audience; `sub`, `org` and `purpose` non-empty strings; `roles`
// a non-empty array of known role names. The algorithm is taken from the
// header but checked against the key's type, so an RSA key never verifies
// an ES256 token and "none" or HS256 are never accepted. The model is the
// NHS England API platform's signed-JWT application authentication.
//
//   EMPI_ASSIGN_OR_RETURN(auto v, empi::server::JwtVerifier::FromPemFile(
//       "keys.pem", "https://idp.example", "empi"));
//   absl::StatusOr<empi::server::Identity> id = v->Verify(token, std::time(nullptr));
//
// Errors say what is wrong with the token ("token expired", "signature does
// not verify"), never a claim's value.
//
// Verified tokens are cached (at most kCacheSize, keyed by the whole token)
// so that a client sending the same token on every request pays for one
// signature check; exp and nbf are checked against `now` on every call.
//
// Thread-safety: Verify is const and safe to call concurrently.
#ifndef EMPI_ENGINE_SERVER_JWT_H_
#define EMPI_ENGINE_SERVER_JWT_H_

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace empi::server {

// The roles a token may carry (issue 18): what each may do is in
// docs/service.md and server.cc's route table.
inline constexpr std::string_view kRoles[] = {"clinician", "integration", "steward", "auditor", "admin"};

struct Identity {
  std::string subject;       // sub
  std::string organisation;  // org
  std::string purpose;       // purpose of use
  std::vector<std::string> roles;
};

class JwtVerifier {
 public:
  // Loads every PEM public key (RSA or EC P-256) in `path`. NotFound when
  // the file cannot be read, InvalidArgument when it holds no usable key.
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> FromPemFile(const std::string& path, std::string issuer,
                                                                  std::string audience, int64_t leeway_seconds = 30);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // The identity `token` carries, or Unauthenticated with the reason.
  absl::StatusOr<Identity> Verify(std::string_view token, std::time_t now) const;

  size_t key_count() const;

  static constexpr size_t kCacheSize = 4096;

 private:
  struct Key;
  struct Verified {
    Identity identity;
    double exp = 0, nbf = 0;
    bool has_nbf = false;
  };
  absl::StatusOr<Verified> VerifyUncached(std::string_view token) const;
  absl::Status CheckTimes(const Verified& v, std::time_t now) const;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, Verified> cache_ ABSL_GUARDED_BY(mu_);
  JwtVerifier() = default;
  std::vector<Key> keys_;
  std::string issuer_, audience_;
  int64_t leeway_ = 30;
};

// base64url without padding (RFC 7515 section 2), both ways; false on a
// character outside the alphabet.
std::string Base64UrlEncode(std::string_view bytes);
bool Base64UrlDecode(std::string_view text, std::string* out);

}  // namespace empi::server

#endif  // EMPI_ENGINE_SERVER_JWT_H_
