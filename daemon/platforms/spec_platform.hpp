// The one interpreter of platform specs (platforms/spec.hpp): builds each call's request from the
// spec, sends it, and classifies the answer by the one HTTP-failure ladder (platform_util) and the
// spec's error table; applies the spec's lifetimes and rotation rules. A spec's hooks (SpecHooks)
// wrap the calls where a platform needs code, using the same primitives.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "net/http_client.hpp"
#include "platforms/platform.hpp"
#include "platforms/spec.hpp"

namespace mediax {

class SpecPlatform;

// What a call's parameters may carry besides the app's own (spec::Value).
struct CallInputs {
  std::string code;
  std::string code_verifier;
  std::string redirect_uri;
  std::string refresh_token;
  std::string access_token;
};

// Behaviour of a platform that is code. Each default does what the spec alone says.
class SpecHooks {
 public:
  virtual ~SpecHooks() = default;
  // More checks of a new app after the spec's ("field: why"); nullopt when fine.
  virtual std::optional<std::string> check_app(const App& app) const {
    (void)app;
    return std::nullopt;
  }
  // The value of a spec::Value::hook parameter; nullopt leaves it out.
  virtual std::optional<std::string> param(std::string_view name, const App& app) const {
    (void)name;
    (void)app;
    return std::nullopt;
  }
  // What a refresh does to this app's refresh token; the spec's Lifetimes::rotation unless the app
  // decides (Weibo: only apps on its mobile SDK get refresh tokens).
  virtual spec::Rotation rotation(const spec::Spec& s, const App& app) const {
    (void)app;
    return s.lifetimes.rotation;
  }
  virtual Outcome exchange_code(SpecPlatform& p, const App& app, const CallInputs& in) const;
  virtual Outcome refresh(SpecPlatform& p, const App& app, const Grant& grant) const;
  virtual Outcome client_token(SpecPlatform& p, const App& app, const AppTokenCall& call) const;
};

class SpecPlatform : public Platform {
 public:
  // `spec` must outlive the platform (specs are static data).
  SpecPlatform(const spec::Spec& spec, HttpClient& http, const PlatformSettings& settings);

  std::string name() const override { return std::string(spec_.name); }
  AppCheck prepare_app(App& app) override;
  bool uses_pkce(const App& app) const override;
  std::string pkce_challenge(const App& app, const std::string& verifier) const override;
  // Accepts `mobile` when the spec has a mobile page (Authorize::mobile_page); no other choice.
  std::string check_authorize(const App& app, const AuthorizeParams& p) const override;
  std::string authorize_url(const App& app, const AuthorizeParams& p) const override;
  Outcome exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                        const std::string& redirect_uri) override;
  Outcome refresh(const App& app, const Grant& grant) override;
  Outcome client_token(const App& app, const AppTokenCall& call) override;
  Outcome revoke(const App& app, const Grant& grant) override;

  // The primitives hooks build on.
  const spec::Spec& spec() const { return spec_; }
  // The base URL `key` for this app: its option of that name, else the config's, else the real host.
  std::string base_url(const App& app, std::string_view key) const;
  // The authorization page for this app (Authorize::page_option), or the mobile page for a
  // connection made from a phone (Authorize::mobile_page).
  const spec::Page& page(const App& app, bool mobile = false) const;
  // The request of `call` as the spec writes it, for this app and these inputs.
  HttpClientRequest build(spec::Call call, const spec::Request& req, const App& app, const CallInputs& in) const;
  // Sends `req` and classifies the answer as an answer to `call`. `secrets` (what the request
  // carried) are kept out of the message.
  Outcome send(spec::Call call, const spec::Request& req, const HttpClientRequest& http_req,
               const std::vector<std::string>& secrets);
  // send for a call whose answer is not a token (Weibo's get_token_info): failures classified as
  // send does; on success `object` is the answer's JSON object.
  Outcome fetch_object(spec::Call call, const spec::Request& req, const HttpClientRequest& http_req,
                       const std::vector<std::string>& secrets, nlohmann::json& object);
  // This app's refresh-token rotation (SpecHooks::rotation).
  spec::Rotation rotation(const App& app) const;
  // build + send + the spec's lifetime rules for a grant's refresh token (`grant` for refresh).
  Outcome run(spec::Call call, const App& app, const CallInputs& in, const Grant* grant = nullptr);
  // The spec's refresh without hooks: refused without a call when the refresh token is known dead.
  Outcome plain_refresh(const App& app, const Grant& grant);

 private:
  const spec::Spec& spec_;
  HttpClient& http_;
  PlatformSettings settings_;
};

namespace spec {

// Classifies an answer to `call` of `s` by the spec's error table and the HTTP status, without
// reading a token: on success `object` is the answer (pure; read_answer and fetch_object use it).
Outcome read_object(const Spec& s, Call call, const Request& req, const HttpClientResponse& r, TimePoint now,
                    const std::vector<std::string>& secrets, nlohmann::json& object);

// Classifies an answer to `call` of `s` (pure; SpecPlatform::send uses it).
Outcome read_answer(const Spec& s, Call call, const Request& req, const HttpClientResponse& r, TimePoint now,
                    const std::vector<std::string>& secrets);

// When the refresh token of a grant whose refresh token ends at `end` (fixed: only a new
// authorization gives a later one) must be used for the last time: a tenth of its lifetime before
// the end, at most 10 minutes, at least 1 s.
Seconds last_refresh_lead(Seconds lifetime);

}  // namespace spec
}  // namespace mediax
