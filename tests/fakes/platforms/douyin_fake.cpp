// The fake Douyin Open Platform (platforms.md §Douyin):
//  - GET  /platform/oauth/connect/        browser authorization, comma-separated scopes, optionalScope pairs
//                                         (ticked ones granted unless fake_untick names them), redirect with code
//  - POST /oauth/access_token/            form only; codes single use, 10 minutes, bound to the client_key
//  - POST /oauth/refresh_token/           form, no secret; an unexpired access token comes back unchanged with
//                                         a later expiry; the refresh token's expiry does not move
//  - POST /oauth/renew_refresh_token/     form; needs the renew permission (else 10004, while refreshing goes
//                                         on to the refresh token's own end); the old refresh token dies at
//                                         once; the new one lives --refresh-expires-in from the renewal; at
//                                         most --max-renewals (5) renewals per authorization, then 10020
//  - POST /oauth/client_token/            JSON only; the previous token keeps 5 minutes, older ones die;
//                                         more than --client-token-limit calls in 5 minutes -> 10020
//  - POST /oauth/stable_client_token/     JSON; the same token while it is valid, a new one only after it expired
// Every answer is wrapped; errors come with HTTP 200, some with error_code as a string; refresh answers
// give their numbers as strings.
//
// Control: POST /_fake/clients {"client_key","client_secret","redirect_uris":[...],"renew_permission":true}
//          POST /_fake/fail {"endpoint":"access_token|refresh_token|renew_refresh_token|client_token|any",
//                            "error_code":N,"description":"...","status":200,"count":1}
// Stats: authorizations, codes_exchanged, refreshes, refreshes_by_account, renewals, renewals_by_account,
// dead_refresh_token_uses, client_tokens_issued, token_errors, errors_by_code.
#include <algorithm>
#include <deque>
#include <variant>

#include "fake_platform.hpp"

namespace mediax::fakep {

namespace {

constexpr std::int64_t kAccessLifetime = 1296000;
constexpr std::int64_t kRefreshLifetime = 2592000;
constexpr std::int64_t kClientLifetime = 7200;

class DouyinFake : public FakePlatform {
 public:
  explicit DouyinFake(Options o) : FakePlatform(std::move(o)) {
    if (opts_.expires_in <= 0) opts_.expires_in = kAccessLifetime;
    if (opts_.refresh_expires_in <= 0) opts_.refresh_expires_in = kRefreshLifetime;
    if (opts_.client_expires_in <= 0) opts_.client_expires_in = kClientLifetime;
  }

 protected:
  Reply protocol(const Request& req) override {
    if (req.path == "/platform/oauth/connect/" && req.method == "GET") return authorize(req);
    if (req.method != "POST") return not_found();
    if (req.path == "/oauth/access_token/") return answer("access_token", req, [&] { return access_token(req); });
    if (req.path == "/oauth/refresh_token/") return answer("refresh_token", req, [&] { return refresh_token(req); });
    if (req.path == "/oauth/renew_refresh_token/") {
      return answer("renew_refresh_token", req, [&] { return renew(req); });
    }
    if (req.path == "/oauth/client_token/")
      return answer("client_token", req, [&] { return client_token(req, false); });
    if (req.path == "/oauth/stable_client_token/") {
      return answer("client_token", req, [&] { return client_token(req, true); });
    }
    return not_found();
  }

  Reply control(const Request& req) override {
    if (req.path != "/_fake/clients" || req.method != "POST") return not_found();
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("client_key") || !j["client_key"].is_string() ||
        !j.contains("client_secret") || !j["client_secret"].is_string()) {
      return json_reply(400, json{{"error", "bad_request"}, {"message", "client_key and client_secret are required"}});
    }
    Client c;
    c.secret = j["client_secret"].get<std::string>();
    c.renew_permission = j.value("renew_permission", true);
    for (const auto& u : j.value("redirect_uris", json::array())) {
      if (u.is_string()) c.redirect_uris.push_back(u.get<std::string>());
    }
    clients_[j["client_key"].get<std::string>()] = c;
    remember("client_secrets", c.secret);
    return json_reply(201, json{{"client_key", j["client_key"]}});
  }

  json introspect(const std::string& token) const override {
    if (auto it = access_.find(token); it != access_.end()) {
      auto left = seconds_left(it->second.expires);
      return json{{"active", left > 0},
                  {"kind", "access"},
                  {"open_id", it->second.open_id},
                  {"expires_in", left > 0 ? left : 0}};
    }
    if (auto it = refresh_.find(token); it != refresh_.end()) {
      const auto& r = it->second;
      auto left = seconds_left(r.expires);
      return json{{"active", r.alive && left > 0},
                  {"kind", "refresh"},
                  {"open_id", r.open_id},
                  {"renewals", grants_.at(r.grant).renewals},
                  {"expires_in", left > 0 ? left : 0}};
    }
    if (auto it = client_tokens_.find(token); it != client_tokens_.end()) {
      auto left = seconds_left(it->second.expires);
      return json{{"active", !it->second.dead && left > 0}, {"kind", "client"}, {"expires_in", left > 0 ? left : 0}};
    }
    return json{{"active", false}, {"kind", "unknown"}};
  }

  std::string check_failure(const json& spec) const override {
    if (!spec.contains("error_code") && spec.value("status", 200) == 200)
      return "error_code or a non-200 status is required";
    return "";
  }

 private:
  struct Client {
    std::string secret;
    std::vector<std::string> redirect_uris;
    bool renew_permission = true;
  };
  struct Code {
    std::string client_key;
    std::string open_id;
    std::string scope;
    TimeSource::time_point expires;
    bool used = false;
  };
  struct Grant {
    std::string client_key;
    std::string open_id;
    std::string scope;
    std::string access;  // current access token
    int renewals = 0;
  };
  struct Access {
    std::string open_id;
    TimeSource::time_point expires;
  };
  struct Refresh {
    std::int64_t grant = 0;
    std::string open_id;
    TimeSource::time_point expires;
    bool alive = true;
  };
  struct ClientToken {
    std::string client_key;
    TimeSource::time_point expires;
    bool dead = false;
  };

  static json wrapped(const json& data) { return json{{"data", data}, {"message", "success"}}; }

  // Douyin's error answer: HTTP 200, the code in data. `as_string` gives the code as a string, with
  // the "message" shape; otherwise the "extra.logid" shape.
  Reply error(std::int64_t code, const std::string& description, bool as_string = false) {
    count("token_errors");
    count_in("errors_by_code", std::to_string(code));
    json data{{"captcha", ""}, {"desc_url", ""}, {"description", description}};
    if (as_string) {
      data["error_code"] = std::to_string(code);
      return json_reply(200, json{{"data", data}, {"message", "error"}});
    }
    data["error_code"] = code;
    return json_reply(200, json{{"data", data}, {"extra", {{"logid", random_id("2020", 9)}, {"now", 1594015876138}}}});
  }

  template <typename F>
  Reply answer(const std::string& endpoint, const Request& /*req*/, F&& real) {
    if (auto f = take_failure(endpoint)) {
      int status = f->spec.value("status", 200);
      if (status != 200) return html_reply(status, "injected failure");
      return error(f->spec.value("error_code", std::int64_t{10001}),
                   f->spec.value("description", std::string("injected")),
                   endpoint == "refresh_token" || endpoint == "renew_refresh_token");
    }
    return real();
  }

  static std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    if (s.empty()) return out;
    std::size_t start = 0;
    for (;;) {
      auto comma = s.find(',', start);
      out.push_back(s.substr(start, comma - start));
      if (comma == std::string::npos) return out;
      start = comma + 1;
    }
  }

  static bool is_form(const Request& req) {
    return req.content_type.rfind("application/x-www-form-urlencoded", 0) == 0;
  }

  Reply authorize(const Request& req) {
    auto client_key = req.param("client_key");
    if (!client_key) return html_reply(400, "client_key is missing");
    auto it = clients_.find(*client_key);
    if (it == clients_.end()) return html_reply(400, "unknown client_key");
    auto redirect_uri = req.param("redirect_uri");
    if (!redirect_uri) return html_reply(400, "redirect_uri is missing");
    // Only the part before '#' is compared.
    std::string bare = redirect_uri->substr(0, redirect_uri->find('#'));
    if (std::find(it->second.redirect_uris.begin(), it->second.redirect_uris.end(), bare) ==
        it->second.redirect_uris.end()) {
      return html_reply(400, "redirect_uri is not configured for this app (10006)");
    }
    if (req.param("response_type").value_or("") != "code") return html_reply(400, "response_type must be code");
    std::string scope = req.param("scope").value_or("");
    if (scope.empty() || scope.find(' ') != std::string::npos) {
      return html_reply(400, "scope must be a comma-separated list");
    }
    // optionalScope=scope,1,scope2,0: scopes the user may untick, 1 = ticked at first. The fake
    // user keeps the ticked ones (fake_untick=scope,... unticks some) and grants them with `scope`.
    if (auto optional = req.param("optionalScope")) {
      auto parts = split_commas(*optional);
      if (parts.empty() || parts.size() % 2 != 0) return html_reply(400, "optionalScope must be scope,0|1 pairs");
      auto untick = split_commas(req.param("fake_untick").value_or(""));
      for (std::size_t i = 0; i + 1 < parts.size(); i += 2) {
        if (parts[i].empty() || (parts[i + 1] != "0" && parts[i + 1] != "1")) {
          return html_reply(400, "optionalScope must be scope,0|1 pairs");
        }
        if (parts[i + 1] == "1" && std::find(untick.begin(), untick.end(), parts[i]) == untick.end()) {
          scope += "," + parts[i];
        }
      }
      count("optional_scope_requests");
    }
    Form back;
    if (req.param("fake_decision").value_or("") == "deny") {
      back.emplace_back("error", "access_denied");
      back.emplace_back("error_description", "the user refused");
    } else {
      Code c;
      c.client_key = *client_key;
      c.open_id = "open_" + req.param("login_hint").value_or(random_id("u", 6));
      c.scope = scope;
      c.expires = TimeSource::now() + std::chrono::minutes(10);
      std::string code = random_id("dyc_");
      codes_[code] = c;
      remember("codes", code);
      count("authorizations");
      back.emplace_back("code", code);
    }
    if (auto state = req.param("state")) back.emplace_back("state", *state);
    return redirect(with_query(*redirect_uri, back));
  }

  // Checks client_key (and the secret when `secret` is set); nullopt when fine.
  std::optional<Reply> check_client(const std::optional<std::string>& key, const std::optional<std::string>& secret,
                                    bool needs_secret) {
    if (!key || key->empty()) return error(10005, "缺少参数 client_key");
    auto it = clients_.find(*key);
    if (it == clients_.end()) return error(10003, "client_key不存在");
    if (needs_secret) {
      if (!secret || secret->empty()) return error(10005, "缺少参数 client_secret");
      if (*secret != it->second.secret) return error(10013, "client_key或者client_secret报错");
    }
    return std::nullopt;
  }

  std::string issue_access(std::int64_t grant_id) {
    Grant& g = grants_.at(grant_id);
    std::string token = random_id("act.");
    access_[token] = Access{g.open_id, TimeSource::now() + std::chrono::seconds(opts_.expires_in)};
    g.access = token;
    remember("access_tokens", token);
    return token;
  }

  std::string issue_refresh(std::int64_t grant_id) {
    const Grant& g = grants_.at(grant_id);
    std::string token = random_id("rft.");
    refresh_[token] =
        Refresh{grant_id, g.open_id, TimeSource::now() + std::chrono::seconds(opts_.refresh_expires_in), true};
    remember("refresh_tokens", token);
    return token;
  }

  Reply access_token(const Request& req) {
    if (!is_form(req)) return error(10002, "参数错误: the body must be application/x-www-form-urlencoded");
    auto form = parse_form(req.body);
    if (!form) return error(10002, "参数错误");
    if (auto bad = check_client(form_value(*form, "client_key"), form_value(*form, "client_secret"), true)) return *bad;
    if (form_value(*form, "grant_type").value_or("") != "authorization_code") return error(10002, "grant_type错误");
    auto code = form_value(*form, "code");
    if (!code || code->empty()) return error(10005, "缺少参数 code");
    auto it = codes_.find(*code);
    if (it == codes_.end() || it->second.used || TimeSource::now() >= it->second.expires) {
      return error(10007, "授权码过期");
    }
    if (it->second.client_key != *form_value(*form, "client_key")) return error(10014, "client_key不匹配");
    it->second.used = true;
    std::int64_t id = next_grant_++;
    grants_[id] = Grant{it->second.client_key, it->second.open_id, it->second.scope, "", 0};
    std::string access = issue_access(id);
    std::string refresh = issue_refresh(id);
    count("codes_exchanged");
    return json_reply(200, wrapped({{"access_token", access},
                                    {"captcha", ""},
                                    {"desc_url", ""},
                                    {"description", ""},
                                    {"error_code", 0},
                                    {"expires_in", opts_.expires_in},
                                    {"log_id", random_id("2023", 9)},
                                    {"open_id", it->second.open_id},
                                    {"refresh_expires_in", opts_.refresh_expires_in},
                                    {"refresh_token", refresh},
                                    {"scope", it->second.scope}}));
  }

  // A usable refresh token of `client_key`, or Douyin's error.
  std::variant<Refresh*, Reply> live_refresh(const std::optional<std::string>& token, const std::string& client_key) {
    if (!token || token->empty()) return error(10005, "缺少参数 refresh_token", true);
    auto it = refresh_.find(*token);
    if (it == refresh_.end()) return error(10010, "refresh_token无效", true);
    Refresh& r = it->second;
    if (!r.alive) {
      count("dead_refresh_token_uses");
      return error(10010, "refresh_token已失效", true);
    }
    if (TimeSource::now() >= r.expires) return error(10010, "refresh_token过期", true);
    if (grants_.at(r.grant).client_key != client_key) return error(10010, "refresh_token无效", true);
    return &r;
  }

  Reply refresh_token(const Request& req) {
    if (!is_form(req)) return error(10002, "参数错误: the body must be application/x-www-form-urlencoded", true);
    auto form = parse_form(req.body);
    if (!form) return error(10002, "参数错误", true);
    // Strict: this endpoint takes no secret, and a client that sends one spreads it needlessly.
    if (form_value(*form, "client_secret"))
      return error(10002, "参数错误: client_secret is not a parameter here", true);
    auto key = form_value(*form, "client_key");
    if (auto bad = check_client(key, std::nullopt, false)) return *bad;
    if (form_value(*form, "grant_type").value_or("") != "refresh_token") return error(10002, "grant_type错误", true);
    auto token = form_value(*form, "refresh_token");
    auto live = live_refresh(token, *key);
    if (auto* reply = std::get_if<Reply>(&live)) return *reply;
    Refresh* r = std::get<Refresh*>(live);
    Grant& g = grants_.at(r->grant);
    // An unexpired access token comes back unchanged with a later expiry.
    auto cur = access_.find(g.access);
    std::string access;
    if (cur != access_.end() && TimeSource::now() < cur->second.expires) {
      cur->second.expires = TimeSource::now() + std::chrono::seconds(opts_.expires_in);
      access = g.access;
      count("refreshes_unchanged");
    } else {
      access = issue_access(r->grant);
    }
    count("refreshes");
    count_in("refreshes_by_account", g.open_id);
    return json_reply(
        200, wrapped({{"access_token", access},
                      {"description", ""},
                      {"error_code", "0"},
                      {"expires_in", std::to_string(opts_.expires_in)},
                      {"open_id", g.open_id},
                      {"refresh_expires_in", std::to_string(std::max<std::int64_t>(seconds_left(r->expires), 0))},
                      {"refresh_token", *token},
                      {"scope", g.scope}}));
  }

  Reply renew(const Request& req) {
    if (!is_form(req)) return error(10002, "参数错误: the body must be application/x-www-form-urlencoded", true);
    auto form = parse_form(req.body);
    if (!form) return error(10002, "参数错误", true);
    auto key = form_value(*form, "client_key");
    if (auto bad = check_client(key, std::nullopt, false)) return *bad;
    if (!clients_.at(*key).renew_permission) return error(10004, "权限不足", true);
    auto live = live_refresh(form_value(*form, "refresh_token"), *key);
    if (auto* reply = std::get_if<Reply>(&live)) return *reply;
    Refresh* r = std::get<Refresh*>(live);
    Grant& g = grants_.at(r->grant);
    if (g.renewals >= opts_.max_renewals) return error(10020, "超过刷新次数限制", true);
    // The old refresh token dies at once.
    r->alive = false;
    ++g.renewals;
    std::string fresh = issue_refresh(r->grant);
    count("renewals");
    count_in("renewals_by_account", g.open_id);
    return json_reply(200, wrapped({{"description", ""},
                                    {"error_code", 0},
                                    {"expires_in", opts_.refresh_expires_in},
                                    {"refresh_token", fresh}}));
  }

  Reply client_token(const Request& req, bool stable) {
    if (req.content_type.rfind("application/json", 0) != 0) return error(10002, "参数错误: the body must be JSON");
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error(10002, "参数错误");
    auto str = [&](const char* k) -> std::optional<std::string> {
      if (!j.contains(k) || !j[k].is_string()) return std::nullopt;
      return j[k].get<std::string>();
    };
    auto key = str("client_key");
    if (auto bad = check_client(key, str("client_secret"), true)) return *bad;
    if (str("grant_type").value_or("") != "client_credential") return error(10002, "grant_type错误");
    auto now = TimeSource::now();
    auto& calls = client_calls_[*key];
    while (!calls.empty() && now - calls.front() > std::chrono::minutes(5)) calls.pop_front();
    if (static_cast<int>(calls.size()) >= opts_.client_token_limit) return error(10020, "请求太频繁");
    calls.push_back(now);
    auto& issued = issued_[*key];
    if (stable && !issued.empty()) {
      auto& cur = client_tokens_.at(issued.back());
      if (!cur.dead && now < cur.expires) {
        count("stable_client_tokens_repeated");
        return json_reply(200, wrapped({{"access_token", issued.back()},
                                        {"description", ""},
                                        {"error_code", 0},
                                        {"expires_in", std::max<std::int64_t>(seconds_left(cur.expires), 1)}}));
      }
    }
    // Only the newest two stay valid; the previous one keeps 5 minutes.
    if (!issued.empty()) {
      auto& prev = client_tokens_.at(issued.back());
      prev.expires = std::min(prev.expires, now + std::chrono::minutes(5));
      for (std::size_t i = 0; i + 1 < issued.size(); ++i) client_tokens_.at(issued[i]).dead = true;
    }
    std::string token = random_id("clt.");
    client_tokens_[token] = ClientToken{*key, now + std::chrono::seconds(opts_.client_expires_in), false};
    issued.push_back(token);
    remember("client_tokens", token);
    count("client_tokens_issued");
    return json_reply(200, wrapped({{"access_token", token},
                                    {"description", ""},
                                    {"error_code", 0},
                                    {"expires_in", opts_.client_expires_in}}));
  }

  std::map<std::string, Client> clients_;
  std::map<std::string, Code> codes_;
  std::map<std::int64_t, Grant> grants_;
  std::map<std::string, Access> access_;
  std::map<std::string, Refresh> refresh_;
  std::map<std::string, ClientToken> client_tokens_;
  std::map<std::string, std::vector<std::string>> issued_;
  std::map<std::string, std::deque<TimeSource::time_point>> client_calls_;
  std::int64_t next_grant_ = 1;
};

}  // namespace

std::unique_ptr<FakePlatform> make_douyin_fake(const Options& opts) { return std::make_unique<DouyinFake>(opts); }

}  // namespace mediax::fakep
