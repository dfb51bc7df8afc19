// What the WeChat open platform pushes to a third-party platform's event URL (授权事件接收URL):
// component_verify_ticket every 10 minutes and the authorization events, as encrypted XML.
// open_component_push() checks and opens one push; the daemon acts on the ComponentEvent.
//
// Reference: ../shared/platforms-wechat-component.md §1 (transport, signature, decryption) and §6
// (events). Pure: the time is given. XML is read with pugixml (no DTDs, no entity expansion).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace mediax::wechat_component {

enum class EventType {
  verify_ticket,     // InfoType component_verify_ticket
  authorized,        // an account authorized the platform (AuthorizationCode to exchange now)
  updateauthorized,  // an account changed the permission sets it grants (a new AuthorizationCode)
  unauthorized,      // an account withdrew its authorization
  other,             // anything else (notify_third_fasteregister, ...): acknowledged, ignored
};
std::string to_string(EventType t);

struct ComponentEvent {
  EventType type = EventType::other;
  std::string info_type;           // as sent (for `other`, logged; never secret)
  std::string app_id;              // AppId: the component_appid
  TimePoint create_time{};         // CreateTime
  std::string ticket;              // ComponentVerifyTicket (verify_ticket)
  std::string authorizer_appid;    // AuthorizerAppid (authorized / updateauthorized / unauthorized)
  std::string authorization_code;  // AuthorizationCode (authorized / updateauthorized)
  std::optional<TimePoint> authorization_code_expires;  // AuthorizationCodeExpiredTime (unix seconds)
};

// What the receiver knows to check a push with (the app's sealed options and client_id).
struct ReceiverKeys {
  std::string component_appid;
  std::string message_token;
  std::string encoding_aes_key;           // current, 43 characters
  std::string previous_encoding_aes_key;  // during a key rotation; empty: none
};

enum class PushRefusal {
  none,
  missing_parameters,  // no msg_signature / timestamp / nonce, or no <Encrypt>
  not_xml,             // the body is not the <xml><Encrypt>…</Encrypt></xml> envelope
  bad_signature,       // msg_signature does not match
  stale,               // timestamp further than max_age from now (a replay)
  undecryptable,       // neither key decrypts it, or the plaintext is malformed
  wrong_appid,         // the trailing appid or the AppId inside is not the component_appid
  bad_message,         // the decrypted XML lacks what its InfoType needs
};
std::string to_string(PushRefusal r);

struct OpenedPush {
  PushRefusal refusal = PushRefusal::none;
  std::string detail;    // why, for the log: never the content, a ticket or a code
  ComponentEvent event;  // valid when refusal == none
  bool used_previous_key = false;
};

// Checks the query (msg_signature, timestamp, nonce; encrypt_type=aes) and the body of one push.
OpenedPush open_component_push(const std::map<std::string, std::string>& query, const std::string& body,
                               const ReceiverKeys& keys, TimePoint now, Seconds max_age);

// The envelope as WeChat sends it: <xml><AppId>…</AppId><Encrypt>…</Encrypt></xml>. For the fake
// platform and tests.
std::string push_envelope(const std::string& component_appid, const std::string& encrypt_b64);

}  // namespace mediax::wechat_component
