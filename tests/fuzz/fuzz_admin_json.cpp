// The admin API's JSON input as the server reads it: the body through the nesting limit and the
// parser, then POST /v1/apps (strict fields, then the platform's own checks with discovery failing),
// POST .../token/rejected and POST .../grants and .../grants/import. Only ApiError may leave; no
// message may quote the client secret, the code or the refresh token; what would be stored and
// answered must serialise.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "fuzz_check.hpp"
#include "http/json_body.hpp"
#include "http/json_mapping.hpp"
#include "platforms/google_platform.hpp"
#include "platforms/oauth2_platform.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"
#include "platforms/wechat_platform.hpp"
#include "service/app_request.hpp"
#include "service/grant_request.hpp"

using namespace mediax;

namespace {

// Discovery and every other call fail as if the network were down.
class NoNetwork : public HttpClient {
 public:
  HttpClientResponse send(const HttpClientRequest&) override {
    HttpClientResponse r;
    r.error = "connection";
    return r;
  }
};

std::unique_ptr<Platform> platform_for(const std::string& name, HttpClient& http) {
  PlatformSettings settings;
  settings.urls = default_platform_urls();
  if (name == "oauth2") return std::make_unique<OAuth2Platform>(http, settings);
  if (name == "wechat") return std::make_unique<WeChatPlatform>(http, settings);
  if (name == "google") return std::make_unique<GooglePlatform>(http, settings);
  for (const spec::Spec* s : specs::all()) {
    if (s->name == name) return std::make_unique<SpecPlatform>(*s, http, settings);
  }
  return nullptr;
}

void check_error(const ApiError& e, const std::string& secret) {
  if (e.status() < 400 || e.status() > 599) fuzz::fail("an ApiError with a status outside 4xx/5xx");
  fuzz::check_storable(std::string(e.what()), "ApiError message");
  if (!secret.empty() && std::string(e.what()).find(secret) != std::string::npos) {
    fuzz::fail("an error message quotes the client secret");
  }
}

// body[field] when it is a recognisable secret ("mx" prefix, 12+ characters) that appears nowhere
// else in the body.
std::string marked_secret(const nlohmann::json& body, const std::string& field) {
  if (!body.is_object()) return "";
  auto it = body.find(field);
  if (it == body.end() || !it->is_string()) return "";
  const std::string s = it->get<std::string>();
  if (s.size() < 12 || s.rfind("mx", 0) != 0) return "";
  nlohmann::json rest = body;
  rest.erase(field);
  return rest.dump().find(s) == std::string::npos ? s : "";
}

// The client secret when it is recognisably one (the seeds use "mxsecret-...") and appears nowhere
// else in the body: a message may quote another field that happens to contain it.
std::string secret_of(const nlohmann::json& body) {
  if (!body.is_object()) return "";
  auto it = body.find("client_secret");
  if (it == body.end() || !it->is_string()) return "";
  const std::string s = it->get<std::string>();
  if (s.size() < 12 || s.find("mxsecret") == std::string::npos) return "";
  nlohmann::json rest = body;
  rest.erase("client_secret");
  return rest.dump().find(s) == std::string::npos ? s : "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> platforms{"oauth2",   "douyin", "wechat",   "google",
                                                  "kuaishou", "weibo",  "bilibili", "tiktok"};
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json body;
  try {
    body = parse_json_body(text);
  } catch (const ApiError& e) {
    check_error(e, "");
    return 0;
  }
  if (json_nesting_depth(text, kMaxJsonDepth) > kMaxJsonDepth) fuzz::fail("a body deeper than the limit parsed");
  const std::string secret = secret_of(body);
  try {
    (void)rejected_token_from_request(body);
  } catch (const ApiError& e) {
    check_error(e, "");
  }
  try {
    (void)code_grant_from_request(body);
  } catch (const ApiError& e) {
    check_error(e, marked_secret(body, "code"));
  }
  try {
    const auto imported = import_grant_from_request(body, from_unix(1'900'000'000));
    if (imported.account_id.empty() || imported.refresh_token.empty()) fuzz::fail("an import without account or token");
    if (imported.refresh_expires_at) (void)format_time(*imported.refresh_expires_at);
  } catch (const ApiError& e) {
    check_error(e, marked_secret(body, "refresh_token"));
  }
  App app;
  try {
    app = app_from_request(body, platforms, "http://127.0.0.1:8080/oauth/callback");
  } catch (const ApiError& e) {
    check_error(e, secret);
    return 0;
  }
  if (!valid_app_name(app.name)) fuzz::fail("an app with an unsafe name was accepted");
  NoNetwork http;
  auto platform = platform_for(app.platform, http);
  if (!platform) fuzz::fail("an unknown platform was accepted");
  const AppCheck check = platform->prepare_app(app);
  fuzz::check_storable(check.message, "AppCheck::message");
  if (!secret.empty() && check.message.find(secret) != std::string::npos) fuzz::fail("AppCheck quotes the secret");
  if (!check.ok) return 0;
  // What POST /v1/apps would store (options in jsonb) and answer.
  fuzz::check_storable(app.options, "App::options");
  (void)to_json(app).dump();
  return 0;
}
