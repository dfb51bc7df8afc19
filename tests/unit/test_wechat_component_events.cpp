// open_component_push: every refusal in the order the checks run, and every event type, with pushes
// built as WeChat builds them (wxcrypt::encrypt + push_envelope, signed with the message token).
#include <gtest/gtest.h>

#include "crypto/wechat_msg_crypt.hpp"
#include "platforms/wechat_component_events.hpp"

using namespace mediax;
using namespace mediax::wechat_component;

namespace {

const std::string kAppId = "wx_component_0001";
const std::string kToken = "msg-token-1";
const std::string kKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const std::string kPreviousKey = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";
const std::int64_t kNow = 1'760'000'000;

ReceiverKeys keys() { return ReceiverKeys{kAppId, kToken, kKey, ""}; }

TimePoint at(std::int64_t unix) { return TimePoint(Seconds(unix)); }

struct Push {
  std::map<std::string, std::string> query;
  std::string body;
};

// One push as WeChat sends it: `inner` encrypted with `key` for `receive_id`, signed with `token`.
Push make_push(const std::string& inner, std::int64_t timestamp = kNow, const std::string& key = kKey,
               const std::string& receive_id = kAppId, const std::string& token = kToken) {
  std::string enc = wxcrypt::encrypt(*wxcrypt::aes_key(key), inner, receive_id);
  Push p;
  p.body = push_envelope(kAppId, enc);
  const std::string ts = std::to_string(timestamp);
  const std::string nonce = "1320562132";
  p.query = {{"timestamp", ts},
             {"nonce", nonce},
             {"encrypt_type", "aes"},
             {"msg_signature", wxcrypt::signature(token, ts, nonce, enc)},
             {"signature", "plain-signature-not-checked"}};
  return p;
}

std::string ticket_xml(const std::string& appid = kAppId, const std::string& ticket = "ticket@@@abc") {
  return "<xml><AppId><![CDATA[" + appid +
         "]]></AppId><CreateTime>1760000000</CreateTime>"
         "<InfoType><![CDATA[component_verify_ticket]]></InfoType>"
         "<ComponentVerifyTicket><![CDATA[" +
         ticket + "]]></ComponentVerifyTicket></xml>";
}

OpenedPush open(const Push& p, const ReceiverKeys& k = keys(), std::int64_t now = kNow) {
  return open_component_push(p.query, p.body, k, at(now), Seconds(300));
}

}  // namespace

TEST(WeChatComponentPush, OpensAVerifyTicketInCdata) {
  auto r = open(make_push(ticket_xml()));
  ASSERT_EQ(r.refusal, PushRefusal::none) << r.detail;
  EXPECT_EQ(r.event.type, EventType::verify_ticket);
  EXPECT_EQ(r.event.info_type, "component_verify_ticket");
  EXPECT_EQ(r.event.app_id, kAppId);
  EXPECT_EQ(r.event.ticket, "ticket@@@abc");
  EXPECT_EQ(r.event.create_time, at(1760000000));
  EXPECT_FALSE(r.used_previous_key);
}

TEST(WeChatComponentPush, OpensAVerifyTicketInPlainTextWithWhitespace) {
  auto r = open(make_push("<xml>\n  <AppId>" + kAppId +
                          "</AppId>\n  <CreateTime>1760000000</CreateTime>\n"
                          "  <InfoType>component_verify_ticket</InfoType>\n"
                          "  <ComponentVerifyTicket>\n    ticket@@@plain\n  </ComponentVerifyTicket>\n</xml>"));
  ASSERT_EQ(r.refusal, PushRefusal::none) << r.detail;
  EXPECT_EQ(r.event.ticket, "ticket@@@plain");
}

TEST(WeChatComponentPush, OpensAuthorizedWithItsCodeAndExpiry) {
  auto r = open(make_push("<xml><AppId><![CDATA[" + kAppId +
                          "]]></AppId><CreateTime>1760000000</CreateTime>"
                          "<InfoType><![CDATA[authorized]]></InfoType>"
                          "<AuthorizerAppid><![CDATA[wx_account_1]]></AuthorizerAppid>"
                          "<AuthorizationCode><![CDATA[queryauthcode@@@xyz]]></AuthorizationCode>"
                          "<AuthorizationCodeExpiredTime>1760003600</AuthorizationCodeExpiredTime>"
                          "<PreAuthCode><![CDATA[preauthcode@@@p]]></PreAuthCode></xml>"));
  ASSERT_EQ(r.refusal, PushRefusal::none) << r.detail;
  EXPECT_EQ(r.event.type, EventType::authorized);
  EXPECT_EQ(r.event.authorizer_appid, "wx_account_1");
  EXPECT_EQ(r.event.authorization_code, "queryauthcode@@@xyz");
  ASSERT_TRUE(r.event.authorization_code_expires.has_value());
  EXPECT_EQ(*r.event.authorization_code_expires, at(1760003600));
}

TEST(WeChatComponentPush, OpensUpdateAuthorizedWithoutAnExpiry) {
  auto r = open(make_push("<xml><AppId>" + kAppId +
                          "</AppId><CreateTime>1760000000</CreateTime>"
                          "<InfoType>updateauthorized</InfoType><AuthorizerAppid>wx_account_1</AuthorizerAppid>"
                          "<AuthorizationCode>code2</AuthorizationCode></xml>"));
  ASSERT_EQ(r.refusal, PushRefusal::none) << r.detail;
  EXPECT_EQ(r.event.type, EventType::updateauthorized);
  EXPECT_EQ(r.event.authorization_code, "code2");
  EXPECT_FALSE(r.event.authorization_code_expires.has_value());
}

TEST(WeChatComponentPush, OpensUnauthorized) {
  auto r = open(make_push("<xml><AppId>" + kAppId +
                          "</AppId><CreateTime>1760000000</CreateTime>"
                          "<InfoType>unauthorized</InfoType><AuthorizerAppid>wx_account_1</AuthorizerAppid></xml>"));
  ASSERT_EQ(r.refusal, PushRefusal::none) << r.detail;
  EXPECT_EQ(r.event.type, EventType::unauthorized);
  EXPECT_EQ(r.event.authorizer_appid, "wx_account_1");
  EXPECT_TRUE(r.event.authorization_code.empty());
}

TEST(WeChatComponentPush, AcknowledgesOtherInfoTypesWithoutReadingThem) {
  auto r = open(make_push("<xml><AppId>" + kAppId +
                          "</AppId><CreateTime>1760000000</CreateTime>"
                          "<InfoType>notify_third_fasteregister</InfoType><status>0</status></xml>"));
  ASSERT_EQ(r.refusal, PushRefusal::none) << r.detail;
  EXPECT_EQ(r.event.type, EventType::other);
  EXPECT_EQ(r.event.info_type, "notify_third_fasteregister");
}

TEST(WeChatComponentPush, ToleratesAPushWithoutEncryptType) {
  Push p = make_push(ticket_xml());
  p.query.erase("encrypt_type");
  EXPECT_EQ(open(p).refusal, PushRefusal::none);
}

TEST(WeChatComponentPush, RefusesMissingParameters) {
  for (const char* k : {"msg_signature", "timestamp", "nonce"}) {
    Push p = make_push(ticket_xml());
    p.query.erase(k);
    EXPECT_EQ(open(p).refusal, PushRefusal::missing_parameters) << k;
    p = make_push(ticket_xml());
    p.query[k] = "";
    EXPECT_EQ(open(p).refusal, PushRefusal::missing_parameters) << k;
  }
  Push p = make_push(ticket_xml());
  p.query["encrypt_type"] = "raw";
  EXPECT_EQ(open(p).refusal, PushRefusal::missing_parameters);
  p = make_push(ticket_xml());
  p.query["timestamp"] = "17x";
  EXPECT_EQ(open(p).refusal, PushRefusal::missing_parameters);
  p = make_push(ticket_xml());
  p.query["timestamp"] = "-5";
  EXPECT_EQ(open(p).refusal, PushRefusal::missing_parameters);
  // Beyond what the clock can hold (found by fuzz_wechat_component_push): refused, not overflowed.
  for (const char* ts : {"17600020000", "9223372036854775807", "99999999999999999999"}) {
    p = make_push(ticket_xml());
    p.query["timestamp"] = ts;
    EXPECT_EQ(open(p).refusal, PushRefusal::missing_parameters) << ts;
  }
  p = make_push(ticket_xml());
  p.body = "<xml><AppId>" + kAppId + "</AppId></xml>";
  EXPECT_EQ(open(p).refusal, PushRefusal::missing_parameters);
}

TEST(WeChatComponentPush, RefusesABodyThatIsNotTheXmlEnvelope) {
  for (std::string body :
       {std::string(""), std::string("success"), std::string("{\"Encrypt\":\"x\"}"),
        std::string("<xml><Encrypt>abc</Encrypt>"), std::string("<root><Encrypt>a</Encrypt></root>")}) {
    Push p = make_push(ticket_xml());
    p.body = body;
    EXPECT_EQ(open(p).refusal, PushRefusal::not_xml) << body;
  }
}

TEST(WeChatComponentPush, RefusesABadSignatureBeforeDecrypting) {
  Push p = make_push(ticket_xml());
  p.query["msg_signature"][0] = p.query["msg_signature"][0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(open(p).refusal, PushRefusal::bad_signature);
  // Signed with another token.
  EXPECT_EQ(open(make_push(ticket_xml(), kNow, kKey, kAppId, "other-token")).refusal, PushRefusal::bad_signature);
  // A changed nonce or timestamp breaks it too.
  p = make_push(ticket_xml());
  p.query["nonce"] = "1";
  EXPECT_EQ(open(p).refusal, PushRefusal::bad_signature);
  p = make_push(ticket_xml());
  p.query["timestamp"] = std::to_string(kNow + 1);
  EXPECT_EQ(open(p).refusal, PushRefusal::bad_signature);
  // A tampered ciphertext is refused on its signature, even though it would not decrypt either.
  p = make_push(ticket_xml());
  const auto at = p.body.find("<Encrypt><![CDATA[") + 18;
  p.body[at] = p.body[at] == 'Z' ? 'Y' : 'Z';  // the ciphertext is random: it may hold a 'Z' there already
  EXPECT_EQ(open(p).refusal, PushRefusal::bad_signature);
  // No token configured: nothing verifies.
  ReceiverKeys k = keys();
  k.message_token.clear();
  EXPECT_EQ(open(make_push(ticket_xml(), kNow, kKey, kAppId, ""), k).refusal, PushRefusal::bad_signature);
}

TEST(WeChatComponentPush, RefusesAReplayOrAPushFromTheFuture) {
  EXPECT_EQ(open(make_push(ticket_xml(), kNow - 300)).refusal, PushRefusal::none);
  EXPECT_EQ(open(make_push(ticket_xml(), kNow + 300)).refusal, PushRefusal::none);
  auto old = open(make_push(ticket_xml(), kNow - 301));
  EXPECT_EQ(old.refusal, PushRefusal::stale);
  EXPECT_EQ(open(make_push(ticket_xml(), kNow + 301)).refusal, PushRefusal::stale);
  // The same push, replayed an hour later.
  Push p = make_push(ticket_xml());
  EXPECT_EQ(open(p, keys(), kNow + 3600).refusal, PushRefusal::stale);
}

TEST(WeChatComponentPush, TriesThePreviousKeyDuringARotation) {
  Push p = make_push(ticket_xml(), kNow, kPreviousKey);
  EXPECT_EQ(open(p).refusal, PushRefusal::undecryptable);
  ReceiverKeys k = keys();
  k.previous_encoding_aes_key = kPreviousKey;
  auto r = open(p, k);
  ASSERT_EQ(r.refusal, PushRefusal::none) << r.detail;
  EXPECT_TRUE(r.used_previous_key);
  EXPECT_EQ(r.event.ticket, "ticket@@@abc");
  // The current key is still tried first.
  auto cur = open(make_push(ticket_xml()), k);
  ASSERT_EQ(cur.refusal, PushRefusal::none);
  EXPECT_FALSE(cur.used_previous_key);
}

TEST(WeChatComponentPush, RefusesWhatNoKeyDecrypts) {
  ReceiverKeys k = keys();
  k.encoding_aes_key = "not-a-key";
  EXPECT_EQ(open(make_push(ticket_xml()), k).refusal, PushRefusal::undecryptable);
  // Signed correctly but not base64 inside.
  Push p;
  p.body = push_envelope(kAppId, "###");
  p.query = {{"timestamp", std::to_string(kNow)},
             {"nonce", "n"},
             {"msg_signature", wxcrypt::signature(kToken, std::to_string(kNow), "n", "###")}};
  auto r = open(p);
  EXPECT_EQ(r.refusal, PushRefusal::undecryptable);
  EXPECT_EQ(r.detail, "not base64");
}

TEST(WeChatComponentPush, RefusesAnotherAppidAtTheEndOfThePlaintext) {
  auto r = open(make_push(ticket_xml(), kNow, kKey, "wx_someone_else"));
  EXPECT_EQ(r.refusal, PushRefusal::wrong_appid);
  EXPECT_EQ(r.detail.find("wx_someone_else"), std::string::npos);
}

TEST(WeChatComponentPush, RefusesAPlaintextThatIsNotXml) {
  EXPECT_EQ(open(make_push("{\"InfoType\":\"component_verify_ticket\"}")).refusal, PushRefusal::bad_message);
  EXPECT_EQ(open(make_push("<xml><AppId>" + kAppId)).refusal, PushRefusal::bad_message);
}

TEST(WeChatComponentPush, RefusesAnotherAppIdInside) {
  EXPECT_EQ(open(make_push(ticket_xml("wx_other"))).refusal, PushRefusal::wrong_appid);
  EXPECT_EQ(open(make_push("<xml><InfoType>component_verify_ticket</InfoType><CreateTime>1</CreateTime>"
                           "<ComponentVerifyTicket>t</ComponentVerifyTicket></xml>"))
                .refusal,
            PushRefusal::wrong_appid);
}

TEST(WeChatComponentPush, RefusesAnEventWithoutWhatItsInfoTypeNeeds) {
  const std::string head = "<xml><AppId>" + kAppId + "</AppId><CreateTime>1760000000</CreateTime>";
  for (const std::string& inner : {
           head + "</xml>",                                              // no InfoType
           head + "<InfoType>component_verify_ticket</InfoType></xml>",  // no ticket
           head + "<InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket><![CDATA[]]>"
                  "</ComponentVerifyTicket></xml>",  // empty ticket
           head + "<InfoType>authorized</InfoType><AuthorizerAppid>a</AuthorizerAppid></xml>",
           head + "<InfoType>authorized</InfoType><AuthorizationCode>c</AuthorizationCode></xml>",
           head + "<InfoType>updateauthorized</InfoType><AuthorizerAppid>a</AuthorizerAppid></xml>",
           head + "<InfoType>unauthorized</InfoType></xml>",
           "<xml><AppId>" + kAppId +
               "</AppId><InfoType>unauthorized</InfoType>"
               "<AuthorizerAppid>a</AuthorizerAppid></xml>",  // no CreateTime
           "<xml><AppId>" + kAppId +
               "</AppId><CreateTime>17600020000</CreateTime><InfoType>unauthorized"
               "</InfoType><AuthorizerAppid>a</AuthorizerAppid></xml>",  // CreateTime past 2100
       }) {
    auto r = open(make_push(inner));
    EXPECT_EQ(r.refusal, PushRefusal::bad_message) << inner;
  }
}

TEST(WeChatComponentPush, NeverExpandsEntitiesFromADoctype) {
  const std::string inner =
      "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY t \"expanded\">]>"
      "<xml><AppId>" +
      kAppId +
      "</AppId><CreateTime>1760000000</CreateTime>"
      "<InfoType>component_verify_ticket</InfoType>"
      "<ComponentVerifyTicket>&t;</ComponentVerifyTicket></xml>";
  auto r = open(make_push(inner));
  // The DTD is skipped and the reference left as it is (the ticket is the literal "&t;"), never
  // replaced by what the DTD says.
  ASSERT_EQ(r.refusal, PushRefusal::none) << r.detail;
  EXPECT_EQ(r.event.ticket, "&t;");
}

TEST(WeChatComponentPush, RefusalDetailsNeverCarryTheContent) {
  const std::string secret_ticket = "ticket@@@SECRET";
  for (const Push& p :
       {make_push(ticket_xml("wx_other", secret_ticket)), make_push(ticket_xml(kAppId, secret_ticket), kNow - 1000),
        make_push(ticket_xml(kAppId, secret_ticket), kNow, kKey, "wx_x")}) {
    auto r = open(p);
    EXPECT_NE(r.refusal, PushRefusal::none);
    EXPECT_EQ(r.detail.find("SECRET"), std::string::npos) << r.detail;
  }
}

TEST(WeChatComponentPush, NamesForTheLog) {
  EXPECT_EQ(to_string(PushRefusal::bad_signature), "bad_signature");
  EXPECT_EQ(to_string(PushRefusal::stale), "stale");
  EXPECT_EQ(to_string(EventType::verify_ticket), "component_verify_ticket");
  EXPECT_EQ(to_string(EventType::updateauthorized), "updateauthorized");
}
