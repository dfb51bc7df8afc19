// Outbound calls only where they belong (issue 21): the daemon's HTTP client connects to the
// address its guard checked (a name the system cannot resolve reaches an in-test server through
// the pin; TLS still checks the name), a name that rebinds between two calls is checked again,
// the admin API refuses URLs to private addresses at once (400), and a daemon whose config does
// not allow loopback makes no connection to a loopback token endpoint or webhook receiver.
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <pqxx/pqxx>
#include <thread>

#include "harness.hpp"
#include "net/http_client.hpp"
#include "net/outbound_guard.hpp"
#include "support/fake_resolver.hpp"
#include "support/self_signed_cert.hpp"

namespace mediax::e2e {
namespace {

// An in-test server on 127.0.0.1 that records the Host header of each request.
class HostEcho {
 public:
  explicit HostEcho(httplib::Server& server) : server_(server) {
    server_.Get("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      res.set_content(req.get_header_value("Host"), "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HostEcho() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  httplib::Server& server_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

HttpClientOptions guarded(const OutboundGuard& guard) {
  HttpClientOptions o;
  o.connect_timeout = 2000ms;
  o.read_timeout = 2000ms;
  o.total_timeout = 3000ms;
  o.outbound = &guard;
  return o;
}

HttpClientRequest get(const std::string& url) {
  HttpClientRequest r;
  r.url = url;
  return r;
}

// ".invalid" never resolves (RFC 6761): only the pinned address can take the call there.
TEST(OutboundPinning, TheClientConnectsToTheCheckedAddressUnderTheName) {
  httplib::Server server;
  HostEcho echo(server);
  test::FakeResolver resolver;
  resolver.answer("api.pinned.invalid", {{"127.0.0.1"}});
  OutboundGuard guard(test::policy_allowing({"127.0.0.0/8"}), resolver);
  auto client = make_http_client(guarded(guard));

  const auto r = client->send(get("http://api.pinned.invalid:" + std::to_string(echo.port()) + "/echo"));
  ASSERT_EQ(r.status, 200) << r.error << " " << r.error_detail;
  EXPECT_EQ(r.body, "api.pinned.invalid:" + std::to_string(echo.port())) << "the name, not the address, in Host";
  EXPECT_EQ(resolver.lookups("api.pinned.invalid"), 1);

  // Without the guard the client resolves the name itself, and cannot.
  auto unguarded = make_http_client({});
  EXPECT_EQ(unguarded->send(get("http://api.pinned.invalid:" + std::to_string(echo.port()) + "/echo")).status, 0);
}

// DNS rebinding: the first lookup answers an allowed address, the next one a private one. The
// first call goes to the checked address; the second is refused and never reaches any server.
TEST(OutboundPinning, ANameThatRebindsIsCheckedAgainAndRefused) {
  httplib::Server server;
  HostEcho echo(server);
  test::FakeResolver resolver;
  resolver.answer("rebind.pinned.invalid", {{"127.0.0.1"}, {"10.0.0.1"}});
  OutboundGuard guard(test::policy_allowing({"127.0.0.0/8"}), resolver);
  auto client = make_http_client(guarded(guard));  // no keep-alive: every call connects anew
  const std::string url = "http://rebind.pinned.invalid:" + std::to_string(echo.port()) + "/echo";

  const auto first = client->send(get(url));
  EXPECT_EQ(first.status, 200) << first.error << " " << first.error_detail;
  const auto second = client->send(get(url));
  EXPECT_EQ(second.status, 0);
  EXPECT_EQ(second.error, kAddressNotAllowed);
  EXPECT_NE(second.error_detail.find("rebind.pinned.invalid (10.0.0.1) is private (10.0.0.0/8)"), std::string::npos)
      << second.error_detail;
  EXPECT_EQ(echo.requests(), 1);
  EXPECT_EQ(resolver.lookups("rebind.pinned.invalid"), 2);
}

// The pin changes where the socket goes, not whom TLS trusts: the certificate must still name
// the host of the URL.
TEST(OutboundPinning, TlsStillVerifiesTheHostName) {
  const auto made = test::make_self_signed_cert(test::make_temp_dir("mediax-e2e-pin-tls"), "tls.pinned.invalid",
                                                "DNS:tls.pinned.invalid");
  ASSERT_EQ(made.error, "");
  const std::string &cert = made.cert, &key = made.key;
  httplib::SSLServer server(cert.c_str(), key.c_str());
  ASSERT_TRUE(server.is_valid());
  HostEcho echo(server);
  test::FakeResolver resolver;
  resolver.answer("tls.pinned.invalid", {{"127.0.0.1"}});
  resolver.answer("other.pinned.invalid", {{"127.0.0.1"}});
  OutboundGuard guard(test::policy_allowing({"127.0.0.0/8"}), resolver);
  auto o = guarded(guard);
  o.ca_file = cert;
  auto client = make_http_client(o);

  const auto ok = client->send(get("https://tls.pinned.invalid:" + std::to_string(echo.port()) + "/echo"));
  EXPECT_EQ(ok.status, 200) << ok.error << " " << ok.error_detail;
  const auto wrong = client->send(get("https://other.pinned.invalid:" + std::to_string(echo.port()) + "/echo"));
  EXPECT_EQ(wrong.status, 0);
  EXPECT_EQ(wrong.error, "tls") << "the certificate does not name other.pinned.invalid";
  EXPECT_EQ(echo.requests(), 1);
  std::filesystem::remove_all(std::filesystem::path(cert).parent_path());
}

// Counts the TCP connections made to it (accepted and closed at once): proof that none were.
class ConnectionCounter {
 public:
  ConnectionCounter() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
          const int c = ::accept(fd_, nullptr, nullptr);
          if (c >= 0) {
            ++connections_;
            ::close(c);
          }
        }
      }
    });
  }
  ~ConnectionCounter() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int connections() const { return connections_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

class OutboundRefusals : public E2ETest {
 protected:
  std::string prepare_daemon_config() override { return "[webhook]\nretry_min_seconds = 1\npoll_seconds = 1\n"; }

  json webhook_state(Daemon& d, const std::string& app) {
    auto r = d.get("/v1/apps/" + app + "/webhook");
    require(r.status == 200, "GET webhook: " + r.describe());
    return r.json();
  }
  // The first delivery once it has failed for good; null when it does not within 15 s.
  json failed_delivery(Daemon& d, const std::string& app) {
    json found;
    eventually(
        [&] {
          const auto deliveries = webhook_state(d, app)["deliveries"];
          if (deliveries.empty() || deliveries[0].value("state", "") != "failed") return false;
          found = deliveries[0];
          return true;
        },
        15s);
    return found;
  }
};

void expect_refused(const HttpResult& r, const std::string& field, const std::string& says) {
  EXPECT_EQ(r.status, 400) << r.describe();
  const json j = r.json();
  EXPECT_EQ(j.value("error", ""), "address_not_allowed") << r.describe();
  EXPECT_EQ(j.value("field", ""), field) << r.describe();
  EXPECT_NE(j.value("message", "").find(says), std::string::npos) << r.describe();
}

TEST_F(OutboundRefusals, UrlsToPrivateAddressesAreRefusedWhenRegistered) {
  FakeOAuth2& fake = start_fake({});
  json app{{"name", "guarded"},
           {"platform", "oauth2"},
           {"client_id", "cid-guarded"},
           {"client_secret", "csec-guarded-0123456789"},
           {"endpoints", {{"authorize_url", fake.issuer() + "/authorize"}, {"token_url", fake.issuer() + "/token"}}},
           {"webhook",
            {{"url", "http://169.254.169.254/latest/meta-data/iam?token=tok-0123456789"},
             {"secret", "whsec-0123456789abcdef"}}}};
  remember_secret("csec-guarded-0123456789");
  remember_secret("whsec-0123456789abcdef");
  auto r = daemon().post("/v1/apps", app);
  expect_refused(r, "webhook.url", "169.254.169.254 is link-local (169.254.0.0/16)");
  EXPECT_EQ(r.body.find("meta-data"), std::string::npos) << "never the path or query";
  EXPECT_EQ(r.body.find("tok-0123456789"), std::string::npos);
  EXPECT_EQ(daemon().get("/v1/apps/guarded").status, 404) << "nothing was registered";

  json bad_token = app;
  bad_token.erase("webhook");
  bad_token["endpoints"]["token_url"] = "https://10.1.2.3/token";
  expect_refused(daemon().post("/v1/apps", bad_token), "endpoints.token_url", "10.1.2.3 is private (10.0.0.0/8)");
  json bad_revoke = app;
  bad_revoke.erase("webhook");
  bad_revoke["endpoints"]["revocation_url"] = "http://[fd00::1]/revoke";
  expect_refused(daemon().post("/v1/apps", bad_revoke), "endpoints.revocation_url", "unique-local");
  json bad_issuer = app;
  bad_issuer.erase("webhook");
  bad_issuer.erase("endpoints");
  bad_issuer["issuer"] = "http://192.168.0.10";
  expect_refused(daemon().post("/v1/apps", bad_issuer), "issuer", "192.168.0.10 is private (192.168.0.0/16)");

  // Loopback is allowed in the e2e config: the same app with a webhook on loopback registers.
  app["webhook"]["url"] = "http://127.0.0.1:9/hook";
  ASSERT_EQ(daemon().post("/v1/apps", app).status, 201);
  auto put = [&](const std::string& url) {
    return daemon().request("PUT", "/v1/apps/guarded/webhook", daemon().api_key(),
                            json{{"url", url}, {"secret", "whsec-0123456789abcdef"}}.dump(), "application/json");
  };
  expect_refused(put("http://169.254.169.254/latest/meta-data/"), "url", "link-local");
  expect_refused(put("http://[::ffff:169.254.169.254]/"), "url", "link-local");
  expect_refused(put("https://100.64.0.1/hook"), "url", "carrier-grade NAT");
  expect_refused(put("http://93.184.215.14/hook"), "url", "use https://");
  EXPECT_EQ(webhook_state(daemon(), "guarded").value("url", ""), "http://127.0.0.1:9/hook") << "unchanged";
}

// A webhook URL changed behind the API's back (SQL) to the metadata address: the delivery fails
// at once, without retries, saying why; no connection is attempted (that would be "connection"
// or "timeout").
TEST_F(OutboundRefusals, AWebhookPointedAtCloudMetadataInTheDatabaseIsNotCalled) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "meta", "client_secret_post");
  ConnectionCounter receiver;
  auto r = daemon().request("PUT", "/v1/apps/meta/webhook", daemon().api_key(),
                            json{{"url", receiver.url("/hook")}, {"secret", "whsec-meta-0123456789"}}.dump(),
                            "application/json");
  remember_secret("whsec-meta-0123456789");
  ASSERT_EQ(r.status, 200) << r.describe();
  const std::int64_t grant_id = connect("meta", "mona");
  {
    pqxx::connection c(daemon().db_url());
    pqxx::work tx(c);
    tx.exec("UPDATE mediax.webhooks SET url = 'http://169.254.169.254/latest/meta-data/'");
    tx.commit();
  }
  fake.fail({{"mode", "invalid_grant"}, {"count", 1}, {"grant_type", "refresh_token"}});
  EXPECT_EQ(daemon().post("/v1/grants/" + std::to_string(grant_id) + "/refresh").status, 502);

  const json d = failed_delivery(daemon(), "meta");
  ASSERT_FALSE(d.is_null()) << webhook_state(daemon(), "meta").dump(2);
  EXPECT_EQ(d.value("event", ""), "grant.needs_reauth");
  EXPECT_EQ(d.value("attempts", 0), 1) << "not retried: it cannot succeed";
  EXPECT_EQ(d.value("last_error", ""),
            "address_not_allowed: 169.254.169.254 is link-local (169.254.0.0/16), which "
            "security.allowed_private_networks does not list");
  EXPECT_EQ(receiver.connections(), 0);
}

// The same database served by a daemon whose config lists no private network: its loopback
// token endpoint and webhook receiver are refused before any connection; the refresh fails as
// the app's configuration (app.misconfigured), not as an outage to retry.
TEST_F(OutboundRefusals, WithoutLoopbackAllowedNoConnectionIsMadeToTokenEndpointOrWebhook) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "local", "client_secret_post");
  ConnectionCounter receiver;
  auto r = daemon().request("PUT", "/v1/apps/local/webhook", daemon().api_key(),
                            json{{"url", receiver.url("/hook")}, {"secret", "whsec-local-0123456789"}}.dump(),
                            "application/json");
  remember_secret("whsec-local-0123456789");
  ASSERT_EQ(r.status, 200) << r.describe();
  const std::int64_t grant_id = connect("local", "lena");
  const std::string db = daemon().db_url();
  daemon().stop();
  const auto refreshes = fake.refreshes_of("lena");
  const int connections = receiver.connections();

  const std::string dir = dir_ + "/strict";
  std::filesystem::create_directories(dir);
  Daemon strict(db, dir,
                "[security]\nkey_file = \"" + seal_key_file_for(db, dir_) +
                    "\"\nallowed_private_networks = []\n\n[webhook]\nretry_min_seconds = 1\npoll_seconds = 1\n");
  const auto refused = strict.post("/v1/grants/" + std::to_string(grant_id) + "/refresh");
  EXPECT_NE(refused.status, 200) << refused.describe();
  EXPECT_NE(refused.body.find("127.0.0.1 is loopback (127.0.0.0/8)"), std::string::npos) << refused.describe();

  const json d = failed_delivery(strict, "local");
  ASSERT_FALSE(d.is_null()) << webhook_state(strict, "local").dump(2);
  EXPECT_EQ(d.value("event", ""), "app.misconfigured");
  EXPECT_EQ(d["payload"].value("reason", ""), "address_not_allowed");
  EXPECT_EQ(d.value("attempts", 0), 1);
  EXPECT_EQ(d.value("last_error", "").rfind("address_not_allowed: 127.0.0.1 is loopback (127.0.0.0/8)", 0), 0U)
      << d.dump();
  const auto grant = strict.get("/v1/grants/" + std::to_string(grant_id)).json();
  EXPECT_EQ(grant.value("status", ""), "needs_reauth") << grant.dump();
  EXPECT_EQ(fake.refreshes_of("lena"), refreshes) << "the token endpoint was not called";
  EXPECT_EQ(receiver.connections(), connections) << "the webhook receiver was not connected to";
  EXPECT_EQ(strict.log().find("csec-"), std::string::npos);
}

}  // namespace
}  // namespace mediax::e2e
