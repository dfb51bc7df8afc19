#include "admin_services_fixture.hpp"

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "obs/metrics.hpp"
#include "platforms/registry.hpp"
#include "schedule/scheduler.hpp"
#include "service/apps.hpp"
#include "service/connect_flow.hpp"
#include "service/grants.hpp"
#include "service/new_grant_store.hpp"
#include "service/token_reads.hpp"
#include "store/store.hpp"
#include "support/fake_resolver.hpp"

namespace mediax::test {

namespace {

class NoHttp final : public HttpClient {
 public:
  HttpClientResponse send(const HttpClientRequest&) override {
    HttpClientResponse r;
    r.error = "connection";
    return r;
  }
};

class Plain final : public Platform {
 public:
  std::string name() const override { return "plain"; }
  AppCheck prepare_app(App&) override { return {}; }
  bool uses_pkce(const App&) const override { return true; }
  std::string authorize_url(const App&, const AuthorizeParams& p) const override {
    return "https://idp.example/authorize?state=" + p.state;
  }
  Outcome exchange_code(const App&, const std::string&, const std::string&, const std::string&) override {
    TokenResult t;
    t.access_token = "plain-access";
    t.expires_in = Seconds(7200);
    t.account_id = "alice";
    t.scopes = {"read"};
    t.refresh_token = "plain-refresh";
    return Outcome::success(t);
  }
  Outcome refresh(const App&, const Grant&) override { return Outcome::failure(OutcomeKind::retry_later, "x", ""); }
  Outcome client_token(const App&, const AppTokenCall&) override {
    return Outcome::failure(OutcomeKind::retry_later, "x", "");
  }
  Outcome revoke(const App&, const Grant&) override { return Outcome::success({}); }
};

}  // namespace

struct AdminServicesForTest::Impl {
  explicit Impl(Store& store) {
    registry.add(std::make_unique<Plain>());
    refresh_cfg.jitter_seconds = 0;
    policy = std::make_unique<RefreshPolicy>(refresh_cfg);
    refresher =
        std::make_unique<Refresher>(store, store, store, registry, cache, *policy, clock, "instance-a", metrics);
    // Never run: what the services schedule just sits in the wheel.
    scheduler = std::make_unique<Scheduler>(io, *refresher, clock, 1, metrics);
    reads = std::make_unique<TokenReads>(store, cache, *refresher, clock);
    apps = std::make_unique<Apps>(store, store, store, store, registry, cache, *reads, *scheduler, config, clock, outbound);
    new_grants = std::make_unique<NewGrantStore>(store, store, cache, *scheduler, *policy, clock);
    grants = std::make_unique<Grants>(store, store, registry, cache, *scheduler, *apps, *new_grants, clock);
    connect = std::make_unique<ConnectFlow>(store, store, registry, *grants, *new_grants, config, clock);
  }

  RealTimeSource clock;
  NoHttp http;
  PlatformRegistry registry{http, PlatformSettings{}};
  RefreshConfig refresh_cfg;
  std::unique_ptr<RefreshPolicy> policy;
  TokenCache cache;
  metrics::Registry metrics;
  std::unique_ptr<Refresher> refresher;
  boost::asio::io_context io;
  std::unique_ptr<Scheduler> scheduler;
  Config config;
  // Every name resolves to a public address; the tests' loopback is allowed, as in the e2e config.
  test::FakeResolver resolver{{"93.184.215.14"}};
  OutboundGuard outbound{test::policy_allowing({"127.0.0.0/8", "::1/128"}), resolver};
  std::unique_ptr<TokenReads> reads;
  std::unique_ptr<Apps> apps;
  std::unique_ptr<NewGrantStore> new_grants;
  std::unique_ptr<Grants> grants;
  std::unique_ptr<ConnectFlow> connect;
};

AdminServicesForTest::AdminServicesForTest(Store& store) : impl_(std::make_unique<Impl>(store)) {}
AdminServicesForTest::~AdminServicesForTest() = default;

AdminServices AdminServicesForTest::services() {
  return AdminServices{*impl_->apps, *impl_->connect, *impl_->grants, *impl_->reads};
}

}  // namespace mediax::test
