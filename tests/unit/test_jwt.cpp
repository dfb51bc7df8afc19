#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "crypto/jwt.hpp"
#include "rsa_test_keys.hpp"

using namespace mediax;
using mediax::testing::jwt_part;
using mediax::testing::other_test_key;
using mediax::testing::test_key;
using mediax::testing::verify_rs256;

namespace {

const std::string kHeader = R"({"alg":"RS256","typ":"JWT","kid":"key-1"})";
const std::string kClaims = R"({"iss":"sa@example.iam.gserviceaccount.com","iat":1700000000,"exp":1700003600})";

}  // namespace

TEST(JwtRs256, SignatureVerifiesWithTheMatchingPublicKeyOnly) {
  auto r = crypto::sign_jwt_rs256(kHeader, kClaims, test_key().private_pem);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(verify_rs256(r.token, test_key().public_pem));
  EXPECT_FALSE(verify_rs256(r.token, other_test_key().public_pem));
}

TEST(JwtRs256, HeaderAndClaimsAreTheGivenTextsInBase64UrlWithoutPadding) {
  auto r = crypto::sign_jwt_rs256(kHeader, kClaims, test_key().private_pem);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.token.find('='), std::string::npos);
  EXPECT_EQ(r.token.find('+'), std::string::npos);
  EXPECT_EQ(r.token.find('/'), std::string::npos);
  EXPECT_EQ(std::count(r.token.begin(), r.token.end(), '.'), 2);
  EXPECT_EQ(jwt_part(r.token, 0).value_or(""), kHeader);
  EXPECT_EQ(jwt_part(r.token, 1).value_or(""), kClaims);
  // A 2048-bit signature is 256 bytes.
  auto sig = crypto::base64url_decode(r.token.substr(r.token.rfind('.') + 1));
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(sig->size(), 256u);
}

TEST(JwtRs256, TamperedClaimsNoLongerVerify) {
  auto r = crypto::sign_jwt_rs256(kHeader, kClaims, test_key().private_pem);
  ASSERT_TRUE(r.ok()) << r.error;
  auto d1 = r.token.find('.');
  auto d2 = r.token.rfind('.');
  std::string forged = r.token.substr(0, d1 + 1) +
                       crypto::base64url_encode(R"({"iss":"attacker@example.com","iat":1700000000,"exp":1800000000})") +
                       r.token.substr(d2);
  EXPECT_FALSE(verify_rs256(forged, test_key().public_pem));
}

TEST(JwtRs256, AcceptsPkcs1PemToo) {
  auto r = crypto::sign_jwt_rs256(kHeader, kClaims, test_key().pkcs1_pem);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(verify_rs256(r.token, test_key().public_pem));
  EXPECT_EQ(crypto::check_rsa_private_key(test_key().pkcs1_pem), "");
}

TEST(JwtRs256, RefusesUnusableKeysWithoutQuotingThem) {
  const std::string garbage = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n";
  for (const std::string& bad : {std::string(), std::string("not a pem"), garbage, test_key().public_pem}) {
    auto r = crypto::sign_jwt_rs256(kHeader, kClaims, bad);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.token.empty());
    EXPECT_NE(crypto::check_rsa_private_key(bad), "");
    if (bad.size() > 40) {
      EXPECT_EQ(r.error.find(bad.substr(30, 10)), std::string::npos) << r.error;
    }
  }
  EXPECT_EQ(crypto::check_rsa_private_key(test_key().private_pem), "");
}

TEST(JwtRs256, RefusesShortRsaKeysAndNonRsaKeys) {
  auto small = mediax::testing::make_rsa_key(1024);
  EXPECT_NE(crypto::check_rsa_private_key(small.private_pem).find("2048"), std::string::npos);
  EXPECT_FALSE(crypto::sign_jwt_rs256(kHeader, kClaims, small.private_pem).ok());

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> ec(EVP_EC_gen("P-256"), EVP_PKEY_free);
  ASSERT_TRUE(ec);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), ec.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::string ec_pem = mediax::testing::bio_text(bio.get());
  EXPECT_EQ(crypto::check_rsa_private_key(ec_pem), "the private key is not an RSA key");
}

TEST(JwtRs256, RefusesEncryptedKeysInsteadOfPromptingForAPassphrase) {
  std::unique_ptr<BIO, decltype(&BIO_free)> in(
      BIO_new_mem_buf(test_key().private_pem.data(), static_cast<int>(test_key().private_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  ASSERT_TRUE(key);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  char pass[] = "passphrase";
  ASSERT_EQ(
      PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(), pass, sizeof pass - 1, nullptr, nullptr),
      1);
  std::string encrypted = mediax::testing::bio_text(out.get());
  ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
  auto r = crypto::sign_jwt_rs256(kHeader, kClaims, encrypted);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("encrypted"), std::string::npos) << r.error;
}
