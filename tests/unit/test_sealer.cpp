// AES-256-GCM sealing of secrets at rest: round trip, tampering, wrong associated data, wrong
// key, rotation, key files.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "crypto/crypto.hpp"
#include "crypto/sealer.hpp"

namespace mediax::crypto {
namespace {

SealKey key(const std::string& id, char fill) { return SealKey{id, std::string(32, fill)}; }

TEST(Sealer, RoundTripsAnyBytesWithAFreshNonceEachTime) {
  Sealer s({key("k1", 'a')});
  const std::string secret = std::string("refresh\0token\xff", 14);
  const auto a = s.seal(secret, "grants.refresh_token:1");
  const auto b = s.seal(secret, "grants.refresh_token:1");
  EXPECT_NE(a, b) << "same plaintext, different nonce";
  EXPECT_EQ(a.rfind("v1:k1:", 0), 0U) << a;
  EXPECT_EQ(a.find("refresh"), std::string::npos);
  EXPECT_EQ(s.open(a, "grants.refresh_token:1"), secret);
  EXPECT_EQ(s.open(b, "grants.refresh_token:1"), secret);
  EXPECT_EQ(s.open(s.seal("", "x"), "x"), "");
  EXPECT_EQ(Sealer::key_id_of(a), "k1");
  EXPECT_TRUE(Sealer::is_sealed(a));
  EXPECT_FALSE(Sealer::is_sealed("plain"));
}

// v2: an app's secret bound to its endpoints (core/secret_binding.hpp). It opens only with the
// binding it was sealed with; a value that names another binding says so without decrypting; the
// binding written in the value cannot be edited to match; v1 and v2 never open as each other.
TEST(Sealer, BoundValuesOpenOnlyForTheirBinding) {
  Sealer s({key("k1", 'a')});
  const std::string ad = "apps.client_secret:7";
  const std::string here = "oauth2 token=https://idp.example revocation=none";
  const std::string there = "oauth2 token=https://evil.example revocation=none";
  const auto sealed = s.seal_bound("csec", ad, here);
  EXPECT_EQ(sealed.rfind("v2:k1:", 0), 0U) << sealed;
  EXPECT_EQ(Sealer::version_of(sealed), 2);
  EXPECT_EQ(Sealer::key_id_of(sealed), "k1");
  EXPECT_EQ(Sealer::binding_of(sealed), here);
  EXPECT_EQ(s.open_bound(sealed, ad, here), "csec");
  try {
    s.open_bound(sealed, ad, there);
    FAIL() << "opened for another token endpoint";
  } catch (const BindingMismatch& e) {
    EXPECT_EQ(e.sealed_for(), here);
  }
  EXPECT_THROW(s.open_bound(sealed, "apps.client_secret:8", here), SealError) << "another row";
  // The binding in clear edited to the new endpoint: the tag no longer matches.
  const auto parts = sealed.substr(std::string("v2:k1:").size());
  const auto forged = "v2:k1:" + base64url_encode(there) + parts.substr(parts.find(':'));
  EXPECT_THROW(
      {
        try {
          s.open_bound(forged, ad, there);
        } catch (const BindingMismatch&) {
          FAIL() << "an edited binding must fail the tag, not compare equal";
        }
      },
      SealError);
  // Versions do not mix: a v1 value is bound to nothing and is not accepted as bound.
  const auto v1 = s.seal("csec", ad);
  EXPECT_EQ(Sealer::version_of(v1), 1);
  EXPECT_THROW(s.open_bound(v1, ad, here), SealError);
  EXPECT_THROW(s.open(sealed, ad), SealError);
  EXPECT_EQ(Sealer::version_of("plain"), 0);
  EXPECT_FALSE(Sealer::binding_of(v1).has_value());
}

TEST(Sealer, SecureWipeZeroesAndEmpties) {
  std::string s = "a client secret longer than the small-string buffer";
  const std::size_t n = s.size();
  const char* data = s.data();
  secure_wipe(s);
  EXPECT_TRUE(s.empty());
  ASSERT_GE(s.capacity(), n) << "clear() keeps the buffer: its old bytes are readable";
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(data[i], '\0') << "byte " << i << " left";
}

TEST(Sealer, TamperedValueDoesNotOpen) {
  Sealer s({key("k1", 'a')});
  const auto sealed = s.seal("client-secret", "apps.client_secret:crm");
  const auto prefix = std::string("v1:k1:");
  auto raw = *base64url_decode(sealed.substr(prefix.size()));
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto t = raw;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    EXPECT_THROW(s.open(prefix + base64url_encode(t), "apps.client_secret:crm"), SealError) << "byte " << i;
  }
  EXPECT_THROW(s.open(prefix + base64url_encode(raw.substr(0, raw.size() - 1)), "apps.client_secret:crm"), SealError);
  EXPECT_THROW(s.open("v1:k1:!!!", "apps.client_secret:crm"), SealError);
  EXPECT_THROW(s.open("v1:k1", "apps.client_secret:crm"), SealError);
  EXPECT_THROW(s.open("client-secret", "apps.client_secret:crm"), SealError);
}

TEST(Sealer, ValueMovedToAnotherRowDoesNotOpen) {
  Sealer s({key("k1", 'a')});
  const auto sealed = s.seal("secret", "apps.client_secret:crm");
  EXPECT_THROW(s.open(sealed, "apps.client_secret:shop"), SealError);
  EXPECT_THROW(s.open(sealed, "grants.refresh_token:crm"), SealError);
  EXPECT_THROW(s.open(sealed, ""), SealError);
}

TEST(Sealer, WrongKeyOrUnknownKeyIdDoesNotOpen) {
  const auto sealed = Sealer({key("k1", 'a')}).seal("secret", "ad");
  EXPECT_THROW(Sealer({key("k1", 'b')}).open(sealed, "ad"), SealError);
  try {
    Sealer({key("k2", 'a')}).open(sealed, "ad");
    FAIL() << "opened with an unknown key id";
  } catch (const SealError& e) {
    EXPECT_NE(std::string(e.what()).find("'k1'"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos);
  }
}

TEST(Sealer, RotationSealsWithTheFirstKeyAndOpensWithAnyLoadedOne) {
  const auto old_sealed = Sealer({key("old", 'a')}).seal("secret", "ad");
  Sealer both({key("new", 'b'), key("old", 'a')});
  EXPECT_EQ(both.open(old_sealed, "ad"), "secret");
  const auto resealed = both.seal(both.open(old_sealed, "ad"), "ad");
  EXPECT_EQ(Sealer::key_id_of(resealed), "new");
  EXPECT_EQ(Sealer({key("new", 'b')}).open(resealed, "ad"), "secret");
  EXPECT_THROW(Sealer({key("new", 'b')}).open(old_sealed, "ad"), SealError) << "old key no longer loaded";
}

TEST(Sealer, BadKeysAreRefused) {
  EXPECT_THROW(Sealer({}), std::invalid_argument);
  EXPECT_THROW(Sealer({SealKey{"k", std::string(31, 'a')}}), std::invalid_argument);
  EXPECT_THROW(Sealer({key("bad id", 'a')}), std::invalid_argument);
  EXPECT_THROW(Sealer({key("k", 'a'), key("k", 'b')}), std::invalid_argument);
}

TEST(Sealer, KeyFilesHoldRawBytesOrHex) {
  const std::string dir = ::testing::TempDir();
  const std::string raw_path = dir + "/mediax-raw.key";
  const std::string hex_path = dir + "/mediax-hex.key";
  const std::string bad_path = dir + "/mediax-bad.key";
  const std::string raw(32, '\x07');
  std::ofstream(raw_path, std::ios::binary) << raw;
  std::ofstream(hex_path) << to_hex(raw) << "\n";
  std::ofstream(bad_path) << "too short\n";
  const auto a = load_seal_key_file(raw_path);
  EXPECT_EQ(a.id, "mediax-raw");
  EXPECT_EQ(a.bytes, raw);
  EXPECT_EQ(load_seal_key_file(hex_path, "k9").bytes, raw);
  EXPECT_EQ(load_seal_key_file(hex_path, "k9").id, "k9");
  EXPECT_THROW(load_seal_key_file(bad_path), std::runtime_error);
  EXPECT_THROW(load_seal_key_file(dir + "/does-not-exist.key"), std::runtime_error);
  std::remove(raw_path.c_str());
  std::remove(hex_path.c_str());
  std::remove(bad_path.c_str());
}

}  // namespace
}  // namespace mediax::crypto
