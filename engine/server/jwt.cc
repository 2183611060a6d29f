// Copyright EMPI developers.
#include "engine/server/jwt.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <iterator>

#include "absl/status/status.h"
#include "base/input_file.h"
#include "nlohmann/json.hpp"

namespace empi::server {

struct JwtVerifier::Key {
  EVP_PKEY* pkey = nullptr;
  bool rsa = false;  // else EC P-256
};

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

absl::Status Unauth(const std::string& why) { return absl::UnauthenticatedError(why); }

// A JWS ES256 signature is r || s, 32 bytes each; OpenSSL verifies DER.
bool RawEcdsaToDer(std::string_view raw, std::string* der) {
  if (raw.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* out = nullptr;
  int n = i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);
  if (n <= 0) return false;
  der->assign(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return true;
}

bool VerifySha256(EVP_PKEY* key, std::string_view signed_part, std::string_view sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

bool IsKnownRole(const std::string& r) {
  return std::find(std::begin(kRoles), std::end(kRoles), r) != std::end(kRoles);
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = std::find(kAlphabet, kAlphabet + 64, c);
    if (p == kAlphabet + 64) return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::FromPemFile(const std::string& path, std::string issuer,
                                                                      std::string audience, int64_t leeway_seconds) {
  absl::StatusOr<std::string> pem = ReadInputFile(path, "--jwt-keys key file");
  if (!pem.ok()) return pem.status();
  std::unique_ptr<JwtVerifier> v(new JwtVerifier());
  v->issuer_ = std::move(issuer);
  v->audience_ = std::move(audience);
  v->leeway_ = leeway_seconds;
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  while (EVP_PKEY* k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr)) {
    Key key{k, EVP_PKEY_base_id(k) == EVP_PKEY_RSA};
    const bool p256 = EVP_PKEY_base_id(k) == EVP_PKEY_EC && EVP_PKEY_get_bits(k) == 256;
    if (!key.rsa && !p256) {
      EVP_PKEY_free(k);
      BIO_free(bio);
      return absl::InvalidArgumentError("--jwt-keys: a key is neither RSA nor EC P-256");
    }
    v->keys_.push_back(key);
  }
  BIO_free(bio);
  if (v->keys_.empty()) return absl::InvalidArgumentError("--jwt-keys: no PEM public key in the file");
  return v;
}

JwtVerifier::~JwtVerifier() {
  for (Key& k : keys_) EVP_PKEY_free(k.pkey);
}

size_t JwtVerifier::key_count() const { return keys_.size(); }

absl::StatusOr<Identity> JwtVerifier::Verify(std::string_view token, std::time_t now) const {
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(std::string(token));
    if (it != cache_.end()) {
      if (absl::Status s = CheckTimes(it->second, now); !s.ok()) return s;
      return it->second.identity;
    }
  }
  absl::StatusOr<Verified> v = VerifyUncached(token);
  if (!v.ok()) return v.status();
  if (absl::Status s = CheckTimes(*v, now); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kCacheSize) cache_.clear();
  cache_.emplace(std::string(token), *v);
  return v->identity;
}

absl::Status JwtVerifier::CheckTimes(const Verified& v, std::time_t now) const {
  if (v.exp + static_cast<double>(leeway_) <= static_cast<double>(now)) return Unauth("token expired");
  if (v.has_nbf && v.nbf - static_cast<double>(leeway_) > static_cast<double>(now)) {
    return Unauth("token not yet valid (nbf)");
  }
  return absl::OkStatus();
}

absl::StatusOr<JwtVerifier::Verified> JwtVerifier::VerifyUncached(std::string_view token) const {
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauth("token is not a signed JWT");
  }
  std::string header_bytes, payload_bytes, sig;
  if (!Base64UrlDecode(token.substr(0, dot1), &header_bytes) ||
      !Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1), &payload_bytes) ||
      !Base64UrlDecode(token.substr(dot2 + 1), &sig)) {
    return Unauth("token is not base64url");
  }
  nlohmann::json header = nlohmann::json::parse(header_bytes, nullptr, false);
  if (!header.is_object() || !header.contains("alg") || !header["alg"].is_string()) {
    return Unauth("token header has no alg");
  }
  const std::string alg = header["alg"];
  if (alg != "RS256" && alg != "ES256") return Unauth("token alg is not RS256 or ES256");
  const bool rsa = alg == "RS256";
  std::string der;
  if (!rsa && !RawEcdsaToDer(sig, &der)) return Unauth("signature does not verify");
  const std::string_view signed_part = token.substr(0, dot2);
  bool verified = false;
  for (const Key& k : keys_) {
    if (k.rsa != rsa) continue;
    if (VerifySha256(k.pkey, signed_part, rsa ? sig : der)) {
      verified = true;
      break;
    }
  }
  if (!verified) return Unauth("signature does not verify");

  nlohmann::json claims = nlohmann::json::parse(payload_bytes, nullptr, false);
  if (!claims.is_object()) return Unauth("token claims are not a JSON object");
  if (!claims.contains("exp") || !claims["exp"].is_number()) return Unauth("token has no exp");
  Verified v;
  v.exp = claims["exp"].get<double>();
  if (claims.contains("nbf")) {
    if (!claims["nbf"].is_number()) return Unauth("token nbf is not a number");
    v.has_nbf = true;
    v.nbf = claims["nbf"].get<double>();
  }
  if (!claims.contains("iss") || claims["iss"] != issuer_) return Unauth("token issuer is not accepted");
  bool aud_ok = false;
  if (claims.contains("aud")) {
    const nlohmann::json& aud = claims["aud"];
    if (aud.is_string()) aud_ok = aud == audience_;
    if (aud.is_array()) aud_ok = std::find(aud.begin(), aud.end(), audience_) != aud.end();
  }
  if (!aud_ok) return Unauth("token audience is not accepted");
  Identity& id = v.identity;
  for (auto [name, field] :
       {std::pair{"sub", &id.subject}, std::pair{"org", &id.organisation}, std::pair{"purpose", &id.purpose}}) {
    if (!claims.contains(name) || !claims[name].is_string() || claims[name].get<std::string>().empty()) {
      return Unauth(std::string("token has no ") + name);
    }
    *field = claims[name].get<std::string>();
  }
  if (!claims.contains("roles") || !claims["roles"].is_array() || claims["roles"].empty()) {
    return Unauth("token has no roles");
  }
  for (const nlohmann::json& r : claims["roles"]) {
    if (!r.is_string() || !IsKnownRole(r.get<std::string>())) return Unauth("token has an unknown role");
    id.roles.push_back(r.get<std::string>());
  }
  return v;
}

}  // namespace empi::server
