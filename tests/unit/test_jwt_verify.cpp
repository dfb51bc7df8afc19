// crypto::verify_jwt_rs256: ID tokens checked against a JWK Set and the expected claims. Tokens are
// signed with crypto::sign_jwt_rs256 (itself checked against OpenSSL directly in test_jwt.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "crypto/jwt.hpp"
#include "crypto/jwt_verify.hpp"
#include "rsa_test_keys.hpp"

using namespace mediax;
using mediax::testing::jwk_of;
using mediax::testing::other_test_key;
using mediax::testing::test_key;
using nlohmann::json;

namespace {

const TimePoint kNow = from_unix(1780000000);
const std::string kIss = "https://accounts.google.com";
const std::string kAud = "1234-abc.apps.googleusercontent.com";

json claims(std::int64_t iat = 1780000000) {
  return {{"iss", kIss},
          {"aud", kAud},
          {"azp", kAud},
          {"sub", "110169484474386276334"},
          {"iat", iat},
          {"exp", iat + 3600},
          {"email", "alice@example.com"}};
}

std::string sign(const json& c, const std::string& kid = "k1", const std::string& pem = test_key().private_pem) {
  json header{{"alg", "RS256"}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  auto r = crypto::sign_jwt_rs256(header.dump(), c.dump(), pem);
  EXPECT_TRUE(r.ok()) << r.error;
  return r.token;
}

json jwks() { return {{"keys", {jwk_of(other_test_key().public_pem, "k0"), jwk_of(test_key().public_pem, "k1")}}}; }

crypto::JwtExpectations want(TimePoint now = kNow) {
  crypto::JwtExpectations w;
  w.issuers = {kIss, "accounts.google.com"};
  w.audience = kAud;
  w.now = now;
  return w;
}

// A token with the given header, the claims of claims() and `signature` (base64url) as is.
std::string forged(const json& header, const std::string& signature) {
  return crypto::base64url_encode(header.dump()) + "." + crypto::base64url_encode(claims().dump()) + "." + signature;
}

}  // namespace

TEST(JwtVerify, AcceptsAGoodTokenAndReturnsItsClaims) {
  auto c = crypto::verify_jwt_rs256(sign(claims()), jwks(), want());
  ASSERT_TRUE(c.ok()) << c.message;
  EXPECT_EQ(c.claims.value("sub", ""), "110169484474386276334");
  EXPECT_EQ(c.kid, "k1");
}

TEST(JwtVerify, AcceptsEitherSpellingOfGooglesIssuerAndAnAudienceList) {
  json c = claims();
  c["iss"] = "accounts.google.com";
  c["aud"] = json::array({"other", kAud});
  EXPECT_TRUE(crypto::verify_jwt_rs256(sign(c), jwks(), want()).ok());
}

TEST(JwtVerify, RefusesASignatureByAnotherKeyOrOfOtherContent) {
  // Signed with k0's private key but naming k1.
  auto other = crypto::verify_jwt_rs256(sign(claims(), "k1", other_test_key().private_pem), jwks(), want());
  EXPECT_EQ(other.failure, crypto::JwtFailure::signature);
  EXPECT_TRUE(other.claims.empty()) << "no claims before the signature verified";
  // Claims swapped after signing.
  std::string good = sign(claims());
  json changed = claims();
  changed["sub"] = "attacker";
  auto d1 = good.find('.');
  auto d2 = good.rfind('.');
  std::string tampered = good.substr(0, d1 + 1) + crypto::base64url_encode(changed.dump()) + good.substr(d2);
  EXPECT_EQ(crypto::verify_jwt_rs256(tampered, jwks(), want()).failure, crypto::JwtFailure::signature);
}

TEST(JwtVerify, RefusesWrongAudienceAzpOrIssuer) {
  json aud = claims();
  aud["aud"] = "someone-else.apps.googleusercontent.com";
  aud.erase("azp");
  EXPECT_EQ(crypto::verify_jwt_rs256(sign(aud), jwks(), want()).failure, crypto::JwtFailure::audience);
  json azp = claims();
  azp["azp"] = "someone-else";
  EXPECT_EQ(crypto::verify_jwt_rs256(sign(azp), jwks(), want()).failure, crypto::JwtFailure::audience);
  json iss = claims();
  iss["iss"] = "https://accounts.example.net";
  auto c = crypto::verify_jwt_rs256(sign(iss), jwks(), want());
  EXPECT_EQ(c.failure, crypto::JwtFailure::issuer);
  EXPECT_NE(c.message.find("accounts.example.net"), std::string::npos) << c.message;
  json none = claims();
  none.erase("aud");
  EXPECT_EQ(crypto::verify_jwt_rs256(sign(none), jwks(), want()).failure, crypto::JwtFailure::audience);
}

TEST(JwtVerify, ExpiryAllowsTheLeewayAndNoMore) {
  const std::string t = sign(claims());
  EXPECT_TRUE(crypto::verify_jwt_rs256(t, jwks(), want(kNow + Seconds(3600 + 60))).ok());
  auto late = crypto::verify_jwt_rs256(t, jwks(), want(kNow + Seconds(3600 + 61)));
  EXPECT_EQ(late.failure, crypto::JwtFailure::expired);
  // Issued in the future: the daemon's clock or the provider's is wrong.
  EXPECT_TRUE(crypto::verify_jwt_rs256(t, jwks(), want(kNow - Seconds(60))).ok());
  EXPECT_EQ(crypto::verify_jwt_rs256(t, jwks(), want(kNow - Seconds(61))).failure, crypto::JwtFailure::not_yet_valid);
  json no_exp = claims();
  no_exp.erase("exp");
  EXPECT_EQ(crypto::verify_jwt_rs256(sign(no_exp), jwks(), want()).failure, crypto::JwtFailure::expired);
}

TEST(JwtVerify, UnknownKidIsItsOwnFailureSoTheCallerCanFetchTheKeysAgain) {
  auto c = crypto::verify_jwt_rs256(sign(claims(), "k9"), jwks(), want());
  EXPECT_EQ(c.failure, crypto::JwtFailure::unknown_key);
  EXPECT_EQ(c.kid, "k9");
  // No kid: only a set with exactly one usable key will do.
  EXPECT_EQ(crypto::verify_jwt_rs256(sign(claims(), ""), jwks(), want()).failure, crypto::JwtFailure::unknown_key);
  json one{{"keys", {jwk_of(test_key().public_pem, "k1")}}};
  EXPECT_TRUE(crypto::verify_jwt_rs256(sign(claims(), ""), one, want()).ok());
  // A key meant for encryption or another algorithm is not used.
  json enc = one;
  enc["keys"][0]["use"] = "enc";
  EXPECT_EQ(crypto::verify_jwt_rs256(sign(claims()), enc, want()).failure, crypto::JwtFailure::unknown_key);
  EXPECT_EQ(crypto::verify_jwt_rs256(sign(claims()), json::object(), want()).failure, crypto::JwtFailure::unknown_key);
}

TEST(JwtVerify, RefusesAlgNoneAndHs256) {
  auto none = crypto::verify_jwt_rs256(forged({{"alg", "none"}, {"kid", "k1"}}, ""), jwks(), want());
  EXPECT_EQ(none.failure, crypto::JwtFailure::algorithm);
  // HS256 "signed" with the public key's bytes, the classic confusion attack, or with the client secret.
  const std::string input = crypto::base64url_encode(json{{"alg", "HS256"}, {"kid", "k1"}}.dump()) + "." +
                            crypto::base64url_encode(claims().dump());
  auto hs = crypto::verify_jwt_rs256(
      input + "." + crypto::base64url_encode(crypto::hmac_sha256(test_key().public_pem, input)), jwks(), want());
  EXPECT_EQ(hs.failure, crypto::JwtFailure::algorithm);
  EXPECT_EQ(crypto::verify_jwt_rs256(forged({{"kid", "k1"}}, "c2ln"), jwks(), want()).failure,
            crypto::JwtFailure::algorithm);
}

TEST(JwtVerify, MalformedTokensAreRefusedWithoutQuotingThem) {
  for (const std::string& t : {std::string(""), std::string("a.b"), std::string("a.b.c.d.e"), std::string("!!.??.##"),
                               crypto::base64url_encode("[1]") + "." + crypto::base64url_encode("{}") + ".c2ln"}) {
    auto c = crypto::verify_jwt_rs256(t, jwks(), want());
    EXPECT_EQ(c.failure, crypto::JwtFailure::malformed) << t;
  }
  const std::string t = sign(claims());
  const std::string bad = t.substr(0, t.size() - 4) + "AAAA";
  auto c = crypto::verify_jwt_rs256(bad, jwks(), want());
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.message.find(bad), std::string::npos);
  EXPECT_EQ(c.message.find(t.substr(0, 20)), std::string::npos);
}

TEST(JwtVerify, ReadsTheHeaderWithoutVerifying) {
  auto h = crypto::read_jwt_header(sign(claims(), "k7"));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->alg, "RS256");
  EXPECT_EQ(h->kid, "k7");
  EXPECT_FALSE(crypto::read_jwt_header("x.y").has_value());
}
