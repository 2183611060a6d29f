// Copyright EMPI developers.
//
// jws_sign.h: a compact JWS signed with OpenSSL, for the tests and the JWT
// fuzz target: Base64Url(header) "." Base64Url(payload) "." signature, the
// signature RS256 for an RSA key and ES256 (raw r || s) for an EC key.
// Header and payload are taken as bytes, so a caller may sign JSON that is
// not well formed.
#ifndef EMPI_TESTS_ENGINE_SERVER_JWS_SIGN_H_
#define EMPI_TESTS_ENGINE_SERVER_JWS_SIGN_H_

#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "engine/server/jwt.h"

namespace empi::testing {

inline std::string SignJws(EVP_PKEY* key, std::string_view header, std::string_view payload) {
  const bool rsa = EVP_PKEY_base_id(key) == EVP_PKEY_RSA;
  const std::string signing_input = server::Base64UrlEncode(header) + "." + server::Base64UrlEncode(payload);
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, in, signing_input.size()) == 1) {
    sig.resize(len);
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, signing_input.size());
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!rsa) {  // DER ECDSA-Sig-Value to r || s, 32 bytes each
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    sig = raw;
  }
  return signing_input + "." + server::Base64UrlEncode(sig);
}

}  // namespace empi::testing

#endif  // EMPI_TESTS_ENGINE_SERVER_JWS_SIGN_H_
