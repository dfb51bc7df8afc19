// WeChat's parsers: API answers ({"errcode", "errmsg"} or a token) for every flow and quota reset
// offset, the caller IP named in an errmsg, and app options. Input: a response body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "platforms/wechat_platform.hpp"

using namespace mediax;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto now = fuzz::fuzz_now();
  for (const auto& r : fuzz::responses_for(body)) {
    for (auto flow : {wechat::Flow::authorization_code, wechat::Flow::refresh_token, wechat::Flow::app_token}) {
      for (int offset : {-12, 8, 14}) {
        const auto o = wechat::parse_response(r, flow, now, fuzz::secrets(), offset);
        fuzz::check_outcome(o);
        if (o.ok() && o.token.access_token.empty()) fuzz::fail("success without an access token");
      }
    }
  }
  fuzz::check_storable(wechat::ip_from_errmsg(body), "ip_from_errmsg");
  if (auto j = platform_util::parse_object(body)) {
    wechat::Options options;
    if (auto err = wechat::parse_options(*j, options)) {
      fuzz::check_storable(*err, "options error");
    } else if (options.daily_token_budget < 0 || options.quota_reset_utc_offset_hours < -12 ||
               options.quota_reset_utc_offset_hours > 14) {
      fuzz::fail("options accepted out of range");
    }
  }
  return 0;
}
