// The WeChat third-party platform's push receiver, open_component_push (the platform's API answers
// are fuzz_wechat_component's). The input is used three ways, so that every stage is reached: as the
// request body (envelope parsing; the signature then fails), as the <Encrypt> value of a correctly
// signed push (base64, AES, padding, length field), and as the plaintext XML of a correctly signed
// and encrypted push (inner XML and InfoType fields).
#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/wechat_msg_crypt.hpp"
#include "fuzz_check.hpp"
#include "platforms/wechat_component_events.hpp"

using namespace mediax;
using namespace mediax::wechat_component;

namespace {

const ReceiverKeys& keys() {
  static const ReceiverKeys k{"wx_component_fuzz", "fuzz-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                              "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"};
  return k;
}

std::map<std::string, std::string> signed_query(const std::string& encrypt) {
  return {{"timestamp", "1760000000"},
          {"nonce", "n0nce"},
          {"encrypt_type", "aes"},
          {"msg_signature", wxcrypt::signature(keys().message_token, "1760000000", "n0nce", encrypt)}};
}

void check(const OpenedPush& p) {
  fuzz::check_storable(p.detail, "PushRefusal detail");
  fuzz::check_storable(to_string(p.refusal), "refusal");
  if (p.refusal != PushRefusal::none) return;
  const ComponentEvent& e = p.event;
  fuzz::check_storable(e.info_type, "info_type");
  if (e.app_id != keys().component_appid) fuzz::fail("accepted another appid");
  for (const std::string* s : {&e.ticket, &e.authorizer_appid, &e.authorization_code}) {
    if (!fuzz::vschar_only(*s)) fuzz::fail("an accepted field has characters outside VSCHAR");
    fuzz::check_storable(*s, "event field");
  }
  switch (e.type) {
    case EventType::verify_ticket:
      if (e.ticket.empty()) fuzz::fail("a verify_ticket without a ticket");
      break;
    case EventType::authorized:
    case EventType::updateauthorized:
      if (e.authorizer_appid.empty() || e.authorization_code.empty()) fuzz::fail("authorized without appid/code");
      break;
    case EventType::unauthorized:
      if (e.authorizer_appid.empty()) fuzz::fail("unauthorized without appid");
      break;
    case EventType::other: break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const TimePoint now{Seconds(1760000000)};
  const Seconds window{300};

  check(open_component_push(signed_query("x"), input, keys(), now, window));

  check(open_component_push(signed_query(input), push_envelope(keys().component_appid, input), keys(), now, window));

  const std::string enc = wxcrypt::encrypt(*wxcrypt::aes_key(keys().encoding_aes_key), input, keys().component_appid);
  check(open_component_push(signed_query(enc), push_envelope(keys().component_appid, enc), keys(), now, window));
  return 0;
}
