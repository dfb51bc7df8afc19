// PgStore: webhooks and their outbox. The secret is sealed at rest; a failed refresh that stops a
// grant queues its event in the same transaction; claiming leases each event to one sender, also
// with several stores (instances) racing; webhooks::Sender records delivered / retry / given up.
#include <deque>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "obs/metrics.hpp"
#include "pg_env.hpp"
#include "support/manual_time_source.hpp"
#include "service/webhooks.hpp"
#include "support/fake_resolver.hpp"

namespace mediax::test {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const std::string kSecret = "whsec-integration-0123456789";

class StoreWebhooks : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    app_ = store_->create_app(sample_app("hooked"));
    store_->set_webhook(app_.id, "https://hooks.example/mediax", kSecret);
  }

  std::int64_t enqueue(const std::string& event = "grant.needs_reauth") {
    auto id = store_->enqueue_webhook(app_.id, event, {{"event", event}, {"app", app_.name}});
    EXPECT_TRUE(id);
    return id.value_or(0);
  }

  std::string raw(const std::string& sql) {
    pqxx::connection c(url_);
    pqxx::work tx(c);
    auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? "" : r[0][0].as<std::string>();
  }

  App app_;
};

TEST_F(StoreWebhooks, SecretIsSealedAtRestAndOnlyReadWhenAskedFor) {
  const auto without = store_->get_webhook(app_.id);
  ASSERT_TRUE(without);
  EXPECT_EQ(without->url, "https://hooks.example/mediax");
  EXPECT_EQ(without->secret, "");
  EXPECT_EQ(store_->get_webhook(app_.id, true)->secret, kSecret);
  const std::string stored = raw("SELECT secret FROM mediax.webhooks");
  EXPECT_EQ(stored.find(kSecret), std::string::npos);
  EXPECT_EQ(stored.rfind("v1:", 0), 0u) << "sealed like the other secrets";

  store_->set_webhook(app_.id, "http://other.example/h", "another-secret-0123");
  EXPECT_EQ(store_->get_webhook(app_.id)->url, "http://other.example/h");
  EXPECT_EQ(store_->get_webhook(app_.id, true)->secret, "another-secret-0123");
  EXPECT_TRUE(store_->delete_webhook(app_.id));
  EXPECT_FALSE(store_->get_webhook(app_.id));
  EXPECT_FALSE(store_->delete_webhook(app_.id));
}

TEST_F(StoreWebhooks, EventsAreOnlyQueuedForAppsWithAWebhook) {
  const auto other = store_->create_app(sample_app("plain"));
  EXPECT_FALSE(store_->enqueue_webhook(other.id, "app.misconfigured", {{"event", "app.misconfigured"}}));
  EXPECT_TRUE(store_->enqueue_webhook(app_.id, "app.misconfigured", {{"event", "app.misconfigured"}}));
  EXPECT_TRUE(store_->list_webhook_deliveries(other.id, 10).empty());
  ASSERT_EQ(store_->list_webhook_deliveries(app_.id, 10).size(), 1u);
}

TEST_F(StoreWebhooks, ClaimLeasesTheEventCountsTheAttemptAndCarriesUrlAndSecret) {
  const auto id = enqueue();
  const auto now = SysClock::now();
  const auto claimed = store_->claim_webhook_deliveries("a", now, now + minutes(1), 10);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, id);
  EXPECT_EQ(claimed[0].attempts, 1);
  EXPECT_EQ(claimed[0].url, "https://hooks.example/mediax");
  EXPECT_EQ(claimed[0].secret, kSecret);
  EXPECT_EQ(claimed[0].payload.value("app", ""), "hooked");
  // Leased: nobody else gets it until the lease runs out.
  EXPECT_TRUE(store_->claim_webhook_deliveries("b", now, now + minutes(1), 10).empty());
  const auto due = store_->next_webhook_due();
  ASSERT_TRUE(due);
  EXPECT_GE(*due, now + seconds(59));
  // The holder died: after the lease, another sender takes it (a second attempt), and the late
  // holder can no longer record its result.
  const auto later = store_->claim_webhook_deliveries("b", now + minutes(2), now + minutes(3), 10);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].attempts, 2);
  EXPECT_FALSE(store_->finish_webhook_delivery(id, "a", now, "", std::nullopt));
  EXPECT_TRUE(store_->finish_webhook_delivery(id, "b", now + minutes(2), "", std::nullopt));
}

TEST_F(StoreWebhooks, TwoInstancesClaimingAtOnceSendEachEventOnce) {
  constexpr int kEvents = 40;
  std::set<std::int64_t> queued;
  for (int i = 0; i < kEvents; ++i) queued.insert(enqueue());
  auto second = make_pg_store(url_, 4, test_sealer());
  std::vector<Store*> stores{store_.get(), second.get(), store_.get(), second.get()};
  std::latch start(static_cast<std::ptrdiff_t>(stores.size()));
  std::mutex mu;
  std::vector<std::int64_t> claimed;
  std::vector<std::thread> threads;
  const auto now = SysClock::now();
  for (std::size_t i = 0; i < stores.size(); ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      const std::string owner = "instance-" + std::to_string(i);
      for (;;) {
        auto batch = stores[i]->claim_webhook_deliveries(owner, now, now + minutes(5), 3);
        if (batch.empty()) break;
        for (const auto& d : batch) {
          EXPECT_TRUE(stores[i]->finish_webhook_delivery(d.id, owner, now, "", std::nullopt));
          std::lock_guard lk(mu);
          claimed.push_back(d.id);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.size(), queued.size()) << "an event was claimed twice or not at all";
  EXPECT_EQ(std::set<std::int64_t>(claimed.begin(), claimed.end()), queued);
  EXPECT_FALSE(store_->next_webhook_due());
  EXPECT_EQ(raw("SELECT count(*) FROM mediax.webhook_deliveries WHERE delivered_at IS NOT NULL AND attempts = 1"),
            std::to_string(kEvents));
}

TEST_F(StoreWebhooks, FinishRecordsDeliveredRetryAndGivenUp) {
  const auto a = enqueue(), b = enqueue(), c = enqueue();
  const auto now = SysClock::now();
  ASSERT_EQ(store_->claim_webhook_deliveries("w", now, now + minutes(1), 10).size(), 3u);
  EXPECT_TRUE(store_->finish_webhook_delivery(a, "w", now, "", std::nullopt));
  EXPECT_TRUE(store_->finish_webhook_delivery(b, "w", now, "http_500", now + seconds(30)));
  EXPECT_TRUE(store_->finish_webhook_delivery(c, "w", now, "timeout", std::nullopt));
  std::map<std::int64_t, WebhookDelivery> by_id;
  for (const auto& d : store_->list_webhook_deliveries(app_.id, 10)) by_id[d.id] = d;
  EXPECT_TRUE(by_id[a].delivered_at);
  EXPECT_FALSE(by_id[a].next_attempt_at);
  EXPECT_FALSE(by_id[b].delivered_at);
  ASSERT_TRUE(by_id[b].next_attempt_at);
  EXPECT_EQ(by_id[b].last_error, "http_500");
  EXPECT_TRUE(by_id[c].failed_at);
  EXPECT_FALSE(by_id[c].next_attempt_at);
  EXPECT_EQ(by_id[c].last_error, "timeout");
  // Only the retry is still due, at its time.
  EXPECT_TRUE(store_->claim_webhook_deliveries("w", now + seconds(29), now + minutes(2), 10).empty());
  const auto retry = store_->claim_webhook_deliveries("w", now + seconds(31), now + minutes(2), 10);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].id, b);
  EXPECT_EQ(retry[0].attempts, 2);
}

TEST_F(StoreWebhooks, RemovingTheWebhookDropsUndeliveredEventsAndKeepsHistory) {
  const auto done = enqueue();
  const auto now = SysClock::now();
  ASSERT_EQ(store_->claim_webhook_deliveries("w", now, now + minutes(1), 1).size(), 1u);
  ASSERT_TRUE(store_->finish_webhook_delivery(done, "w", now, "", std::nullopt));
  enqueue();
  ASSERT_TRUE(store_->delete_webhook(app_.id));
  const auto left = store_->list_webhook_deliveries(app_.id, 10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, done);
  EXPECT_FALSE(store_->next_webhook_due());
}

TEST_F(StoreWebhooks, ARefreshThatStopsAGrantQueuesItsEventInTheSameTransaction) {
  const auto g = store_->upsert_grant(sample_grant(app_.id, "alice", "rt-1"), sample_token("at-1", t0()));
  const RefreshKey key{app_.id, g.id};
  // A transient failure queues nothing.
  ASSERT_TRUE(store_->acquire_lease(key, "w", t0(), t0() + minutes(1)));
  RefreshFailure transient;
  transient.kind = OutcomeKind::retry_later;
  transient.code = "http_503";
  transient.next_refresh_at = t0() + minutes(1);
  store_->fail_refresh(key, "w", transient);
  EXPECT_TRUE(store_->list_webhook_deliveries(app_.id, 10).empty());

  ASSERT_TRUE(store_->acquire_lease(key, "w", t0() + minutes(2), t0() + minutes(3)));
  RefreshFailure stop;
  stop.kind = OutcomeKind::needs_reauth;
  stop.code = "invalid_grant";
  stop.message = "refresh token revoked";
  stop.new_status = GrantStatus::needs_reauth;
  store_->fail_refresh(key, "w", stop);
  const auto events = store_->list_webhook_deliveries(app_.id, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "grant.needs_reauth");
  const auto& p = events[0].payload;
  EXPECT_EQ(p.value("event", ""), "grant.needs_reauth");
  EXPECT_EQ(p.value("app", ""), "hooked");
  EXPECT_EQ(p.value("grant_id", 0), g.id);
  EXPECT_EQ(p.value("account_id", ""), "alice");
  EXPECT_EQ(p.value("reason", ""), "invalid_grant");
  EXPECT_TRUE(parse_time(p.value("at", ""))) << p.dump();
  EXPECT_EQ(p.dump().find("rt-1"), std::string::npos);
  EXPECT_EQ(p.dump().find("at-1"), std::string::npos);

  // A failure whose lease was lost is refused, and its event with it.
  EXPECT_THROW(store_->fail_refresh(key, "w", stop), StoreError);
  EXPECT_EQ(store_->list_webhook_deliveries(app_.id, 10).size(), 1u);
}

TEST_F(StoreWebhooks, AnAppTokenRefusedForBadCredentialsQueuesAppMisconfigured) {
  auto cc = sample_app("cc", true);
  cc = store_->create_app(cc);
  store_->set_webhook(cc.id, "https://hooks.example/cc", kSecret);
  const RefreshKey key{cc.id, 0};
  ASSERT_TRUE(store_->acquire_lease(key, "w", t0(), t0() + minutes(1)));
  RefreshFailure f;
  f.kind = OutcomeKind::app_misconfigured;
  f.code = "invalid_client";
  f.new_status = GrantStatus::needs_reauth;
  store_->fail_refresh(key, "w", f);
  const auto events = store_->list_webhook_deliveries(cc.id, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "app.misconfigured");
  EXPECT_EQ(events[0].payload.value("app", ""), "cc");
  EXPECT_EQ(events[0].payload.value("reason", ""), "invalid_client");
  EXPECT_FALSE(events[0].payload.contains("grant_id"));
}

// The network as a script: answers in order; records what was sent.
class ScriptedHttp : public HttpClient {
 public:
  explicit ScriptedHttp(std::deque<int> statuses) : statuses_(std::move(statuses)) {}
  HttpClientResponse send(const HttpClientRequest& req) override {
    sent.push_back(req);
    HttpClientResponse r;
    if (statuses_.empty() || statuses_.front() == 0) {
      r.error = "connection";
    } else {
      r.status = statuses_.front();
    }
    if (!statuses_.empty()) statuses_.pop_front();
    return r;
  }
  std::vector<HttpClientRequest> sent;

 private:
  std::deque<int> statuses_;
};

TEST_F(StoreWebhooks, SenderRetriesFailedAttemptsAndRecordsTheDelivery) {
  const auto id = enqueue();
  ScriptedHttp http({500, 0, 204});
  ManualTimeSource clock(SysClock::now());
  WebhookConfig cfg;
  cfg.max_attempts = 5;
  cfg.retry_min_seconds = 10;
  cfg.retry_max_seconds = 100;
  metrics::Registry metrics;
  webhooks::Sender sender(*store_, http, clock, cfg, "sender", metrics);
  EXPECT_EQ(sender.run_once(), 1);
  EXPECT_EQ(sender.run_once(), 0) << "not due again before its retry time";
  clock.advance(std::chrono::milliseconds(10'001));
  EXPECT_EQ(sender.run_once(), 1);
  clock.advance(std::chrono::milliseconds(20'001));
  EXPECT_EQ(sender.run_once(), 1);
  ASSERT_EQ(http.sent.size(), 3u);
  for (const auto& req : http.sent) {
    EXPECT_EQ(req.url, "https://hooks.example/mediax");
    EXPECT_EQ(req.body, http.sent[0].body) << "the same body every attempt";
  }
  const auto d = store_->list_webhook_deliveries(app_.id, 1).at(0);
  EXPECT_EQ(d.id, id);
  EXPECT_TRUE(d.delivered_at);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_FALSE(store_->next_webhook_due());
}

TEST_F(StoreWebhooks, SenderGivesUpAfterMaxAttempts) {
  enqueue();
  ScriptedHttp http({503, 503, 503, 503});
  ManualTimeSource clock(SysClock::now());
  WebhookConfig cfg;
  cfg.max_attempts = 3;
  cfg.retry_min_seconds = 1;
  cfg.retry_max_seconds = 1;
  metrics::Registry metrics;
  webhooks::Sender sender(*store_, http, clock, cfg, "sender", metrics);
  for (int i = 0; i < 5; ++i) {
    sender.run_once();
    clock.advance(std::chrono::milliseconds(1'001));
  }
  EXPECT_EQ(http.sent.size(), 3u);
  const auto d = store_->list_webhook_deliveries(app_.id, 1).at(0);
  EXPECT_TRUE(d.failed_at);
  EXPECT_FALSE(d.delivered_at);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.last_error, "http_503");
}

// The real client with an outbound guard: hooks.example resolves to a private address nobody
// allowed. The delivery fails at the first attempt with the reason, and is not retried.
TEST_F(StoreWebhooks, SenderGivesUpAtOnceWhenTheAddressIsRefused) {
  enqueue();
  FakeResolver resolver;
  resolver.answer("hooks.example", {{"10.0.0.7"}});
  OutboundGuard guard(policy_allowing({"127.0.0.0/8"}), resolver);
  HttpClientOptions opts;
  opts.outbound = &guard;
  auto http = make_http_client(opts);
  ManualTimeSource clock(SysClock::now());
  WebhookConfig cfg;
  cfg.max_attempts = 5;
  cfg.retry_min_seconds = 1;
  metrics::Registry metrics;
  webhooks::Sender sender(*store_, *http, clock, cfg, "sender", metrics);
  EXPECT_EQ(sender.run_once(), 1);
  clock.advance(std::chrono::seconds(10));
  EXPECT_EQ(sender.run_once(), 0) << "given up: nothing is due again";
  const auto d = store_->list_webhook_deliveries(app_.id, 1).at(0);
  EXPECT_TRUE(d.failed_at);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_error,
            "address_not_allowed: hooks.example (10.0.0.7) is private (10.0.0.0/8), which "
            "security.allowed_private_networks does not list");
  EXPECT_EQ(resolver.lookups("hooks.example"), 1);
  EXPECT_FALSE(store_->next_webhook_due());
}

}  // namespace
}  // namespace mediax::test
