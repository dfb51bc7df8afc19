// The fake WeChat Open Platform / Official Account API (platforms.md §WeChat):
//  - GET  /connect/qrconnect, /connect/oauth2/authorize   parameters in WeChat's order (appid, redirect_uri,
//         response_type, scope, state); qrconnect takes snsapi_login, oauth2 snsapi_base|snsapi_userinfo
//  - GET  /sns/oauth2/access_token        appid, secret, code (single use, 5 minutes), grant_type
//  - GET  /sns/oauth2/refresh_token       appid, grant_type, refresh_token; an unexpired access token comes
//         back unchanged with a later expiry; the refresh token is never renewed
//  - GET  /sns/auth                       access_token, openid
//  - POST /cgi-bin/stable_token           JSON only; without force_refresh the same token while it is valid;
//         WeChat renews it itself 5 minutes before it expires (the handover, a quarter of the lifetime when
//         --client-expires-in is shorter): a call in the handover gets the successor, and the old and the new
//         token are both valid until the old one expires, so a returned token always has at least the
//         handover left. force_refresh kills the current token (and one in its handover) at once and issues a
//         new one, --daily-force-quota a day (then 45009); within --force-interval seconds of the last
//         effective one it changes nothing and returns the current token
//  - GET  /cgi-bin/token                  every call a new token, the previous one lives 5 more minutes;
//         --daily-token-quota calls a day, then 45009
// Errors are {"errcode","errmsg"} with HTTP 200; calls from an IP outside a client's whitelist get 40164.
//
// Control: POST /_fake/clients {"appid","secret","redirect_uris":[...],"ip_whitelist":[...]}
//          POST /_fake/fail {"endpoint":"access_token|refresh_token|stable_token|token|any","errcode":N,
//                            "errmsg":"...","status":200,"count":1}
// Stats: authorizations, codes_exchanged, refreshes, refreshes_by_account, stable_token_calls,
// stable_token_forced (forced calls received), stable_token_forced_ignored (within the interval),
// stable_tokens_issued, stable_tokens_repeated, token_calls, quota_refusals, token_errors, errors_by_code.
#include <algorithm>

#include "fake_platform.hpp"

namespace mediax::fakep {

namespace {

constexpr std::int64_t kAccessLifetime = 7200;
constexpr std::int64_t kRefreshLifetime = 2592000;

class WeChatFake : public FakePlatform {
 public:
  explicit WeChatFake(Options o) : FakePlatform(std::move(o)) {
    if (opts_.expires_in <= 0) opts_.expires_in = kAccessLifetime;
    if (opts_.refresh_expires_in <= 0) opts_.refresh_expires_in = kRefreshLifetime;
    if (opts_.client_expires_in <= 0) opts_.client_expires_in = kAccessLifetime;
  }

 protected:
  Reply protocol(const Request& req) override {
    if (req.method == "GET" && req.path == "/connect/qrconnect") return authorize(req, true);
    if (req.method == "GET" && req.path == "/connect/oauth2/authorize") return authorize(req, false);
    if (req.method == "GET" && req.path == "/sns/oauth2/access_token")
      return answer("access_token", [&] { return exchange(req); });
    if (req.method == "GET" && req.path == "/sns/oauth2/refresh_token")
      return answer("refresh_token", [&] { return refresh(req); });
    if (req.method == "GET" && req.path == "/sns/auth") return check(req);
    if (req.method == "POST" && req.path == "/cgi-bin/stable_token")
      return answer("stable_token", [&] { return stable_token(req); });
    if (req.method == "GET" && req.path == "/cgi-bin/token") return answer("token", [&] { return classic_token(req); });
    return not_found();
  }

  Reply control(const Request& req) override {
    if (req.path != "/_fake/clients" || req.method != "POST") return not_found();
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("appid") || !j["appid"].is_string() ||
        !j.contains("secret") || !j["secret"].is_string()) {
      return json_reply(400, json{{"error", "bad_request"}, {"message", "appid and secret are required"}});
    }
    Client c;
    c.secret = j["secret"].get<std::string>();
    for (const auto& u : j.value("redirect_uris", json::array())) {
      if (u.is_string()) c.redirect_uris.push_back(u.get<std::string>());
    }
    if (j.contains("ip_whitelist") && j["ip_whitelist"].is_array()) {
      c.whitelist_on = true;
      for (const auto& ip : j["ip_whitelist"]) {
        if (ip.is_string()) c.whitelist.push_back(ip.get<std::string>());
      }
    }
    clients_[j["appid"].get<std::string>()] = c;
    remember("client_secrets", c.secret);
    return json_reply(201, json{{"appid", j["appid"]}});
  }

  json introspect(const std::string& token) const override {
    if (auto it = access_.find(token); it != access_.end()) {
      auto left = seconds_left(it->second.expires);
      return json{{"active", !it->second.dead && left > 0},
                  {"kind", it->second.openid.empty() ? "app" : "access"},
                  {"openid", it->second.openid},
                  {"expires_in", left > 0 ? left : 0}};
    }
    if (auto it = refresh_.find(token); it != refresh_.end()) {
      auto left = seconds_left(it->second.expires);
      return json{{"active", left > 0}, {"kind", "refresh"}, {"openid", it->second.openid}};
    }
    return json{{"active", false}, {"kind", "unknown"}};
  }

  std::string check_failure(const json& spec) const override {
    if (!spec.contains("errcode") && spec.value("status", 200) == 200) return "errcode or a non-200 status is required";
    return "";
  }

 private:
  struct Client {
    std::string secret;
    std::vector<std::string> redirect_uris;
    bool whitelist_on = false;
    std::vector<std::string> whitelist;
    // App tokens.
    std::string stable;                   // current stable_token
    std::string stable_previous;          // its predecessor, valid to its own expiry (the handover)
    TimeSource::time_point last_force{};  // last effective force_refresh
    std::string classic;                  // newest cgi-bin/token
    std::int64_t day = -1;                // quota day (Beijing) of the counters below
    int classic_calls = 0;
    int forced_calls = 0;
  };
  struct Code {
    std::string appid;
    std::string openid;
    std::string scope;
    TimeSource::time_point expires;
    bool used = false;
  };
  struct Access {
    std::string appid;
    std::string openid;  // "" for app tokens
    TimeSource::time_point expires;
    bool dead = false;
  };
  struct Refresh {
    std::string appid;
    std::string openid;
    std::string scope;
    std::string access;
    TimeSource::time_point expires;
  };

  Reply error(std::int64_t code, const std::string& msg) {
    count("token_errors");
    count_in("errors_by_code", std::to_string(code));
    return json_reply(200, json{{"errcode", code}, {"errmsg", msg + ", rid: " + random_id("", 9)}});
  }

  template <typename F>
  Reply answer(const std::string& endpoint, F&& real) {
    if (auto f = take_failure(endpoint)) {
      int status = f->spec.value("status", 200);
      if (status != 200) return html_reply(status, "injected failure");
      return error(f->spec.value("errcode", std::int64_t{-1}), f->spec.value("errmsg", std::string("system error")));
    }
    return real();
  }

  static std::int64_t beijing_day() {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return (std::chrono::duration_cast<std::chrono::seconds>(now).count() + 8 * 3600) / 86400;
  }

  // Checks appid, secret (when `with_secret`) and the caller's IP; nullopt when fine.
  std::optional<Reply> check_app(const std::optional<std::string>& appid, const std::optional<std::string>& secret,
                                 bool with_secret, const Request& req) {
    if (!appid || appid->empty()) return error(41002, "appid missing");
    auto it = clients_.find(*appid);
    if (it == clients_.end()) return error(40013, "invalid appid");
    if (with_secret) {
      if (!secret || secret->empty()) return error(41004, "appsecret missing");
      if (*secret != it->second.secret) return error(40125, "invalid appsecret");
    }
    const Client& c = it->second;
    if (c.whitelist_on && std::find(c.whitelist.begin(), c.whitelist.end(), req.remote_addr) == c.whitelist.end()) {
      return error(40164, "invalid ip " + req.remote_addr + " ipv6 ::ffff:" + req.remote_addr + ", not in whitelist");
    }
    return std::nullopt;
  }

  Reply authorize(const Request& req, bool qrconnect) {
    // WeChat expects the parameters in this order; anything after state is ignored.
    const std::vector<std::string> order = {"appid", "redirect_uri", "response_type", "scope", "state"};
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (i >= req.query.size() || req.query[i].first != order[i]) {
        return html_reply(400,
                          "该链接无法访问 (parameters must come in the order appid, redirect_uri, response_type, "
                          "scope, state)");
      }
    }
    auto appid = *req.param("appid");
    auto it = clients_.find(appid);
    if (it == clients_.end()) return html_reply(400, "该链接无法访问 (unknown appid)");
    auto redirect_uri = *req.param("redirect_uri");
    auto& uris = it->second.redirect_uris;
    if (std::find(uris.begin(), uris.end(), redirect_uri) == uris.end()) {
      return html_reply(400, "redirect_uri 域名与后台配置不一致 (10003)");
    }
    if (*req.param("response_type") != "code") return html_reply(400, "response_type must be code");
    std::string scope = *req.param("scope");
    bool scope_ok = qrconnect ? scope == "snsapi_login" : (scope == "snsapi_base" || scope == "snsapi_userinfo");
    if (!scope_ok) return html_reply(400, "该链接无法访问 (scope)");
    Form back;
    if (req.param("fake_decision").value_or("") == "deny") {
      // Older documents: on refusal WeChat redirects with the state only.
      back.emplace_back("state", *req.param("state"));
      return redirect(with_query(redirect_uri, back));
    }
    Code c;
    c.appid = appid;
    c.openid = "o_" + req.param("login_hint").value_or(random_id("u", 6));
    c.scope = scope;
    c.expires = TimeSource::now() + std::chrono::minutes(5);
    std::string code = random_id("wxc_");
    codes_[code] = c;
    remember("codes", code);
    count("authorizations");
    back.emplace_back("code", code);
    back.emplace_back("state", *req.param("state"));
    return redirect(with_query(redirect_uri, back));
  }

  std::string issue_access(const std::string& appid, const std::string& openid, std::int64_t lifetime) {
    std::string token = random_id("wxa_", 48);
    access_[token] = Access{appid, openid, TimeSource::now() + std::chrono::seconds(lifetime), false};
    remember("access_tokens", token);
    return token;
  }

  Reply exchange(const Request& req) {
    if (auto bad = check_app(req.param("appid"), req.param("secret"), true, req)) return *bad;
    if (req.param("grant_type").value_or("") != "authorization_code") return error(40002, "invalid grant_type");
    auto code = req.param("code");
    if (!code || code->empty()) return error(41008, "missing code");
    auto it = codes_.find(*code);
    if (it == codes_.end() || it->second.appid != *req.param("appid")) return error(40029, "invalid code");
    if (it->second.used) return error(40163, "code been used");
    if (TimeSource::now() >= it->second.expires) return error(42003, "code expired");
    it->second.used = true;
    const Code& c = it->second;
    std::string access = issue_access(c.appid, c.openid, opts_.expires_in);
    std::string refresh = random_id("wxr_", 48);
    refresh_[refresh] =
        Refresh{c.appid, c.openid, c.scope, access, TimeSource::now() + std::chrono::seconds(opts_.refresh_expires_in)};
    remember("refresh_tokens", refresh);
    count("codes_exchanged");
    json out{{"access_token", access},
             {"expires_in", opts_.expires_in},
             {"refresh_token", refresh},
             {"openid", c.openid},
             {"scope", c.scope}};
    if (c.scope != "snsapi_base") out["unionid"] = "u_" + c.openid;
    return json_reply(200, out);
  }

  Reply refresh(const Request& req) {
    if (req.param("secret")) return error(40002, "invalid parameter: secret is not taken here");
    if (auto bad = check_app(req.param("appid"), std::nullopt, false, req)) return *bad;
    if (req.param("grant_type").value_or("") != "refresh_token") return error(40002, "invalid grant_type");
    auto token = req.param("refresh_token");
    auto it = token ? refresh_.find(*token) : refresh_.end();
    if (it == refresh_.end() || it->second.appid != *req.param("appid")) return error(40030, "invalid refresh_token");
    Refresh& r = it->second;
    if (TimeSource::now() >= r.expires) return error(42002, "refresh_token timeout");
    auto cur = access_.find(r.access);
    if (cur != access_.end() && !cur->second.dead && TimeSource::now() < cur->second.expires) {
      cur->second.expires = TimeSource::now() + std::chrono::seconds(opts_.expires_in);
      count("refreshes_unchanged");
    } else {
      r.access = issue_access(r.appid, r.openid, opts_.expires_in);
    }
    count("refreshes");
    count_in("refreshes_by_account", r.openid);
    return json_reply(200, json{{"access_token", r.access},
                                {"expires_in", opts_.expires_in},
                                {"refresh_token", *token},
                                {"openid", r.openid},
                                {"scope", r.scope}});
  }

  Reply check(const Request& req) {
    auto it = access_.find(req.param("access_token").value_or(""));
    if (it == access_.end() || it->second.dead) return error(40014, "invalid access_token");
    if (TimeSource::now() >= it->second.expires) return error(42001, "access_token expired");
    if (it->second.openid != req.param("openid").value_or("")) return error(40003, "invalid openid");
    return json_reply(200, json{{"errcode", 0}, {"errmsg", "ok"}});
  }

  Client& roll_day(Client& c) {
    auto day = beijing_day();
    if (c.day != day) {
      c.day = day;
      c.classic_calls = 0;
      c.forced_calls = 0;
    }
    return c;
  }

  Reply app_token_reply(const std::string& token) {
    return json_reply(200, json{{"access_token", token},
                                {"expires_in", std::max<std::int64_t>(seconds_left(access_.at(token).expires), 1)}});
  }

  Reply stable_token(const Request& req) {
    count("stable_token_calls");
    if (req.content_type.rfind("application/json", 0) != 0) return error(47001, "data format error");
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error(47001, "data format error");
    auto str = [&](const char* k) -> std::optional<std::string> {
      if (!j.contains(k) || !j[k].is_string()) return std::nullopt;
      return j[k].get<std::string>();
    };
    if (str("grant_type").value_or("") != "client_credential") return error(40002, "invalid grant_type");
    auto appid = str("appid");
    if (auto bad = check_app(appid, str("secret"), true, req)) return *bad;
    Client& c = roll_day(clients_.at(*appid));
    bool force = j.value("force_refresh", false);
    auto now = TimeSource::now();
    auto cur = access_.find(c.stable);
    bool valid = cur != access_.end() && !cur->second.dead && now < cur->second.expires;
    const std::int64_t lifetime = opts_.client_expires_in;
    // WeChat hands over to the next token in the last 5 minutes (scaled down for short lifetimes).
    const auto handover = std::chrono::seconds(std::min<std::int64_t>(300, lifetime / 4));
    if (force) {
      count("stable_token_forced");
      // Within the interval a forced call changes nothing.
      if (valid && c.last_force != TimeSource::time_point{} &&
          now - c.last_force < std::chrono::seconds(opts_.force_interval)) {
        count("stable_token_forced_ignored");
        return app_token_reply(c.stable);
      }
      if (c.forced_calls >= opts_.daily_force_quota) {
        count("quota_refusals");
        return error(45009, "reach max api daily quota limit");
      }
      ++c.forced_calls;
      c.last_force = now;
      // The previous token dies at once, and so does one still in its handover.
      for (const std::string* t : {&c.stable, &c.stable_previous}) {
        if (auto it = access_.find(*t); it != access_.end()) it->second.dead = true;
      }
      c.stable_previous.clear();
      c.stable = issue_access(*appid, "", lifetime);
      count("stable_tokens_issued");
      return app_token_reply(c.stable);
    }
    if (valid && now < cur->second.expires - handover) {
      count("stable_tokens_repeated");
      return app_token_reply(c.stable);
    }
    // WeChat renewed the token by itself when its handover began (and went on renewing while nobody
    // asked): the successor's life runs from then, not from this call.
    TimeSource::time_point expires = now + std::chrono::seconds(lifetime);
    if (cur != access_.end() && !cur->second.dead) {
      expires = cur->second.expires;
      while (now >= expires - handover) expires += std::chrono::seconds(lifetime) - handover;
    }
    c.stable_previous = valid ? c.stable : std::string();
    c.stable = issue_access(*appid, "", lifetime);
    access_.at(c.stable).expires = expires;
    count("stable_tokens_issued");
    return app_token_reply(c.stable);
  }

  Reply classic_token(const Request& req) {
    count("token_calls");
    if (req.param("grant_type").value_or("") != "client_credential") return error(40002, "invalid grant_type");
    auto appid = req.param("appid");
    if (auto bad = check_app(appid, req.param("secret"), true, req)) return *bad;
    Client& c = roll_day(clients_.at(*appid));
    if (c.classic_calls >= opts_.daily_token_quota) {
      count("quota_refusals");
      return error(45009, "reach max api daily quota limit");
    }
    ++c.classic_calls;
    // The previous token lives 5 more minutes.
    if (auto prev = access_.find(c.classic); prev != access_.end()) {
      prev->second.expires = std::min(prev->second.expires, TimeSource::now() + std::chrono::minutes(5));
    }
    c.classic = issue_access(*appid, "", opts_.client_expires_in);
    count("classic_tokens_issued");
    return app_token_reply(c.classic);
  }

  std::map<std::string, Client> clients_;
  std::map<std::string, Code> codes_;
  std::map<std::string, Access> access_;
  std::map<std::string, Refresh> refresh_;
};

}  // namespace

std::unique_ptr<FakePlatform> make_wechat_fake(const Options& opts) { return std::make_unique<WeChatFake>(opts); }

}  // namespace mediax::fakep
