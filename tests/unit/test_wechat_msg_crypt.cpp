// WXBizMsgCrypt against WeChat's own sample vectors, then every way a ciphertext can be wrong.
//
// Vectors:
//  - Encryption: the official Java sample's WXBizMsgCryptTest, carried over unchanged by WxJava as
//    weixin-java-common/src/test/java/me/chanjar/weixin/common/util/crypto/WxCryptUtilTest.java
//    (binarywang/WxJava; EncodingAESKey "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", token "pamtest",
//    timestamp "1409304348", nonce "xxxxxx", appid "wxb11529c136998cb6", random "aaaabbbbccccdddd",
//    message "我是中文abcd123" -> afterAesEncrypt). That sample states no msg_signature.
//  - Signature and decryption: the official Python sample Sample.py from WeChat's cryptoDemo.zip (linked
//    from developers.weixin.qq.com/doc/oplatform/developers/dev/push/encryption.md: token "spamtest",
//    nonce "1320562132", timestamp "1409735669", appid "wx2c2769f8efd9abc2", msg_sign
//    "5d197aaffba7e9b25a30732f161a50dee96bd5fa" and its <Encrypt>), reproduced in wechatpy's tests.
// Tampered ciphertexts are made with CBC's malleability: flipping a bit of cipher block i-1 flips the
// same bit of plaintext block i, so the length field and the pad byte can be set without the key.
#include <gtest/gtest.h>

#include <cctype>
#include <set>

#include "crypto/crypto.hpp"
#include "crypto/wechat_msg_crypt.hpp"

using namespace mediax;
using namespace mediax::wxcrypt;

namespace {

const std::string kSampleKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

// WxJava WxCryptUtilTest: afterAesEncrypt.
const std::string kJavaAppId = "wxb11529c136998cb6";
const std::string kJavaRandom = "aaaabbbbccccdddd";
const std::string kJavaMessage = "我是中文abcd123";
const std::string kJavaEncrypt =
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";

// Official Sample.py: the message WeChat sent and its msg_signature.
const std::string kPyToken = "spamtest";
const std::string kPyTimestamp = "1409735669";
const std::string kPyNonce = "1320562132";
const std::string kPyAppId = "wx2c2769f8efd9abc2";
const std::string kPyMsgSignature = "5d197aaffba7e9b25a30732f161a50dee96bd5fa";
const std::string kPyEncrypt =
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpb"
    "UAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjl"
    "pKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1B"
    "D1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

AesKey sample_key() { return *aes_key(kSampleKey); }

std::string raw(const std::string& b64) {
  std::string s = b64;
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return *crypto::base64url_decode(s);
}

// XORs `mask` into the plaintext byte at `plain_index` (which must not be in the first block).
std::string flip_plain_byte(const std::string& b64, std::size_t plain_index, std::uint8_t mask) {
  std::string c = raw(b64);
  c.at(plain_index - 16) = static_cast<char>(static_cast<std::uint8_t>(c.at(plain_index - 16)) ^ mask);
  return crypto::base64_encode(c);
}

}  // namespace

TEST(WeChatComponentCrypt, EncodingAesKeyDecodesTo32Bytes) {
  auto k = aes_key(kSampleKey);
  ASSERT_TRUE(k.has_value());
  // "abcd" in base64 is 0x69 0xb7 0x1d.
  EXPECT_EQ((*k)[0], 0x69);
  EXPECT_EQ((*k)[1], 0xb7);
  EXPECT_EQ((*k)[2], 0x1d);
}

TEST(WeChatComponentCrypt, EncodingAesKeyOfAnotherLengthOrAlphabetIsRefused) {
  EXPECT_FALSE(aes_key("").has_value());
  EXPECT_FALSE(aes_key(kSampleKey.substr(0, 42)).has_value());
  EXPECT_FALSE(aes_key(kSampleKey + "H").has_value());
  EXPECT_FALSE(aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!").has_value());
  EXPECT_FALSE(aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF=").has_value());
}

TEST(WeChatComponentCrypt, EncryptReproducesTheOfficialJavaSampleVector) {
  EXPECT_EQ(encrypt(sample_key(), kJavaMessage, kJavaAppId, kJavaRandom), kJavaEncrypt);
}

TEST(WeChatComponentCrypt, DecryptOpensTheOfficialJavaSampleVector) {
  auto r = decrypt(sample_key(), kJavaEncrypt);
  ASSERT_TRUE(r.opened.has_value()) << r.error;
  EXPECT_EQ(r.opened->message, kJavaMessage);
  EXPECT_EQ(r.opened->receive_id, kJavaAppId);
}

TEST(WeChatComponentCrypt, SignatureMatchesTheOfficialPythonSample) {
  EXPECT_EQ(signature(kPyToken, kPyTimestamp, kPyNonce, kPyEncrypt), kPyMsgSignature);
  // The order of the arguments does not matter: they are sorted first.
  EXPECT_EQ(signature(kPyEncrypt, kPyNonce, kPyToken, kPyTimestamp), kPyMsgSignature);
}

TEST(WeChatComponentCrypt, DecryptOpensTheOfficialPythonSampleMessage) {
  auto r = decrypt(sample_key(), kPyEncrypt);
  ASSERT_TRUE(r.opened.has_value()) << r.error;
  EXPECT_EQ(r.opened->receive_id, kPyAppId);
  EXPECT_EQ(r.opened->message.rfind("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>", 0), 0u);
  EXPECT_NE(r.opened->message.find("<Content><![CDATA[abcdteT]]></Content>"), std::string::npos);
}

TEST(WeChatComponentCrypt, SignatureComparisonIsExactButIgnoresHexCase) {
  std::string upper = kPyMsgSignature;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(signature_matches(kPyMsgSignature, kPyMsgSignature));
  EXPECT_TRUE(signature_matches(upper, kPyMsgSignature));
  EXPECT_FALSE(signature_matches(kPyMsgSignature.substr(0, 39), kPyMsgSignature));
  EXPECT_FALSE(signature_matches(kPyMsgSignature + "0", kPyMsgSignature));
  EXPECT_FALSE(signature_matches("", kPyMsgSignature));
  EXPECT_FALSE(signature_matches("", ""));
  std::string off = kPyMsgSignature;
  off[20] = off[20] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(signature_matches(off, kPyMsgSignature));
}

TEST(WeChatComponentCrypt, RoundTripsMessagesOfEveryPaddingLength) {
  const AesKey key = sample_key();
  // 16 + 4 + n + 18 bytes: n from 0 to 70 covers every pad length 1..32, including a whole block.
  std::set<std::uint8_t> pads;
  for (std::size_t n = 0; n <= 70; ++n) {
    std::string msg(n, 'x');
    std::string c = encrypt(key, msg, kJavaAppId);
    auto r = decrypt(key, c);
    ASSERT_TRUE(r.opened.has_value()) << n << ": " << r.error;
    EXPECT_EQ(r.opened->message, msg);
    EXPECT_EQ(r.opened->receive_id, kJavaAppId);
    std::size_t len = 16 + 4 + n + kJavaAppId.size();
    EXPECT_EQ(raw(c).size() % 32, 0u);
    pads.insert(static_cast<std::uint8_t>(32 - len % 32));
  }
  EXPECT_EQ(pads.size(), 32u);
  EXPECT_EQ(*pads.begin(), 1);
  EXPECT_EQ(*pads.rbegin(), 32);
}

TEST(WeChatComponentCrypt, FreshRandomPrefixEachTime) {
  const AesKey key = sample_key();
  EXPECT_NE(encrypt(key, "m", kJavaAppId), encrypt(key, "m", kJavaAppId));
}

TEST(WeChatComponentCrypt, RefusesWhatIsNotBase64) {
  const AesKey key = sample_key();
  for (std::string bad :
       {std::string(""), kJavaEncrypt.substr(1), "*" + kJavaEncrypt.substr(1),
        kJavaEncrypt.substr(0, kJavaEncrypt.size() - 2) + "=A", std::string("===="), "-" + kJavaEncrypt.substr(1)}) {
    auto r = decrypt(key, bad);
    EXPECT_FALSE(r.opened.has_value()) << bad;
    EXPECT_EQ(r.error, "not base64") << bad;
  }
}

TEST(WeChatComponentCrypt, RefusesALengthThatIsNotAMultipleOf32) {
  const AesKey key = sample_key();
  std::string c = raw(kJavaEncrypt);
  for (std::size_t n : {16u, 48u, 63u}) {
    std::string cut = n <= c.size() ? c.substr(0, n) : c + c.substr(0, n - c.size());
    auto r = decrypt(key, crypto::base64_encode(cut));
    EXPECT_FALSE(r.opened.has_value()) << n;
    EXPECT_EQ(r.error, "length not a multiple of 32") << n;
  }
}

TEST(WeChatComponentCrypt, RefusesAPadByteOfZeroOrAbove32OrInconsistentPadding) {
  // The Java vector: 16 + 4 + 19 + 18 = 57 bytes, padded with seven 0x07 to 64.
  const std::size_t last = 63;
  for (std::uint8_t wanted : {std::uint8_t{0}, std::uint8_t{33}, std::uint8_t{0xff}, std::uint8_t{8}}) {
    auto r = decrypt(sample_key(), flip_plain_byte(kJavaEncrypt, last, static_cast<std::uint8_t>(7 ^ wanted)));
    EXPECT_FALSE(r.opened.has_value()) << int(wanted);
    EXPECT_EQ(r.error, "bad padding") << int(wanted);
  }
  // Unchanged, it opens: the flips above are what broke it.
  EXPECT_TRUE(decrypt(sample_key(), flip_plain_byte(kJavaEncrypt, last, 0)).opened.has_value());
}

TEST(WeChatComponentCrypt, RefusesAMessageLengthBeyondTheData) {
  // The length field is plaintext bytes 16..19 (19 in the vector). 0x80 in its top byte: 2^31 + 19.
  auto r = decrypt(sample_key(), flip_plain_byte(kJavaEncrypt, 16, 0x80));
  EXPECT_FALSE(r.opened.has_value());
  EXPECT_EQ(r.error, "message length beyond the data");
  // One more than what follows (19 + 18 = 37 bytes): 19 ^ 38 in the low byte gives 38.
  auto r2 = decrypt(sample_key(), flip_plain_byte(kJavaEncrypt, 19, static_cast<std::uint8_t>(19 ^ 38)));
  EXPECT_FALSE(r2.opened.has_value());
  EXPECT_EQ(r2.error, "message length beyond the data");
  // Exactly all of it: no appid left, which the caller then refuses.
  auto r3 = decrypt(sample_key(), flip_plain_byte(kJavaEncrypt, 19, static_cast<std::uint8_t>(19 ^ 37)));
  ASSERT_TRUE(r3.opened.has_value()) << r3.error;
  EXPECT_EQ(r3.opened->receive_id, "");
}

TEST(WeChatComponentCrypt, AnotherKeyDoesNotOpenIt) {
  auto other = aes_key("ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut");
  ASSERT_TRUE(other.has_value());
  auto r = decrypt(*other, kJavaEncrypt);
  EXPECT_FALSE(r.opened.has_value());
  EXPECT_FALSE(r.error.empty());
  // And what it encrypts, the sample key does not open.
  EXPECT_FALSE(decrypt(sample_key(), encrypt(*other, kJavaMessage, kJavaAppId, kJavaRandom)).opened.has_value());
}

TEST(WeChatComponentCrypt, ThePreviousKeyStillOpensWhatItEncrypted) {
  // Key rotation: what was encrypted with the previous key opens with it, not with the new one.
  auto previous = aes_key("ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut");
  ASSERT_TRUE(previous.has_value());
  std::string c = encrypt(*previous, "<xml/>", kJavaAppId);
  EXPECT_FALSE(decrypt(sample_key(), c).opened.has_value());
  auto r = decrypt(*previous, c);
  ASSERT_TRUE(r.opened.has_value()) << r.error;
  EXPECT_EQ(r.opened->message, "<xml/>");
}

TEST(WeChatComponentCrypt, ErrorsNeverCarryTheContent) {
  const AesKey key = sample_key();
  for (const std::string& c :
       {flip_plain_byte(kJavaEncrypt, 63, 0xff), flip_plain_byte(kJavaEncrypt, 16, 0x80), std::string("abc")}) {
    auto r = decrypt(key, c);
    ASSERT_FALSE(r.opened.has_value());
    EXPECT_EQ(r.error.find("abcd123"), std::string::npos);
    EXPECT_EQ(r.error.find(kJavaAppId), std::string::npos);
    EXPECT_LT(r.error.size(), 40u);
  }
}
