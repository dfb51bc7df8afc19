// The WeChat third-party platform's parsers: every component API answer (a token, a pre_auth_code,
// an authorization with or without its wrapper, {"errcode", "errmsg"}), the visible and the secret
// app options, and the authorization page built from fuzzed options. Input: a response body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "platforms/wechat_component_platform.hpp"

using namespace mediax;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto now = fuzz::fuzz_now();
  for (const auto& r : fuzz::responses_for(body)) {
    for (auto parse : {wechat_component::parse_component_token, wechat_component::parse_pre_auth_code,
                       wechat_component::parse_query_auth, wechat_component::parse_authorizer_token}) {
      const auto o = parse(r, now, fuzz::secrets());
      fuzz::check_outcome(o);
      if (o.ok() && o.token.access_token.empty()) fuzz::fail("success without a token");
    }
    const auto info = wechat_component::parse_authorizer_info(r, now, fuzz::secrets());
    fuzz::check_outcome(info);
    if (info.ok() && !info.token.access_token.empty()) fuzz::fail("authorizer info with an access token");
    fuzz::check_outcome(wechat_component::parse_start_push(r, now, fuzz::secrets()));
    const auto auth = wechat_component::parse_query_auth(r, now, fuzz::secrets());
    if (auth.ok() && (auth.token.account_id.empty() || !auth.token.refresh_token)) {
      fuzz::fail("an authorization without its account or refresh token");
    }
  }
  if (auto j = platform_util::parse_object(body)) {
    wechat_component::Options options;
    if (auto err = wechat_component::parse_options(*j, options)) {
      fuzz::check_storable(*err, "options error");
    } else {
      if (options.auth_type < 0 || options.auth_type > 3) fuzz::fail("auth_type accepted out of range");
      App app;
      app.client_id = "wx-component";
      app.redirect_uri = "https://mediax.example/oauth/callback";
      AuthorizeParams p;
      p.state = "st";
      p.pre_auth_code = "code";
      for (bool mobile : {false, true}) {
        p.mobile = mobile;
        const auto url =
            wechat_component::build_authorize_url("https://mp.example", "https://open.example", app, options, p);
        if (url.find_first_of(" \"<>\r\n") != std::string::npos) fuzz::fail("an unencoded character in the link");
      }
    }
    if (auto err = wechat_component::check_secret_options(*j)) {
      // Fixed texts naming the option only (a value is never quoted).
      fuzz::check_storable(*err, "secret options error");
      if (err->rfind("options", 0) != 0) fuzz::fail("a secret options error not naming the option");
    }
  }
  return 0;
}
