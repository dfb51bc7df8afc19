// The WeChat third-party platform's event receiver (service/component_events.hpp) on a real
// store: what each push type stores, schedules and answers, and that nothing but `success` is
// answered when the push was not taken. The push's signature and decryption are
// wechat_component::open_component_push's (its own unit tests): a stand-in opener hands the
// receiver an opened push or a refusal, and one test sends real pushes (encrypted and signed as
// WeChat does) through the real opener with the app's sealed keys.
#include <deque>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "crypto/wechat_msg_crypt.hpp"
#include "pg_env.hpp"
#include "service/api_error.hpp"
#include "service/app_secrets.hpp"
#include "service/component_events.hpp"
#include "obs/metrics.hpp"
#include "schedule/token_cache.hpp"

namespace mediax::test {
namespace {

namespace wc = wechat_component;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const Seconds kMaxAge{300};

App component_app(const std::string& name) {
  App a = sample_app(name, true);
  a.platform = "wechat_component";
  a.client_id = "wxcomponent-" + name;
  a.issuer.clear();
  a.endpoints = {};
  a.options = nlohmann::json::object();
  a.secret_options = {{"message_token", "msgtoken-" + name},
                      {"encoding_aes_key", std::string(43, 'a')},
                      {"previous_encoding_aes_key", std::string(43, 'b')}};
  a.token_usage = TokenUsage::access_token_query;
  a.app_token_usage = TokenUsage::component_access_token_query;
  a.credential_key = "wechat_component - " + a.client_id;
  return a;
}

wc::OpenedPush opened(wc::EventType type) {
  wc::OpenedPush p;
  p.event.type = type;
  p.event.app_id = "wxcomponent-platform";
  p.event.create_time = t0();
  return p;
}

wc::OpenedPush ticket_push(const std::string& ticket, TimePoint created) {
  auto p = opened(wc::EventType::verify_ticket);
  p.event.info_type = "component_verify_ticket";
  p.event.ticket = ticket;
  p.event.create_time = created;
  return p;
}

wc::OpenedPush auth_push(wc::EventType type, const std::string& authorizer, const std::string& code = "") {
  auto p = opened(type);
  p.event.authorizer_appid = authorizer;
  p.event.authorization_code = code;
  return p;
}

wc::OpenedPush refusal(wc::PushRefusal r) {
  wc::OpenedPush p;
  p.refusal = r;
  p.detail = "why, without content";
  return p;
}

class ComponentReceiver : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    app_ = store_->create_app(component_app("platform"));
    ComponentEventActions actions;
    actions.schedule = [this](const RefreshKey& k, TimePoint at) { scheduled_.emplace_back(k, at); };
    actions.cancel = [this](const RefreshKey& k) { cancelled_.push_back(k); };
    actions.inputs_changed = [this](const RefreshKey& k) {
      // What the row said when the refresher was told: a failure written after this is followed
      // by the receiver's own "due now".
      marked_.emplace_back(k, store_->get_app("platform")->next_refresh_at);
    };
    actions.connect = [this](const App& app, const std::string& code, const std::string& event) -> Expected<Grant> {
      connects_.push_back({code, event});
      if (connect_refusal_) return tl::unexpected(*connect_refusal_);
      if (connect_failure_) std::rethrow_exception(connect_failure_);
      Grant g = sample_grant(app.id, connect_account_, "authorizer-refresh");
      return store_->upsert_grant(g, sample_token("authorizer-access", t0() + hours(2)));
    };
    receiver_ = std::make_unique<ComponentEventReceiver>(
        *store_, cache_, std::move(actions), kMaxAge,
        [this](const std::map<std::string, std::string>& query, const std::string& body, const wc::ReceiverKeys& keys,
               TimePoint now, Seconds max_age) {
          seen_keys_ = keys;
          seen_query_ = query;
          seen_body_ = body;
          seen_now_ = now;
          seen_max_age_ = max_age;
          EXPECT_FALSE(pushes_.empty()) << "no push queued";
          auto p = pushes_.front();
          pushes_.pop_front();
          return p;
        },
        metrics_);
  }

  ComponentEventAnswer post(wc::OpenedPush p, TimePoint now = t0(), const std::string& app = "platform") {
    pushes_.push_back(std::move(p));
    return receiver_->handle(app, {{"msg_signature", "sig"}, {"timestamp", "1"}, {"nonce", "n"}}, "<xml/>", now);
  }

  std::vector<Event> events(const std::string& kind) {
    std::vector<Event> out;
    for (auto& e : store_->list_events(app_.id, std::nullopt, 100)) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  double pushes_counted(const std::string& result) {
    return metrics_
        .counter("mediax_component_pushes_total",
                 "Pushes to a WeChat third-party platform's event URL by app and result (event type or refusal)",
                 {{"app", "platform"}, {"result", result}})
        .value();
  }

  void put_app_token(TimePoint expires_at) {
    Token t = sample_token("component-token", expires_at);
    t.app_id = app_.id;
    cache_.put(t);
  }

  void fail_app_token(const std::string& code) {
    ASSERT_TRUE(store_->acquire_lease({app_.id, 0}, "w", t0(), t0() + minutes(1)));
    store_->fail_refresh({app_.id, 0}, "w",
                         {OutcomeKind::retry_later, code, "no ticket", t0() + minutes(10), std::nullopt});
  }

  App app_;
  TokenCache cache_;
  metrics::Registry metrics_;
  std::unique_ptr<ComponentEventReceiver> receiver_;
  std::deque<wc::OpenedPush> pushes_;
  wc::ReceiverKeys seen_keys_;
  std::map<std::string, std::string> seen_query_;
  std::string seen_body_;
  TimePoint seen_now_{};
  Seconds seen_max_age_{0};
  std::vector<std::pair<RefreshKey, TimePoint>> scheduled_;
  std::vector<RefreshKey> cancelled_;
  std::vector<std::pair<RefreshKey, std::optional<TimePoint>>> marked_;  // inputs_changed, with next_refresh_at then
  std::vector<std::pair<std::string, std::string>> connects_;
  std::string connect_account_ = "wx-authorizer";
  std::exception_ptr connect_failure_;
  std::optional<ApiError> connect_refusal_;  // the platform refused or failed: the connect action's answer
};

TEST_F(ComponentReceiver, OpensThePushWithTheAppsSealedKeysAndTheReplayWindow) {
  const auto a = post(ticket_push("ticket@@@1", t0()), t0() + seconds(3));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "success");
  EXPECT_EQ(a.content_type.rfind("text/plain", 0), 0U);
  EXPECT_EQ(seen_keys_.component_appid, "wxcomponent-platform");
  EXPECT_EQ(seen_keys_.message_token, "msgtoken-platform");
  EXPECT_EQ(seen_keys_.encoding_aes_key, std::string(43, 'a'));
  EXPECT_EQ(seen_keys_.previous_encoding_aes_key, std::string(43, 'b'));
  EXPECT_EQ(seen_query_.at("msg_signature"), "sig");
  EXPECT_EQ(seen_body_, "<xml/>");
  EXPECT_EQ(seen_now_, t0() + seconds(3));
  EXPECT_EQ(seen_max_age_, kMaxAge);
}

TEST_F(ComponentReceiver, UnknownAppsAndAppsOfOtherPlatformsAre404WithoutOpeningAnything) {
  store_->create_app(sample_app("oauth"));
  EXPECT_EQ(receiver_->handle("nobody", {}, "<xml/>", t0()).status, 404);
  EXPECT_EQ(receiver_->handle("oauth", {}, "<xml/>", t0()).status, 404);
  EXPECT_EQ(receiver_->handle("Bad\nName", {}, "<xml/>", t0()).status, 404);
  EXPECT_EQ(receiver_->handle("platform", {}, std::string(ComponentEventReceiver::kMaxBody + 1, 'x'), t0()).status,
            413);
  EXPECT_EQ(seen_body_, "") << "the opener was never called";
}

TEST_F(ComponentReceiver, RefusedPushesAre403Or400StoreNothingAndAreRecordedAtMostOnceAMinute) {
  const double before = pushes_counted("bad_signature");
  for (auto r : {wc::PushRefusal::bad_signature, wc::PushRefusal::stale, wc::PushRefusal::undecryptable,
                 wc::PushRefusal::wrong_appid}) {
    const auto a = post(refusal(r));
    EXPECT_EQ(a.status, 403);
    EXPECT_NE(a.body, "success");
  }
  for (auto r : {wc::PushRefusal::missing_parameters, wc::PushRefusal::not_xml, wc::PushRefusal::bad_message}) {
    EXPECT_EQ(post(refusal(r)).status, 400);
  }
  EXPECT_EQ(post(refusal(wc::PushRefusal::bad_signature), t0() + seconds(30)).status, 403);
  EXPECT_EQ(pushes_counted("bad_signature") - before, 2);
  EXPECT_FALSE(store_->latest_component_ticket(app_.id));
  const auto refused = events("component_push_refused");
  EXPECT_EQ(refused.size(), 7U) << "one per kind within the minute";
  EXPECT_EQ(post(refusal(wc::PushRefusal::bad_signature), t0() + minutes(2)).status, 403);
  EXPECT_EQ(events("component_push_refused").size(), 8U);
}

TEST_F(ComponentReceiver, TheFirstTicketIsStoredRecordedAndFetchesTheComponentTokenNow) {
  const auto now = t0() + seconds(2);
  ASSERT_EQ(post(ticket_push("ticket@@@1", t0()), now).body, "success");
  EXPECT_EQ(store_->latest_component_ticket(app_.id)->ticket, "ticket@@@1");
  ASSERT_EQ(scheduled_.size(), 1U);
  EXPECT_EQ(scheduled_[0].first, (RefreshKey{app_.id, 0}));
  EXPECT_EQ(scheduled_[0].second, now);
  EXPECT_EQ(store_->get_app("platform")->next_refresh_at, now) << "due in the database too, so the lease is taken";
  EXPECT_EQ(events("component_ticket_received").size(), 1U);
  // A fetch in flight that read "no ticket" is told first, before the row is made due.
  ASSERT_EQ(marked_.size(), 1U);
  EXPECT_EQ(marked_[0].first, (RefreshKey{app_.id, 0}));
  EXPECT_NE(marked_[0].second, now) << "told before set_next_refresh";

  // The token came: the next tickets (every 10 minutes) are stored, nothing else happens.
  put_app_token(t0() + hours(2));
  ASSERT_EQ(post(ticket_push("ticket@@@2", t0() + minutes(10)), t0() + minutes(10)).body, "success");
  EXPECT_EQ(store_->latest_component_ticket(app_.id)->ticket, "ticket@@@2");
  EXPECT_EQ(scheduled_.size(), 1U);
  EXPECT_EQ(marked_.size(), 2U) << "every new ticket is news for a fetch in flight (if one is)";
  EXPECT_EQ(events("component_ticket_received").size(), 1U) << "only the first ticket is an event";
  // Another instance fetched the token (this one's cache has none yet, or an expired one): the
  // stored token counts, nothing is fetched.
  cache_.erase({app_.id, 0});
  ASSERT_TRUE(store_->acquire_lease({app_.id, 0}, "other-instance", now, now + minutes(1)));
  RefreshSuccess s;
  s.token = sample_token("component-token-of-another-instance", t0() + hours(2));
  s.next_refresh_at = t0() + hours(1);
  store_->complete_refresh({app_.id, 0}, "other-instance", s);
  ASSERT_EQ(post(ticket_push("ticket@@@3", t0() + minutes(20)), t0() + minutes(20)).body, "success");
  EXPECT_EQ(scheduled_.size(), 1U);
  EXPECT_EQ(cache_.get({app_.id, 0})->access_token, "component-token-of-another-instance");
  // Tokens that expired (the cached one, the stored one) are none.
  put_app_token(t0() + hours(2) + minutes(30));
  ASSERT_EQ(post(ticket_push("ticket@@@4", t0() + hours(3)), t0() + hours(3)).body, "success");
  EXPECT_EQ(scheduled_.size(), 2U);
  // A retried older push is acknowledged and changes nothing.
  const auto told = marked_.size();
  ASSERT_EQ(post(ticket_push("ticket@@@old", t0() + minutes(5)), t0() + hours(3)).body, "success");
  EXPECT_EQ(store_->latest_component_ticket(app_.id)->ticket, "ticket@@@4");
  EXPECT_EQ(marked_.size(), told) << "an older ticket is no news";
}

TEST_F(ComponentReceiver, ANewTicketFetchesAtOnceWhenTheTokenWaitedForOneOrTheTicketWasRefused) {
  int n = 0;
  for (const std::string code : {"waiting_for_ticket", "61005", "61006"}) {
    scheduled_.clear();
    put_app_token(t0() + hours(2));
    fail_app_token(code);
    const auto created = t0() + minutes(10 * ++n);
    ASSERT_EQ(post(ticket_push("ticket@@@" + code, created), created).body, "success");
    ASSERT_EQ(scheduled_.size(), 1U) << code;
    EXPECT_EQ(store_->get_app("platform")->next_refresh_at, created) << code;
  }
  // Another failure (the platform was down) has its own retry time.
  scheduled_.clear();
  fail_app_token("http_503");
  ASSERT_EQ(post(ticket_push("ticket@@@later", t0() + minutes(40)), t0() + minutes(40)).body, "success");
  EXPECT_TRUE(scheduled_.empty());
}

TEST_F(ComponentReceiver, AuthorizationEventsConnectOrUpdateTheAccountsGrant) {
  ASSERT_EQ(post(auth_push(wc::EventType::authorized, "wx-authorizer", "code-1")).body, "success");
  ASSERT_EQ(post(auth_push(wc::EventType::updateauthorized, "wx-authorizer", "code-2")).body, "success");
  ASSERT_EQ(connects_.size(), 2U);
  EXPECT_EQ(connects_[0], (std::pair<std::string, std::string>{"code-1", "grant_connected"}));
  EXPECT_EQ(connects_[1], (std::pair<std::string, std::string>{"code-2", "grant_updated"}));
  ASSERT_EQ(store_->list_grants(app_.id).size(), 1U) << "one grant per authorizer";
}

TEST_F(ComponentReceiver, ACodeTheRedirectSpentIsSuccessOnlyWhenTheAccountsGrantIsFresh) {
  for (const std::string code : {"61009", "61010"}) {
    connect_refusal_ =
        ApiError(502, "platform_error", "code is invalid", {{"platform_code", code}, {"class", "needs_reauth"}});
    // No grant of that account: the code is lost, WeChat should try again (502).
    EXPECT_EQ(post(auth_push(wc::EventType::authorized, "wx-authorizer", "code-x")).status, 502) << code;
  }
  // The redirect stored the grant a moment ago.
  const Grant g =
      store_->upsert_grant(sample_grant(app_.id, "wx-authorizer", "rt"), sample_token("at", t0() + hours(2)));
  const auto now = g.updated_at + seconds(5);
  EXPECT_EQ(post(auth_push(wc::EventType::authorized, "wx-authorizer", "code-x"), now).body, "success");
  // Long ago: not the same authorization.
  EXPECT_EQ(post(auth_push(wc::EventType::authorized, "wx-authorizer", "code-x"), now + minutes(11)).status, 502);
  // Another account's grant does not count.
  EXPECT_EQ(post(auth_push(wc::EventType::authorized, "wx-other", "code-x"), now).status, 502);
}

TEST_F(ComponentReceiver, PlatformFailuresAre502AndDatabaseFailuresAre503NeverSuccess) {
  connect_refusal_ =
      ApiError(502, "platform_error", "system error", {{"platform_code", "-1"}, {"class", "retry_later"}});
  auto a = post(auth_push(wc::EventType::authorized, "wx-authorizer", "code-1"));
  EXPECT_EQ(a.status, 502);
  EXPECT_NE(a.body, "success");
  connect_refusal_.reset();
  connect_failure_ = std::make_exception_ptr(StoreError("connection refused"));
  a = post(auth_push(wc::EventType::authorized, "wx-authorizer", "code-1"));
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.body, "database unavailable");

  // The database away before anything is read: 503 too.
  auto down = make_pg_store("postgresql://127.0.0.1:1/none?connect_timeout=1", 1, test_sealer());
  ComponentEventReceiver offline(
      *down, cache_, {}, kMaxAge,
      [](const auto&, const auto&, const auto&, TimePoint, Seconds) {
        ADD_FAILURE() << "nothing to open without the app";
        return wc::OpenedPush{};
      },
      metrics_);
  a = offline.handle("platform", {}, "<xml/>", t0());
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.body, "database unavailable");
}

TEST_F(ComponentReceiver, UnauthorizedRevokesTheGrantDropsItsTokenAndStopsItsRefreshes) {
  const Grant g =
      store_->upsert_grant(sample_grant(app_.id, "wx-gone", "rt"), sample_token("at-gone", t0() + hours(2)));
  const RefreshKey key{app_.id, g.id};
  cache_.put(*store_->get_token(key));
  ASSERT_EQ(post(auth_push(wc::EventType::unauthorized, "wx-gone")).body, "success");
  EXPECT_EQ(store_->get_grant(g.id)->status, GrantStatus::revoked);
  EXPECT_FALSE(cache_.get(key));
  ASSERT_EQ(cancelled_.size(), 1U);
  EXPECT_EQ(cancelled_[0], key);
  const auto revoked = events("grant_revoked");
  ASSERT_EQ(revoked.size(), 1U);
  EXPECT_EQ(revoked[0].grant_id, std::optional<std::int64_t>(g.id));
  EXPECT_EQ(revoked[0].detail["reason"], "the account withdrew its authorization");

  // Again (WeChat retried), or an account never connected: nothing to do, still success.
  EXPECT_EQ(post(auth_push(wc::EventType::unauthorized, "wx-gone")).body, "success");
  EXPECT_EQ(post(auth_push(wc::EventType::unauthorized, "wx-never")).body, "success");
  EXPECT_EQ(cancelled_.size(), 1U);
  EXPECT_EQ(events("grant_revoked").size(), 1U);
}

TEST_F(ComponentReceiver, OtherInfoTypesAreAcknowledgedAndCounted) {
  const double before = pushes_counted("other");
  auto p = opened(wc::EventType::other);
  p.event.info_type = "notify_third_fasteregister";
  EXPECT_EQ(post(p).body, "success");
  EXPECT_EQ(pushes_counted("other") - before, 1);
  ASSERT_EQ(events("component_event_ignored").size(), 1U);
  EXPECT_EQ(events("component_event_ignored")[0].detail["info_type"], "notify_third_fasteregister");
}

TEST_F(ComponentReceiver, ARealPushOpensWithTheAppsSealedKeysAndTheCurrentOrPreviousEncodingAesKey) {
  const App real = store_->create_app(component_app("real"));
  ComponentEventReceiver receiver(*store_, cache_, {}, kMaxAge, &wc::open_component_push, metrics_);
  const auto now = from_unix(1'900'000'000);
  const auto push = [&](const std::string& ticket, std::int64_t created, const std::string& aes_key,
                        const std::string& token) {
    const std::string inner = "<xml><AppId><![CDATA[" + real.client_id + "]]></AppId><CreateTime>" +
                              std::to_string(created) +
                              "</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType>"
                              "<ComponentVerifyTicket><![CDATA[" +
                              ticket + "]]></ComponentVerifyTicket></xml>";
    const std::string enc = wxcrypt::encrypt(*wxcrypt::aes_key(aes_key), inner, real.client_id);
    const std::string ts = std::to_string(to_unix(now));
    const std::map<std::string, std::string> query = {
        {"timestamp", ts},
        {"nonce", "2718281828"},
        {"encrypt_type", "aes"},
        {"msg_signature", wxcrypt::signature(token, ts, "2718281828", enc)}};
    return receiver.handle("real", query, wc::push_envelope(real.client_id, enc), now);
  };
  const auto created = to_unix(now) - 2;
  auto a = push("ticket@@@current", created, std::string(43, 'a'), "msgtoken-real");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "success");
  EXPECT_EQ(store_->latest_component_ticket(real.id)->ticket, "ticket@@@current");
  // During a key rotation WeChat may still encrypt with the previous EncodingAESKey.
  a = push("ticket@@@previous-key", created + 1, std::string(43, 'b'), "msgtoken-real");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(store_->latest_component_ticket(real.id)->ticket, "ticket@@@previous-key");
  // Signed with another message token: refused, nothing stored.
  a = push("ticket@@@forged", created + 2, std::string(43, 'a'), "msgtoken-platform");
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.body, "refused: bad_signature");
  EXPECT_EQ(store_->latest_component_ticket(real.id)->ticket, "ticket@@@previous-key");
}

TEST_F(ComponentReceiver, ThePreviousKeyOpensPushesAfterAKeyChangeUntilItIsDropped) {
  App a = component_app("rotating");
  a.secret_options.erase("previous_encoding_aes_key");
  const App real = store_->create_app(a);
  ComponentEventReceiver receiver(*store_, cache_, {}, kMaxAge, &wc::open_component_push, metrics_);
  const auto now = from_unix(1'900'000'000);
  std::int64_t created = to_unix(now) - 30;
  const auto push = [&](const std::string& aes_key) {
    const std::int64_t at = ++created;
    const std::string inner = "<xml><AppId><![CDATA[" + real.client_id + "]]></AppId><CreateTime>" +
                              std::to_string(at) +
                              "</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType>"
                              "<ComponentVerifyTicket><![CDATA[ticket@@@" +
                              std::to_string(at) + "]]></ComponentVerifyTicket></xml>";
    const std::string enc = wxcrypt::encrypt(*wxcrypt::aes_key(aes_key), inner, real.client_id);
    const std::string ts = std::to_string(to_unix(now));
    const std::map<std::string, std::string> query = {
        {"timestamp", ts},
        {"nonce", "31415"},
        {"encrypt_type", "aes"},
        {"msg_signature", wxcrypt::signature("msgtoken-rotating", ts, "31415", enc)}};
    return receiver.handle("rotating", query, wc::push_envelope(real.client_id, enc), now).status;
  };
  // What PUT /v1/apps/rotating/secrets stores (service/app_secrets.hpp's rule, the store's UPDATE).
  const auto change = [&](const nlohmann::json& body) {
    App stored = *store_->get_app("rotating", true);
    apply_app_secrets(stored, app_secrets_change_from_request(body));
    store_->update_app_secrets(real.id, std::nullopt, stored.secret_options, std::nullopt);
  };
  const std::string old_key(43, 'a'), new_key(43, 'n');
  ASSERT_EQ(push(old_key), 200);
  EXPECT_EQ(push(new_key), 403) << "not the app's key yet";

  change({{"options", {{"encoding_aes_key", new_key}}}});
  EXPECT_EQ(push(old_key), 200) << "WeChat may still push with the previous key";
  EXPECT_EQ(push(new_key), 200);

  change({{"options", {{"previous_encoding_aes_key", nullptr}}}});
  EXPECT_EQ(push(old_key), 403) << "refused once the previous key is dropped";
  EXPECT_EQ(push(new_key), 200);
}

}  // namespace
}  // namespace mediax::test
