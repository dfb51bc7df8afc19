// The fake WeChat open platform for third-party platforms ("component"), platform name
// "wechat_component", following ../shared/platforms-wechat-component.md over a whole life:
//
//  - It PUSHES: once configured, a background thread POSTs an encrypted, signed
//    component_verify_ticket to the event URL every ticket_interval_seconds (§1), and the
//    authorization events (authorized / updateauthorized / unauthorized, §6) when they happen. Query:
//    timestamp, nonce, encrypt_type=aes, msg_signature, signature; body <xml><AppId/><Encrypt/></xml>.
//    A reply other than exactly `success` (or no reply within 5 s) is a failed delivery; like WeChat it
//    tries a push up to 3 times.
//  - POST /cgi-bin/component/api_component_token   {component_appid, component_appsecret,
//         component_verify_ticket}: the ticket must be one the fake pushed within ticket_lifetime (12 h):
//         61006 for a null, unknown or wrong ticket, 61005 for an expired one. Every call mints a NEW
//         token; the previous one stays valid token_overlap_seconds (5 min), older ones die at once.
//  - POST /cgi-bin/component/api_create_preauthcode  {component_appid} -> pre_auth_code (single use,
//         expires_in preauth_expires_in: 600, as the documentation's example)
//  - GET  /cgi-bin/componentloginpage, /safe/bindcomponent, /wxaopen/safe/bindcomponent (the PC page and
//         the two mobile links): component_appid, pre_auth_code (unused, alive), redirect_uri (present),
//         auth_type (1 Official Accounts, 2 Mini Programs, 3 both), biz_appid (only that account). The
//         consent is simulated as the other fakes do: the account chosen by /_fake/component/next_authorizer
//         (or login_hint=APPID) agrees, the browser is redirected to redirect_uri&auth_code=…&expires_in=…
//         and the `authorized` event (`updateauthorized` when the account was authorized already) is pushed.
//         fake_decision=deny: the admin closes the page (an error page, no redirect, no event).
//  - POST /cgi-bin/component/api_query_auth  {component_appid, authorization_code}: codes are single use
//         (61009 unknown or used, 61010 expired) -> authorization_info{authorizer_appid,
//         authorizer_access_token, expires_in, authorizer_refresh_token, func_info[{funcscope_category:{id}}]}.
//         A first authorization (or one after an unauthorization) gets a new refresh token; an update keeps it.
//  - POST /cgi-bin/component/api_authorizer_token  {component_appid, authorizer_appid,
//         authorizer_refresh_token}: a new access token (the previous one lives token_overlap_seconds more);
//         the refresh token comes back unchanged unless rotate_refresh_token (then the old one lives
//         token_overlap_seconds more). 61023 for an unknown, stale or null refresh token, 61003 once the
//         account withdrew its authorization.
//  - POST /cgi-bin/component/api_get_authorizer_info {component_appid, authorizer_appid}: authorizer_info and
//         authorization_info.authorizer_refresh_token ("" while no code of the account was exchanged).
//  - POST /cgi-bin/component/api_get_authorizer_list {component_appid, offset, count ≤ 500}: the accounts
//         that currently authorize the platform, with their refresh tokens.
//  - POST /cgi-bin/component/api_start_push_ticket {component_appid, component_secret}: pushes a ticket now.
// Every component API but the first and the last checks component_access_token (40001 unknown or dead,
// 42001 expired) given as ?component_access_token= or, the newer documents' spelling, ?access_token=.
// Errors are {"errcode","errmsg"} with HTTP 200 and errmsg ending in " rid: …"; with a whitelist set,
// every API call from another IP gets 61004 "invalid ip X ipv6 ::ffff:X, not in whitelist rid: …".
//
// Control:
//   POST /_fake/component/config {component_appid, component_appsecret, message_token, encoding_aes_key,
//        event_url, ticket_interval_seconds (600), ticket_lifetime_seconds (43200), token_overlap_seconds (300),
//        component_expires_in (--client-expires-in or 7200), authorizer_expires_in (--expires-in or 7200),
//        preauth_expires_in (600), auth_code_expires_in (600), rotate_refresh_token (false),
//        ip_whitelist ([...]; absent: none), push_retry_delay_ms (1000), event_push_delay_ms (0: how long an
//        authorization event waits before it is pushed, to order it after the browser's redirect)}:
//        starts (or re-times) the pushes.
//   POST /_fake/component/next_authorizer {authorizer_appid, func_ids:[…], service_type ("mp"|"mini")}
//   POST /_fake/component/unauthorize {authorizer_appid}: the account withdraws (event pushed, tokens die)
//   POST /_fake/component/update {authorizer_appid, func_ids}: the account changes its permission sets
//        (a new code, `updateauthorized` pushed)
//   POST /_fake/component/lose_refresh_token {authorizer_appid}: WeChat changes the account's refresh token
//        (as after the event URL was changed): the one the daemon holds now gets 61023
//   POST /_fake/component/push_ticket: a ticket push now;  GET /_fake/component/last_push: the last push
//        sent ({url, query, body}) so a test can replay it
//   POST /_fake/fail {"endpoint": "component_token|preauthcode|query_auth|authorizer_token|authorizer_info|
//        authorizer_list|start_push_ticket|any", "errcode": N, "errmsg": "...", "status": 200|500,
//        "garbage": true, "count": 1, "delay_ms": 0 (the failure is answered this much later; the
//        stat failures_injected counts it at once, so a test knows the call is in flight)}
// Stats: component_tokens_issued, ticket_refusals, preauthcodes_issued, authorizations, codes_exchanged,
// authorizer_refreshes, refreshes_by_account, pushes (by InfoType), push_attempts, pushes_delivered,
// push_deliveries_failed, pushes_given_up, token_errors, errors_by_code.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <thread>

#include "crypto/crypto.hpp"
#include "crypto/wechat_msg_crypt.hpp"
#include "fake_platform.hpp"
#include "net/http_client.hpp"
#include "platforms/wechat_component_events.hpp"
#include "util/url.hpp"

namespace mediax::fakep {

namespace {

constexpr std::int64_t kTokenLifetime = 7200;
constexpr int kPushTries = 3;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class WeChatComponentFake : public FakePlatform {
 public:
  explicit WeChatComponentFake(Options o) : FakePlatform(std::move(o)) {
    HttpClientOptions http;
    http.connect_timeout = std::chrono::milliseconds(2000);
    http.read_timeout = std::chrono::milliseconds(5000);
    http.total_timeout = std::chrono::milliseconds(5000);  // WeChat waits about 5 s for `success`
    http.user_agent = "Mozilla/4.0";
    http_ = make_http_client(http);
    pusher_ = std::thread([this] { push_loop(); });
  }

  ~WeChatComponentFake() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    pusher_.join();
  }

 protected:
  Reply protocol(const Request& req) override {
    const std::string& p = req.path;
    if (req.method == "GET" &&
        (p == "/cgi-bin/componentloginpage" || p == "/safe/bindcomponent" || p == "/wxaopen/safe/bindcomponent")) {
      return login_page(req, p != "/cgi-bin/componentloginpage");
    }
    if (req.method != "POST" || p.rfind("/cgi-bin/component/", 0) != 0) return not_found();
    const std::string api = p.substr(std::string("/cgi-bin/component/").size());
    if (api == "api_component_token")
      return answer("component_token", req, false, [&](const json& j) { return component_token(j); });
    if (api == "api_start_push_ticket")
      return answer("start_push_ticket", req, false, [&](const json& j) { return start_push_ticket(j); });
    if (api == "api_create_preauthcode")
      return answer("preauthcode", req, true, [&](const json& j) { return create_preauthcode(j); });
    if (api == "api_query_auth") return answer("query_auth", req, true, [&](const json& j) { return query_auth(j); });
    if (api == "api_authorizer_token")
      return answer("authorizer_token", req, true, [&](const json& j) { return authorizer_token(j); });
    if (api == "api_get_authorizer_info")
      return answer("authorizer_info", req, true, [&](const json& j) { return authorizer_info(j); });
    if (api == "api_get_authorizer_list")
      return answer("authorizer_list", req, true, [&](const json& j) { return authorizer_list(j); });
    return not_found();
  }

  Reply control(const Request& req) override {
    const std::string& p = req.path;
    if (req.method == "GET" && p == "/_fake/component/last_push") return json_reply(200, last_push_);
    if (req.method != "POST") return not_found();
    json j = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad_request("JSON object expected");
    try {
      if (p == "/_fake/component/config") return configure(j);
      if (p == "/_fake/component/next_authorizer") return next_authorizer(j);
      if (p == "/_fake/component/unauthorize") return unauthorize(j);
      if (p == "/_fake/component/update") return update(j);
      if (p == "/_fake/component/lose_refresh_token") return lose_refresh_token(j);
      if (p == "/_fake/component/push_ticket") {
        if (!configured()) return bad_request("not configured");
        ticket_due_ = TimeSource::now();
        wake_.notify_all();
        return json_reply(200, json{{"queued", true}});
      }
    } catch (const json::exception& e) {
      return bad_request(std::string("bad field: ") + e.what());
    }
    return not_found();
  }

  json introspect(const std::string& token) const override {
    if (token.empty()) return json{{"active", false}, {"kind", "unknown"}};
    if (auto it = component_tokens_.find(token); it != component_tokens_.end()) {
      auto left = seconds_left(it->second);
      return json{{"active", left > 0}, {"kind", "component"}, {"expires_in", std::max<std::int64_t>(left, 0)}};
    }
    if (auto it = access_.find(token); it != access_.end()) {
      auto left = seconds_left(it->second.expires);
      return json{{"active", !it->second.dead && left > 0},
                  {"kind", "authorizer"},
                  {"authorizer_appid", it->second.authorizer},
                  {"expires_in", std::max<std::int64_t>(left, 0)}};
    }
    for (const auto& [appid, a] : accounts_) {
      if (token == a.refresh_token || (token == a.previous_refresh && TimeSource::now() < a.previous_refresh_until)) {
        return json{{"active", a.authorized}, {"kind", "refresh"}, {"authorizer_appid", appid}};
      }
    }
    if (auto it = tickets_.find(token); it != tickets_.end()) {
      return json{{"active", TimeSource::now() - it->second < std::chrono::seconds(cfg_.ticket_lifetime)},
                  {"kind", "ticket"}};
    }
    return json{{"active", false}, {"kind", "unknown"}};
  }

  std::string check_failure(const json& spec) const override {
    if (!spec.contains("errcode") && spec.value("status", 200) == 200 && !spec.value("garbage", false)) {
      return "errcode, garbage or a non-200 status is required";
    }
    return "";
  }

 private:
  struct Config {
    std::string appid;
    std::string secret;
    std::string message_token;
    std::string aes_key;
    std::string event_url;
    std::int64_t ticket_interval = 600;
    std::int64_t ticket_lifetime = 43200;
    std::int64_t overlap = 300;
    std::int64_t component_expires_in = kTokenLifetime;
    std::int64_t authorizer_expires_in = kTokenLifetime;
    std::int64_t preauth_expires_in = 600;
    std::int64_t auth_code_expires_in = 600;
    bool rotate_refresh = false;
    bool whitelist_on = false;
    std::vector<std::string> whitelist;
    std::int64_t retry_delay_ms = 1000;
    std::int64_t event_delay_ms = 0;
  };
  struct PreAuth {
    TimeSource::time_point expires;
    bool used = false;
  };
  struct AuthCode {
    std::string authorizer;
    std::vector<int> func_ids;
    TimeSource::time_point expires;
    bool used = false;
  };
  struct Account {
    std::string service_type = "mp";  // "mp": Official Account, "mini": Mini Program
    std::vector<int> func_ids;
    bool authorized = false;
    bool ever_authorized = false;
    std::int64_t auth_time = 0;
    std::string refresh_token;  // "" until a code of this authorization was exchanged
    std::string previous_refresh;
    TimeSource::time_point previous_refresh_until{};
    std::string access;  // newest authorizer_access_token
  };
  struct Access {
    std::string authorizer;
    TimeSource::time_point expires;
    bool dead = false;
  };
  struct Push {
    std::string info_type;
    std::string inner_xml;
    TimeSource::time_point not_before{};
  };

  static Reply bad_request(const std::string& why) {
    return json_reply(400, json{{"error", "bad_request"}, {"message", why}});
  }

  Reply error(std::int64_t code, const std::string& msg) {
    count("token_errors");
    count_in("errors_by_code", std::to_string(code));
    return json_reply(200, json{{"errcode", code}, {"errmsg", msg + " rid: " + random_id("", 9)}});
  }

  bool configured() const { return !cfg_.appid.empty(); }

  static std::optional<std::string> str(const json& j, const char* k) {
    if (!j.contains(k) || !j[k].is_string()) return std::nullopt;
    return j[k].get<std::string>();
  }

  // Injected failures, the whitelist, the JSON body, then (when `with_token`) the component token and
  // the component_appid of the body; then the API itself.
  template <typename F>
  Reply answer(const std::string& endpoint, const Request& req, bool with_token, F&& real) {
    if (auto f = take_failure(endpoint)) {
      if (f->spec.value("garbage", false)) {
        Reply r;
        r.status = f->spec.value("status", 200);
        r.content_type = "text/html";
        r.body = "<html><body>系统繁忙</body></html>";
        return r;
      }
      int status = f->spec.value("status", 200);
      Reply r = status != 200 ? html_reply(status, "injected failure")
                              : error(f->spec.value("errcode", std::int64_t{-1}),
                                      f->spec.value("errmsg", std::string("system error")));
      r.hold = std::chrono::milliseconds(f->spec.value("delay_ms", std::int64_t{0}));
      return r;
    }
    if (!configured()) return error(61011, "invalid component");
    if (cfg_.whitelist_on &&
        std::find(cfg_.whitelist.begin(), cfg_.whitelist.end(), req.remote_addr) == cfg_.whitelist.end()) {
      return error(61004, "invalid ip " + req.remote_addr + " ipv6 ::ffff:" + req.remote_addr + ", not in whitelist");
    }
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error(47001, "data format error");
    if (with_token) {
      auto token = req.param("component_access_token");
      if (!token) token = req.param("access_token");
      if (!token || token->empty()) return error(41001, "access_token missing");
      auto it = component_tokens_.find(*token);
      if (it == component_tokens_.end())
        return error(40001, "invalid credential, access_token is invalid or not latest");
      if (TimeSource::now() >= it->second) return error(42001, "access_token expired");
      if (str(j, "component_appid").value_or("") != cfg_.appid) return error(61011, "invalid component");
    }
    return real(j);
  }

  // ---- Control ----

  Reply configure(const json& j) {
    for (const char* k : {"component_appid", "component_appsecret", "message_token", "encoding_aes_key", "event_url"}) {
      if (!str(j, k) || str(j, k)->empty()) return bad_request(std::string(k) + " is required");
    }
    if (!wxcrypt::aes_key(*str(j, "encoding_aes_key"))) return bad_request("encoding_aes_key is not 43 characters");
    Config c;
    c.appid = *str(j, "component_appid");
    c.secret = *str(j, "component_appsecret");
    c.message_token = *str(j, "message_token");
    c.aes_key = *str(j, "encoding_aes_key");
    c.event_url = *str(j, "event_url");
    if (!parse_url(c.event_url)) return bad_request("event_url is not an http(s) URL");
    c.ticket_interval = std::max<std::int64_t>(1, j.value("ticket_interval_seconds", std::int64_t{600}));
    c.ticket_lifetime = std::max<std::int64_t>(1, j.value("ticket_lifetime_seconds", std::int64_t{43200}));
    c.overlap = std::max<std::int64_t>(0, j.value("token_overlap_seconds", std::int64_t{300}));
    c.component_expires_in = std::max<std::int64_t>(
        1, j.value("component_expires_in", opts_.client_expires_in > 0 ? opts_.client_expires_in : kTokenLifetime));
    c.authorizer_expires_in = std::max<std::int64_t>(
        1, j.value("authorizer_expires_in", opts_.expires_in > 0 ? opts_.expires_in : kTokenLifetime));
    c.preauth_expires_in = std::max<std::int64_t>(1, j.value("preauth_expires_in", std::int64_t{600}));
    c.auth_code_expires_in = std::max<std::int64_t>(1, j.value("auth_code_expires_in", std::int64_t{600}));
    c.rotate_refresh = j.value("rotate_refresh_token", false);
    if (j.contains("ip_whitelist") && j["ip_whitelist"].is_array()) {
      c.whitelist_on = true;
      for (const auto& ip : j["ip_whitelist"]) {
        if (ip.is_string()) c.whitelist.push_back(ip.get<std::string>());
      }
    }
    c.retry_delay_ms = std::max<std::int64_t>(0, j.value("push_retry_delay_ms", std::int64_t{1000}));
    c.event_delay_ms = std::max<std::int64_t>(0, j.value("event_push_delay_ms", std::int64_t{0}));
    const bool first = !configured() || c.event_url != cfg_.event_url;
    cfg_ = c;
    remember("component_appsecret", c.secret);
    remember("message_token", c.message_token);
    remember("encoding_aes_key", c.aes_key);
    // WeChat starts pushing once the platform is approved; here the first push goes out at once.
    if (first)
      ticket_due_ = TimeSource::now();
    else
      ticket_due_ = std::min(ticket_due_, TimeSource::now() + std::chrono::seconds(c.ticket_interval));
    wake_.notify_all();
    return json_reply(200, json{{"component_appid", c.appid}, {"ticket_interval_seconds", c.ticket_interval}});
  }

  static std::vector<int> func_ids_of(const json& j, std::vector<int> fallback) {
    if (!j.contains("func_ids")) return fallback;
    std::vector<int> out;
    for (const auto& v : j.at("func_ids")) out.push_back(v.get<int>());
    return out;
  }

  Reply next_authorizer(const json& j) {
    auto appid = str(j, "authorizer_appid");
    if (!appid || appid->empty()) return bad_request("authorizer_appid is required");
    next_authorizer_ = *appid;
    Account& a = accounts_[*appid];
    a.func_ids = func_ids_of(j, a.func_ids.empty() ? std::vector<int>{1, 15} : a.func_ids);
    a.service_type = j.value("service_type", a.service_type);
    if (a.service_type != "mp" && a.service_type != "mini") return bad_request("service_type is mp or mini");
    return json_reply(200, json{{"authorizer_appid", *appid}, {"func_ids", a.func_ids}});
  }

  Account* authorized_account(const json& j) {
    auto appid = str(j, "authorizer_appid");
    if (!appid) return nullptr;
    auto it = accounts_.find(*appid);
    return it == accounts_.end() || !it->second.authorized ? nullptr : &it->second;
  }

  void kill_tokens_of(const std::string& appid) {
    for (auto& [t, a] : access_) {
      if (a.authorizer == appid) a.dead = true;
    }
  }

  Reply unauthorize(const json& j) {
    Account* a = authorized_account(j);
    if (a == nullptr) return bad_request("that account does not authorize the platform");
    const std::string appid = *str(j, "authorizer_appid");
    a->authorized = false;
    a->refresh_token.clear();
    a->previous_refresh.clear();
    kill_tokens_of(appid);
    for (auto& [c, code] : codes_) {
      if (code.authorizer == appid) code.used = true;
    }
    enqueue("unauthorized",
            event_head("unauthorized") + "<AuthorizerAppid><![CDATA[" + appid + "]]></AuthorizerAppid></xml>");
    return json_reply(200, json{{"unauthorized", appid}});
  }

  Reply update(const json& j) {
    Account* a = authorized_account(j);
    if (a == nullptr) return bad_request("that account does not authorize the platform");
    const std::vector<int> ids = func_ids_of(j, a->func_ids);
    // WeChat sends no updateauthorized when the permission sets did not change.
    if (ids == a->func_ids) return json_reply(200, json{{"pushed", false}});
    a->func_ids = ids;
    grant_code(*str(j, "authorizer_appid"), "updateauthorized", "");
    return json_reply(200, json{{"pushed", true}, {"func_ids", ids}});
  }

  Reply lose_refresh_token(const json& j) {
    Account* a = authorized_account(j);
    if (a == nullptr) return bad_request("that account does not authorize the platform");
    a->refresh_token = random_id("refreshtoken@@@", 30);
    a->previous_refresh.clear();
    remember("authorizer_refresh_tokens", a->refresh_token);
    return json_reply(200, json{{"changed", true}});
  }

  // ---- Pushes ----

  std::string event_head(const std::string& info_type) const {
    return "<xml><AppId><![CDATA[" + cfg_.appid + "]]></AppId><CreateTime>" + std::to_string(unix_now()) +
           "</CreateTime><InfoType><![CDATA[" + info_type + "]]></InfoType>";
  }

  void enqueue(const std::string& info_type, const std::string& inner) {
    if (!configured()) return;
    queue_.push_back(Push{info_type, inner, TimeSource::now() + std::chrono::milliseconds(cfg_.event_delay_ms)});
    wake_.notify_all();
  }

  // A new authorization code for `appid`: the browser gets it too when this is a consent.
  std::string grant_code(const std::string& appid, const std::string& info_type, const std::string& pre_auth_code) {
    const Account& a = accounts_.at(appid);
    std::string code = random_id("queryauthcode@@@", 30);
    codes_[code] =
        AuthCode{appid, a.func_ids, TimeSource::now() + std::chrono::seconds(cfg_.auth_code_expires_in), false};
    remember("auth_codes", code);
    std::string inner = event_head(info_type) + "<AuthorizerAppid><![CDATA[" + appid +
                        "]]></AuthorizerAppid><AuthorizationCode><![CDATA[" + code +
                        "]]></AuthorizationCode><AuthorizationCodeExpiredTime>" +
                        std::to_string(unix_now() + cfg_.auth_code_expires_in) + "</AuthorizationCodeExpiredTime>";
    if (!pre_auth_code.empty()) inner += "<PreAuthCode><![CDATA[" + pre_auth_code + "]]></PreAuthCode>";
    enqueue(info_type, inner + "</xml>");
    return code;
  }

  // The pusher thread: ticket pushes on the timer and queued events, delivered with mu_ released
  // (the daemon calls back into the fake while it handles an event).
  void push_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (!configured()) {
        wake_.wait(lock);
        continue;
      }
      const auto now = TimeSource::now();
      const bool event_due = !queue_.empty() && now >= queue_.front().not_before;
      if (!event_due && now < ticket_due_) {
        wake_.wait_until(lock, queue_.empty() ? ticket_due_ : std::min(ticket_due_, queue_.front().not_before));
        continue;
      }
      Push p;
      if (event_due) {
        p = queue_.front();
        queue_.pop_front();
      } else {
        std::string ticket = random_id("ticket@@@", 40);
        tickets_[ticket] = TimeSource::now();
        remember("tickets", ticket);
        p = Push{"component_verify_ticket", event_head("component_verify_ticket") + "<ComponentVerifyTicket><![CDATA[" +
                                                ticket + "]]></ComponentVerifyTicket></xml>"};
        ticket_due_ = TimeSource::now() + std::chrono::seconds(cfg_.ticket_interval);
      }
      count_in("pushes", p.info_type);
      const Config c = cfg_;
      bool delivered = false;
      for (int attempt = 1; attempt <= kPushTries && !stopping_ && !delivered; ++attempt) {
        HttpClientRequest r = build_push(c, p);
        last_push_ = json{{"url", r.url}, {"body", r.body}, {"info_type", p.info_type}};
        count("push_attempts");
        lock.unlock();
        HttpClientResponse resp = http_->send(r);
        lock.lock();
        delivered = resp.status == 200 && resp.body == "success";
        if (!delivered) {
          count("push_deliveries_failed");
          count_in("push_failures_by_status", std::to_string(resp.status));
          if (attempt < kPushTries) wake_.wait_for(lock, std::chrono::milliseconds(c.retry_delay_ms));
        }
      }
      count(delivered ? "pushes_delivered" : "pushes_given_up");
    }
  }

  HttpClientRequest build_push(const Config& c, const Push& p) const {
    const std::string enc = wxcrypt::encrypt(*wxcrypt::aes_key(c.aes_key), p.inner_xml, c.appid);
    const std::string ts = std::to_string(unix_now());
    const std::string r4 = crypto::random_bytes(4);
    std::uint32_t n = 0;
    for (char ch : r4) n = (n << 8) | static_cast<std::uint8_t>(ch);
    const std::string nonce = std::to_string(n);  // WeChat's nonces are decimal
    std::string url = c.event_url;
    url += url.find('?') == std::string::npos ? '?' : '&';
    // The plain `signature` leaves out the body: sha1(sort(token, timestamp, nonce)).
    url += "signature=" + wxcrypt::signature(c.message_token, ts, nonce, "") + "&timestamp=" + ts + "&nonce=" + nonce +
           "&encrypt_type=aes&msg_signature=" + wxcrypt::signature(c.message_token, ts, nonce, enc);
    HttpClientRequest r;
    r.method = "POST";
    r.url = url;
    r.content_type = "text/xml";
    r.body = wechat_component::push_envelope(c.appid, enc);
    return r;
  }

  // ---- The APIs ----

  Reply component_token(const json& j) {
    auto appid = str(j, "component_appid");
    if (!appid || *appid != cfg_.appid) return error(61011, "invalid component");
    auto secret = str(j, "component_appsecret");
    if (!secret || secret->empty()) return error(41004, "appsecret missing");
    if (*secret != cfg_.secret) return error(40125, "invalid appsecret");
    auto ticket = str(j, "component_verify_ticket");
    auto it = ticket ? tickets_.find(*ticket) : tickets_.end();
    if (it == tickets_.end()) {
      count("ticket_refusals");
      return error(61006, "component ticket is invalid");
    }
    if (TimeSource::now() - it->second >= std::chrono::seconds(cfg_.ticket_lifetime)) {
      count("ticket_refusals");
      return error(61005, "component ticket is expired");
    }
    // The previous token lives `overlap` more; any older one dies now.
    const auto now = TimeSource::now();
    if (!previous_component_.empty()) component_tokens_[previous_component_] = now;
    if (auto cur = component_tokens_.find(current_component_); cur != component_tokens_.end()) {
      cur->second = std::min(cur->second, now + std::chrono::seconds(cfg_.overlap));
      previous_component_ = current_component_;
    }
    current_component_ = random_id("componenttoken_", 48);
    component_tokens_[current_component_] = now + std::chrono::seconds(cfg_.component_expires_in);
    remember("component_access_tokens", current_component_);
    count("component_tokens_issued");
    return json_reply(200,
                      json{{"component_access_token", current_component_}, {"expires_in", cfg_.component_expires_in}});
  }

  Reply start_push_ticket(const json& j) {
    if (str(j, "component_appid").value_or("") != cfg_.appid) return error(61011, "invalid component");
    auto secret = str(j, "component_secret");
    if (!secret || secret->empty()) return error(41004, "appsecret missing");
    if (*secret != cfg_.secret) return error(40125, "invalid appsecret");
    ticket_due_ = TimeSource::now();
    wake_.notify_all();
    count("start_push_ticket_calls");
    return json_reply(200, json{{"errcode", 0}, {"errmsg", "ok"}});
  }

  Reply create_preauthcode(const json&) {
    std::string code = random_id("preauthcode@@@", 30);
    preauth_[code] = PreAuth{TimeSource::now() + std::chrono::seconds(cfg_.preauth_expires_in), false};
    remember("pre_auth_codes", code);
    count("preauthcodes_issued");
    return json_reply(200, json{{"pre_auth_code", code}, {"expires_in", cfg_.preauth_expires_in}});
  }

  Reply login_page(const Request& req, bool mobile) {
    auto page_error = [](const std::string& why) { return html_reply(200, "请求参数错误 (" + why + ")"); };
    if (!configured() || req.param("component_appid").value_or("") != cfg_.appid) {
      return page_error("component_appid");
    }
    if (mobile && req.param("action").value_or("") != "bindcomponent") return page_error("action");
    auto it = preauth_.find(req.param("pre_auth_code").value_or(""));
    if (it == preauth_.end() || it->second.used) return page_error("pre_auth_code is invalid");
    if (TimeSource::now() >= it->second.expires) return page_error("pre_auth_code expired");
    auto redirect_uri = req.param("redirect_uri").value_or("");
    if (!parse_url(redirect_uri)) return page_error("redirect_uri");
    std::string appid = req.param("login_hint").value_or(next_authorizer_);
    if (appid.empty()) return page_error("no test account chose to authorize (POST /_fake/component/next_authorizer)");
    Account& a = accounts_[appid];
    if (a.func_ids.empty()) a.func_ids = {1, 15};
    const std::string biz = req.param("biz_appid").value_or("");
    if (!biz.empty() && biz != appid) return page_error("only the account biz_appid may authorize");
    const std::string auth_type = req.param("auth_type").value_or("3");
    // biz_appid takes precedence over auth_type when both are given.
    if (biz.empty() &&
        ((auth_type == "1" && a.service_type != "mp") || (auth_type == "2" && a.service_type != "mini"))) {
      return page_error("this account type is not offered (auth_type " + auth_type + ")");
    }
    if (auth_type != "1" && auth_type != "2" && auth_type != "3") return page_error("auth_type");
    if (req.param("fake_decision").value_or("") == "deny") return html_reply(200, "已取消授权");
    it->second.used = true;
    const bool update = a.authorized;
    if (!a.authorized) {
      a.authorized = true;
      a.ever_authorized = true;
      a.auth_time = unix_now();
      a.refresh_token.clear();  // a new authorization gets a new one at its exchange
    }
    count("authorizations");
    std::string code = grant_code(appid, update ? "updateauthorized" : "authorized", it->first);
    return redirect(
        with_query(redirect_uri, {{"auth_code", code}, {"expires_in", std::to_string(cfg_.auth_code_expires_in)}}));
  }

  std::string issue_access(Account& a, const std::string& appid) {
    const auto now = TimeSource::now();
    // The previous token lives `overlap` more (community, unverified for this token); older ones die.
    for (auto& [t, acc] : access_) {
      if (acc.authorizer != appid || t == a.access) continue;
      acc.dead = true;
    }
    if (auto cur = access_.find(a.access); cur != access_.end()) {
      cur->second.expires = std::min(cur->second.expires, now + std::chrono::seconds(cfg_.overlap));
    }
    a.access = random_id("authorizertoken_", 48);
    access_[a.access] = Access{appid, now + std::chrono::seconds(cfg_.authorizer_expires_in), false};
    remember("authorizer_access_tokens", a.access);
    return a.access;
  }

  static json func_info(const std::vector<int>& ids) {
    json out = json::array();
    for (int id : ids) out.push_back(json{{"funcscope_category", {{"id", id}}}});
    return out;
  }

  Reply query_auth(const json& j) {
    auto code = str(j, "authorization_code");
    auto it = code ? codes_.find(*code) : codes_.end();
    if (it == codes_.end() || it->second.used) return error(61009, "code is invalid");
    if (TimeSource::now() >= it->second.expires) return error(61010, "code is expired");
    it->second.used = true;
    const std::string appid = it->second.authorizer;
    Account& a = accounts_.at(appid);
    if (!a.authorized) return error(61009, "code is invalid");
    if (a.refresh_token.empty()) {
      a.refresh_token = random_id("refreshtoken@@@", 30);
      remember("authorizer_refresh_tokens", a.refresh_token);
    }
    std::string access = issue_access(a, appid);
    count("codes_exchanged");
    return json_reply(200, json{{"authorization_info",
                                 {{"authorizer_appid", appid},
                                  {"authorizer_access_token", access},
                                  {"expires_in", cfg_.authorizer_expires_in},
                                  {"authorizer_refresh_token", a.refresh_token},
                                  {"func_info", func_info(it->second.func_ids)}}}});
  }

  Reply authorizer_token(const json& j) {
    auto appid = str(j, "authorizer_appid");
    auto it = appid ? accounts_.find(*appid) : accounts_.end();
    if (it == accounts_.end() || !it->second.ever_authorized)
      return error(61003, "component is not authorized by this account");
    Account& a = it->second;
    if (!a.authorized) return error(61003, "component is not authorized by this account");
    auto refresh = str(j, "authorizer_refresh_token");
    const bool current = refresh && !a.refresh_token.empty() && *refresh == a.refresh_token;
    const bool previous = refresh && !a.previous_refresh.empty() && *refresh == a.previous_refresh &&
                          TimeSource::now() < a.previous_refresh_until;
    if (!current && !previous) return error(61023, "refresh_token is invalid");
    if (cfg_.rotate_refresh) {
      a.previous_refresh = a.refresh_token;
      a.previous_refresh_until = TimeSource::now() + std::chrono::seconds(cfg_.overlap);
      a.refresh_token = random_id("refreshtoken@@@", 30);
      remember("authorizer_refresh_tokens", a.refresh_token);
    }
    std::string access = issue_access(a, *appid);
    count("authorizer_refreshes");
    count_in("refreshes_by_account", *appid);
    return json_reply(200, json{{"authorizer_access_token", access},
                                {"expires_in", cfg_.authorizer_expires_in},
                                {"authorizer_refresh_token", a.refresh_token}});
  }

  Reply authorizer_info(const json& j) {
    Account* a = authorized_account(j);
    if (a == nullptr) return error(61003, "component is not authorized by this account");
    const std::string appid = *str(j, "authorizer_appid");
    count("authorizer_info_calls");
    const int type = a->service_type == "mp" ? 2 : 0;
    json info{{"nick_name", "fake " + appid},       {"user_name", "gh_" + appid},
              {"principal_name", "Fake Media Co."}, {"service_type_info", {{"id", type}}},
              {"verify_type_info", {{"id", 0}}},    {"account_status", 1}};
    if (a->service_type == "mini") info["MiniProgramInfo"] = json{{"network", json::object()}};
    return json_reply(200, json{{"authorizer_info", info},
                                {"authorization_info",
                                 {{"authorizer_appid", appid},
                                  {"authorizer_refresh_token", a->refresh_token},
                                  {"func_info", func_info(a->func_ids)}}}});
  }

  Reply authorizer_list(const json& j) {
    std::int64_t offset = 0;
    std::int64_t n = 0;
    try {
      offset = j.at("offset").get<std::int64_t>();
      n = j.at("count").get<std::int64_t>();
    } catch (const json::exception&) {
      return error(47001, "data format error");
    }
    if (offset < 0 || n < 1 || n > 500) return error(40097, "invalid args");
    json list = json::array();
    std::int64_t total = 0;
    for (const auto& [appid, a] : accounts_) {
      if (!a.authorized) continue;
      if (total >= offset && static_cast<std::int64_t>(list.size()) < n) {
        list.push_back(
            json{{"authorizer_appid", appid}, {"refresh_token", a.refresh_token}, {"auth_time", a.auth_time}});
      }
      ++total;
    }
    count("authorizer_list_calls");
    return json_reply(200, json{{"total_count", total}, {"list", list}});
  }

  Config cfg_;
  std::unique_ptr<HttpClient> http_;
  std::thread pusher_;
  std::condition_variable wake_;
  bool stopping_ = false;
  TimeSource::time_point ticket_due_{};
  std::deque<Push> queue_;
  json last_push_ = json::object();
  std::map<std::string, TimeSource::time_point> tickets_;           // ticket -> when pushed
  std::map<std::string, TimeSource::time_point> component_tokens_;  // token -> expiry
  std::string current_component_;
  std::string previous_component_;
  std::map<std::string, PreAuth> preauth_;
  std::map<std::string, AuthCode> codes_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, Access> access_;
  std::string next_authorizer_;
};

}  // namespace

std::unique_ptr<FakePlatform> make_wechat_component_fake(const Options& opts) {
  return std::make_unique<WeChatComponentFake>(opts);
}

}  // namespace mediax::fakep
