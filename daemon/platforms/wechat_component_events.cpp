// open_component_push (see wechat_component_events.hpp). The checks run from the cheapest and least
// trusting to the most: query parameters, the outer envelope, the signature (nothing is decrypted
// before the sender proved it knows the message token), the replay window, decryption, the appids,
// and last what the InfoType needs.
#include "platforms/wechat_component_events.hpp"

#include <charconv>
#include <pugixml.hpp>

#include "crypto/wechat_msg_crypt.hpp"
#include "util/strings.hpp"

namespace mediax::wechat_component {

namespace {

std::optional<std::string> query_value(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  if (it == q.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Unix seconds as a time point; nullopt outside 1970..2100 (the clock counts nanoseconds in 64 bits,
// which end in 2262: a larger value must not reach the conversion).
std::optional<TimePoint> unix_time(std::string_view s) {
  constexpr std::int64_t kYear2100 = 4'102'444'800;
  auto v = to_int(s);
  if (!v || *v < 0 || *v > kYear2100) return std::nullopt;
  return TimePoint(Seconds(*v));
}

// pugixml never expands entities beyond the five predefined ones and ignores DTDs: a hostile
// DOCTYPE cannot make it read files or grow without bound.
bool load_xml(pugi::xml_document& doc, const std::string& text) {
  auto r = doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  return r && doc.child("xml");
}

// The text of <name> under <xml>, CDATA or plain, trimmed; "" when absent.
std::string field(const pugi::xml_node& xml, const char* name) {
  return std::string(util::trim(xml.child(name).text().get()));
}

// Tickets, appids and codes are printable ASCII; anything else could not be stored or compared safely.
bool printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

OpenedPush refuse(PushRefusal r, std::string detail) {
  OpenedPush p;
  p.refusal = r;
  p.detail = std::move(detail);
  return p;
}

EventType event_type(const std::string& info_type) {
  if (info_type == "component_verify_ticket") return EventType::verify_ticket;
  if (info_type == "authorized") return EventType::authorized;
  if (info_type == "updateauthorized") return EventType::updateauthorized;
  if (info_type == "unauthorized") return EventType::unauthorized;
  return EventType::other;
}

}  // namespace

std::string to_string(EventType t) {
  switch (t) {
    case EventType::verify_ticket: return "component_verify_ticket";
    case EventType::authorized: return "authorized";
    case EventType::updateauthorized: return "updateauthorized";
    case EventType::unauthorized: return "unauthorized";
    case EventType::other: return "other";
  }
  return "other";
}

std::string to_string(PushRefusal r) {
  switch (r) {
    case PushRefusal::none: return "none";
    case PushRefusal::missing_parameters: return "missing_parameters";
    case PushRefusal::not_xml: return "not_xml";
    case PushRefusal::bad_signature: return "bad_signature";
    case PushRefusal::stale: return "stale";
    case PushRefusal::undecryptable: return "undecryptable";
    case PushRefusal::wrong_appid: return "wrong_appid";
    case PushRefusal::bad_message: return "bad_message";
  }
  return "none";
}

OpenedPush open_component_push(const std::map<std::string, std::string>& query, const std::string& body,
                               const ReceiverKeys& keys, TimePoint now, Seconds max_age) {
  // 1. Parameters.
  auto msg_signature = query_value(query, "msg_signature");
  auto timestamp = query_value(query, "timestamp");
  auto nonce = query_value(query, "nonce");
  if (!msg_signature || !timestamp || !nonce) {
    return refuse(PushRefusal::missing_parameters, "msg_signature, timestamp and nonce are required");
  }
  // encrypt_type is documented as "aes"; a push without it is tolerated, one naming another scheme is not.
  if (auto et = query.find("encrypt_type"); et != query.end() && et->second != "aes") {
    return refuse(PushRefusal::missing_parameters, "encrypt_type is not aes");
  }
  auto ts = unix_time(*timestamp);
  if (!ts) return refuse(PushRefusal::missing_parameters, "timestamp is not a unix time");

  // 2. Envelope.
  pugi::xml_document outer;
  if (!load_xml(outer, body)) return refuse(PushRefusal::not_xml, "the body is not an <xml> document");
  std::string encrypt = field(outer.child("xml"), "Encrypt");
  if (encrypt.empty()) return refuse(PushRefusal::missing_parameters, "no <Encrypt> in the body");

  // 3. Signature, compared in constant time.
  if (keys.message_token.empty() ||
      !wxcrypt::signature_matches(*msg_signature,
                                  wxcrypt::signature(keys.message_token, *timestamp, *nonce, encrypt))) {
    return refuse(PushRefusal::bad_signature, "msg_signature does not match");
  }

  // 4. Replay window, both directions (a timestamp from the future is as suspect as an old one).
  const std::int64_t age = std::chrono::duration_cast<Seconds>(now - *ts).count();
  if (age > max_age.count() || -age > max_age.count()) {
    return refuse(PushRefusal::stale, "timestamp is " + std::to_string(age) + " s from now");
  }

  // 5. Decryption: the current key, then the previous one (during a key rotation). A key that
  //    "decrypts" to another appid is not the right key either.
  std::optional<wxcrypt::Opened> opened;
  bool used_previous = false;
  bool any_decrypted = false;
  std::string why = "no valid EncodingAESKey";
  int index = 0;
  for (const std::string* k : {&keys.encoding_aes_key, &keys.previous_encoding_aes_key}) {
    const bool previous = index++ == 1;
    if (k->empty()) continue;
    auto key = wxcrypt::aes_key(*k);
    if (!key) continue;
    auto r = wxcrypt::decrypt(*key, encrypt);
    if (!r.opened) {
      if (!any_decrypted) why = r.error;
      continue;
    }
    any_decrypted = true;
    // 6. The trailing appid.
    if (r.opened->receive_id != keys.component_appid) continue;
    opened = std::move(r.opened);
    used_previous = previous;
    break;
  }
  if (!opened) {
    if (any_decrypted) return refuse(PushRefusal::wrong_appid, "the trailing appid is not the component_appid");
    return refuse(PushRefusal::undecryptable, why);
  }

  // 7. Inner XML.
  pugi::xml_document inner;
  if (!load_xml(inner, opened->message)) return refuse(PushRefusal::bad_message, "the plaintext is not <xml>");
  const pugi::xml_node xml = inner.child("xml");

  // 8. Inner AppId.
  if (field(xml, "AppId") != keys.component_appid) {
    return refuse(PushRefusal::wrong_appid, "AppId is not the component_appid");
  }

  // 9. What the InfoType needs.
  OpenedPush out;
  out.used_previous_key = used_previous;
  ComponentEvent& e = out.event;
  e.app_id = keys.component_appid;
  e.info_type = field(xml, "InfoType");
  if (e.info_type.empty()) return refuse(PushRefusal::bad_message, "no InfoType");
  if (e.info_type.size() > 64) e.info_type.resize(64);  // it is logged for `other`
  for (char& c : e.info_type) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  e.type = event_type(e.info_type);
  auto create_time = unix_time(field(xml, "CreateTime"));
  if (create_time) e.create_time = *create_time;
  if (e.type == EventType::other) return out;  // acknowledged, nothing else read
  if (!create_time) return refuse(PushRefusal::bad_message, "no CreateTime");
  switch (e.type) {
    case EventType::verify_ticket:
      e.ticket = field(xml, "ComponentVerifyTicket");
      if (e.ticket.empty()) return refuse(PushRefusal::bad_message, "no ComponentVerifyTicket");
      break;
    case EventType::authorized:
    case EventType::updateauthorized:
      e.authorizer_appid = field(xml, "AuthorizerAppid");
      e.authorization_code = field(xml, "AuthorizationCode");
      if (e.authorizer_appid.empty() || e.authorization_code.empty()) {
        return refuse(PushRefusal::bad_message, e.info_type + " without AuthorizerAppid and AuthorizationCode");
      }
      e.authorization_code_expires = unix_time(field(xml, "AuthorizationCodeExpiredTime"));
      break;
    case EventType::unauthorized:
      e.authorizer_appid = field(xml, "AuthorizerAppid");
      if (e.authorizer_appid.empty()) return refuse(PushRefusal::bad_message, "unauthorized without AuthorizerAppid");
      break;
    case EventType::other: break;
  }
  if (!printable(e.ticket) || !printable(e.authorizer_appid) || !printable(e.authorization_code)) {
    return refuse(PushRefusal::bad_message, "a field holds characters outside printable ASCII");
  }
  return out;
}

std::string push_envelope(const std::string& component_appid, const std::string& encrypt_b64) {
  return "<xml><AppId><![CDATA[" + component_appid + "]]></AppId><Encrypt><![CDATA[" + encrypt_b64 +
         "]]></Encrypt></xml>";
}

}  // namespace mediax::wechat_component
