// Copyright EMPI developers.
//
// JwtVerifier against keys made with the openssl command line and tokens
// signed with OpenSSL: the claim checks one at a time, at a fixed clock.
#include "engine/server/jwt.h"

#include "gtest/gtest.h"
#include "tests/engine/server/serve_test_util.h"
#include "tests/temp_dir.h"

namespace empi::testing {
namespace {

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ok_ = static_cast<bool>(MakeKeys(dir_->path()));
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override {
    ASSERT_TRUE(ok_);
    auto v = server::JwtVerifier::FromPemFile(Key("jwt-keys.pem"), kIssuer, kAudience);
    ASSERT_TRUE(v.ok()) << v.status();
    verifier_ = std::move(*v);
  }
  static std::string Key(const std::string& n) { return dir_->path() + "/" + n; }
  static TempDir* dir_;
  static bool ok_;
  std::unique_ptr<server::JwtVerifier> verifier_;
};
TempDir* JwtTest::dir_ = nullptr;
bool JwtTest::ok_ = false;

TEST_F(JwtTest, LoadsBothKeysAndRefusesFilesWithoutPublicKeys) {
  EXPECT_EQ(verifier_->key_count(), 2u);
  EXPECT_EQ(server::JwtVerifier::FromPemFile(Key("nope.pem"), "i", "a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(server::JwtVerifier::FromPemFile(Key("rsa.key"), "i", "a").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(JwtTest, AcceptsRs256AndEs256WithTheIdentity) {
  for (const char* key : {"rsa.key", "ec.key"}) {
    auto id = verifier_->Verify(SignJwt(Key(key), Claims("u1", "RKB", "direct-care", {"clinician", "steward"})),
                                std::time(nullptr));
    ASSERT_TRUE(id.ok()) << key << ": " << id.status();
    EXPECT_EQ(id->subject, "u1");
    EXPECT_EQ(id->organisation, "RKB");
    EXPECT_EQ(id->purpose, "direct-care");
    EXPECT_EQ(id->roles, (std::vector<std::string>{"clinician", "steward"}));
  }
}

TEST_F(JwtTest, ChecksExpiryNotBeforeWithLeeway) {
  nlohmann::json c = Claims("u1", "RKB", "direct-care", {"clinician"});
  c["exp"] = 1000;
  c["nbf"] = 500;
  const std::string t = SignJwt(Key("ec.key"), c);
  EXPECT_TRUE(verifier_->Verify(t, 1000 + 29).ok());  // 30 s leeway
  EXPECT_EQ(verifier_->Verify(t, 1000 + 30).status().message(), "token expired");
  EXPECT_TRUE(verifier_->Verify(t, 500 - 30).ok());
  EXPECT_EQ(verifier_->Verify(t, 500 - 31).status().message(), "token not yet valid (nbf)");
  c.erase("exp");
  EXPECT_EQ(verifier_->Verify(SignJwt(Key("ec.key"), c), 600).status().message(), "token has no exp");
}

TEST_F(JwtTest, RefusesUnknownRolesAndMalformedTokens) {
  const time_t now = std::time(nullptr);
  EXPECT_EQ(verifier_->Verify(SignJwt(Key("rsa.key"), Claims("u", "o", "p", {"superuser"})), now).status().message(),
            "token has an unknown role");
  EXPECT_EQ(verifier_->Verify("abc", now).status().message(), "token is not a signed JWT");
  EXPECT_EQ(verifier_->Verify("a.b.c.d", now).status().message(), "token is not a signed JWT");
  EXPECT_EQ(verifier_->Verify("a*.b.c", now).status().message(), "token is not base64url");
  // An ES256 signature of the wrong length.
  std::string t = SignJwt(Key("ec.key"), Claims("u", "o", "p", {"admin"}));
  t = t.substr(0, t.rfind('.') + 1) + server::Base64UrlEncode("short");
  EXPECT_EQ(verifier_->Verify(t, now).status().message(), "signature does not verify");
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    std::string back;
    const std::string enc = server::Base64UrlEncode(bytes);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    ASSERT_TRUE(server::Base64UrlDecode(enc, &back));
    EXPECT_EQ(back, bytes);
    bytes.push_back(static_cast<char>(n * 37 + 251));
  }
  EXPECT_EQ(server::Base64UrlEncode("\xfb\xff"), "-_8");
}

}  // namespace
}  // namespace empi::testing
