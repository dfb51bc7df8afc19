// mediax-fake-platforms: strict fakes of Douyin, WeChat and Google for the end-to-end tests,
// following ../shared/platforms.md. One class per platform; each takes a parsed request and returns
// a Reply (cpp-httplib stays in main.cpp). This base class holds what they share: the /_fake/
// control endpoints (stats, failure injection, secrets), a lock, counters and randomness.
//
// Conventions (as tests/fakes/fake_provider.hpp): every token is random; lifetimes run on the
// steady clock; the control endpoints live under /_fake/; GET /_fake/secrets lists every code,
// token and secret the fake knows so tests can check the daemon's log for leaks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mediax::fakep {

using json = nlohmann::json;
using Form = std::vector<std::pair<std::string, std::string>>;
using TimeSource = std::chrono::steady_clock;

struct Options {
  std::string platform;  // douyin | wechat | google | wechat_component
  std::string host = "127.0.0.1";
  int port = 0;
  std::int64_t expires_in = 0;          // access token lifetime; 0: the platform's documented one
  std::int64_t refresh_expires_in = 0;  // refresh token lifetime; 0: documented (Douyin, WeChat 30 days)
  std::int64_t client_expires_in = 0;   // app token lifetime; 0: documented (7200; Google: expires_in)
  int max_renewals = 5;                 // Douyin renew_refresh_token limit
  int daily_token_quota = 2000;         // WeChat cgi-bin/token calls per day
  int daily_force_quota = 20;           // WeChat stable_token force_refresh calls per day
  int force_interval = 30;              // WeChat: seconds between two effective force_refresh calls
  int client_token_limit = 500;         // Douyin: client_token calls per 5 minutes
};

struct Request {
  std::string method;
  std::string path;
  std::string raw_query;  // as sent, without '?'
  Form query;             // decoded, in order
  std::string body;
  std::string content_type;
  std::string remote_addr;
  std::map<std::string, std::string> headers;  // lower-case names

  std::optional<std::string> param(const std::string& name) const;  // first query value
  std::string header(const std::string& name) const;                // "" when absent
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent this much later, outside the fake's lock: a call a test can act on while it is in flight.
  std::chrono::milliseconds hold{0};
};

Reply json_reply(int status, const json& body);
Reply html_reply(int status, const std::string& message);
Reply redirect(const std::string& to);
Reply not_found();

// The first value of `name` in a form; nullopt when absent.
std::optional<std::string> form_value(const Form& f, const std::string& name);
// Decodes a form body; nullopt when it is not one (a broken escape).
std::optional<Form> parse_form(const std::string& body);
// `uri` with `params` appended to its query (before a fragment, which is dropped).
std::string with_query(const std::string& uri, const Form& params);
std::string random_id(const std::string& prefix, std::size_t bytes = 18);
// Seconds left until `t` on the steady clock (negative when past).
std::int64_t seconds_left(TimeSource::time_point t);

class FakePlatform {
 public:
  explicit FakePlatform(Options opts);
  virtual ~FakePlatform() = default;

  void set_base_url(const std::string& base_url);
  // Control endpoints (/_fake/...) and then the platform's own.
  Reply handle(const Request& req);

 protected:
  struct Failure {
    std::string endpoint;  // "any" or a platform endpoint name
    json spec;             // the injection request as given
    int remaining = 1;
  };

  // The platform's endpoints; called with mu_ held. not_found() for unknown paths.
  virtual Reply protocol(const Request& req) = 0;
  // POST /_fake/clients (and platform-specific registrations); called with mu_ held.
  virtual Reply control(const Request& req) = 0;
  // GET /_fake/introspect?token=T; called with mu_ held.
  virtual json introspect(const std::string& token) const = 0;
  // Checks an injection request's platform fields; "" when fine.
  virtual std::string check_failure(const json& spec) const = 0;

  // The next injected failure for `endpoint`, consumed; called with mu_ held.
  std::optional<Failure> take_failure(const std::string& endpoint);
  void count(const std::string& name, std::int64_t by = 1);
  void count_in(const std::string& map, const std::string& key);
  std::int64_t counter(const std::string& name) const;
  // Records a value for /_fake/secrets.
  void remember(const std::string& kind, const std::string& value);

  Options opts_;
  std::string base_url_;
  mutable std::mutex mu_;
  json stats_ = json::object();

 private:
  Reply inject_failure(const std::string& body);

  std::vector<Failure> failures_;
  json secrets_ = json::object();
};

std::unique_ptr<FakePlatform> make_douyin_fake(const Options& opts);
std::unique_ptr<FakePlatform> make_wechat_fake(const Options& opts);
std::unique_ptr<FakePlatform> make_google_fake(const Options& opts);
std::unique_ptr<FakePlatform> make_wechat_component_fake(const Options& opts);  // wechat_component_fake.cpp

}  // namespace mediax::fakep
