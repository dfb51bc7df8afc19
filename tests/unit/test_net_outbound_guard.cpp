// net/outbound_guard: the decision (which addresses a call may reach, plain http only to allowed
// networks), the guard's one lookup per check, and the HTTP client refusing before any connection.
#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "net/outbound_guard.hpp"
#include "support/fake_resolver.hpp"

namespace mediax {
namespace {

using test::FakeResolver;
using test::policy_allowing;

std::vector<util::IpAddress> ips(const std::vector<std::string>& texts) {
  std::vector<util::IpAddress> out;
  for (const auto& t : texts) out.push_back(*util::parse_ip(t));
  return out;
}

TEST(OutboundDecision, TableOfDestinations) {
  const auto none = policy_allowing({});
  const auto loopback = policy_allowing({"127.0.0.0/8", "::1/128"});
  const auto lan = policy_allowing({"10.20.0.0/16"});
  struct Case {
    const char* what;
    bool plain_http;
    std::vector<std::string> addresses;
    const OutboundPolicy* policy;
    bool allowed;
    const char* says;  // in the refusal
  };
  const Case cases[] = {
      {"public over https", false, {"93.184.215.14"}, &none, true, ""},
      {"public over http", true, {"93.184.215.14"}, &none, false, "plain http:// goes only to addresses"},
      {"public over http, loopback allowed", true, {"93.184.215.14"}, &loopback, false, "use https://"},
      {"cloud metadata", false, {"169.254.169.254"}, &none, false, "is link-local (169.254.0.0/16)"},
      {"cloud metadata, loopback allowed", false, {"169.254.169.254"}, &loopback, false, "link-local"},
      {"loopback not allowed", false, {"127.0.0.1"}, &none, false, "is loopback (127.0.0.0/8)"},
      {"loopback allowed", false, {"127.0.0.1"}, &loopback, true, ""},
      {"loopback allowed over http", true, {"127.0.0.1"}, &loopback, true, ""},
      {"::1 allowed", true, {"::1"}, &loopback, true, ""},
      {"mapped loopback counts as loopback", true, {"::ffff:127.0.0.1"}, &loopback, true, ""},
      {"mapped metadata refused", false, {"::ffff:169.254.169.254"}, &loopback, false, "link-local"},
      {"private outside the allowed /16", false, {"10.21.0.1"}, &lan, false, "is private (10.0.0.0/8)"},
      {"private inside the allowed /16", true, {"10.20.3.4"}, &lan, true, ""},
      {"unique-local", false, {"fd00::1"}, &loopback, false, "unique-local (fc00::/7)"},
      {"CGNAT", false, {"100.64.1.1"}, &none, false, "carrier-grade NAT"},
      {"unspecified", false, {"0.0.0.0"}, &loopback, false, "unspecified"},
      {"NAT64 of a private address", false, {"64:ff9b::a00:1"}, &none, false, "64:ff9b::/96 of 10.0.0.0/8"},
      {"a public and a private answer", false, {"93.184.215.14", "10.0.0.1"}, &none, false, "10.0.0.1"},
      {"a private answer first", false, {"10.0.0.1", "93.184.215.14"}, &none, false, "10.0.0.1"},
      {"http with one answer outside the allowed", true, {"127.0.0.1", "93.184.215.14"}, &loopback, false,
       "plain http://"},
      {"everything allowed", true, {"8.8.8.8", "10.1.1.1"}, nullptr, true, ""},
      {"no address", false, {}, &none, false, "has no address"},
  };
  const auto everything = policy_allowing({"0.0.0.0/0", "::/0"});
  for (const auto& c : cases) {
    const auto d = decide_outbound(c.plain_http, "idp.example", ips(c.addresses), c.policy ? *c.policy : everything);
    EXPECT_EQ(d.allowed, c.allowed) << c.what << ": " << d.refusal;
    if (c.allowed) {
      EXPECT_EQ(d.connect_to, ips(c.addresses).front()) << c.what;
      EXPECT_EQ(d.refusal, "") << c.what;
    } else {
      EXPECT_NE(d.refusal.find(c.says), std::string::npos) << c.what << ": " << d.refusal;
      EXPECT_NE(d.refusal.find("idp.example"), std::string::npos) << c.what << ": " << d.refusal;
    }
  }
}

TEST(OutboundDecision, RefusalNamesHostAddressAndTheConfigKey) {
  const auto d = decide_outbound(false, "metadata.internal", ips({"169.254.169.254"}), policy_allowing({}));
  EXPECT_EQ(d.refusal,
            "metadata.internal (169.254.169.254) is link-local (169.254.0.0/16), which "
            "security.allowed_private_networks does not list");
  const auto literal = decide_outbound(false, "169.254.169.254", ips({"169.254.169.254"}), policy_allowing({}));
  EXPECT_EQ(literal.refusal.rfind("169.254.169.254 is link-local", 0), 0U) << literal.refusal;
}

// DNS rebinding: the name answers a public address, then a private one. Each check looks it up
// once and hands out the address it checked; the next check sees the new answer and refuses.
TEST(OutboundGuard, ChecksTheAddressItHandsOutAndLooksUpOncePerCheck) {
  FakeResolver resolver;
  resolver.answer("rebind.example", {{"93.184.215.14"}, {"169.254.169.254"}});
  OutboundGuard guard(policy_allowing({"127.0.0.0/8"}), resolver);

  const auto first = guard.check("https", "rebind.example");
  EXPECT_EQ(first.verdict, OutboundGuard::Verdict::allowed) << first.message;
  EXPECT_EQ(util::to_string(first.connect_to), "93.184.215.14");
  EXPECT_EQ(resolver.lookups("rebind.example"), 1);

  const auto second = guard.check("https", "rebind.example");
  EXPECT_EQ(second.verdict, OutboundGuard::Verdict::refused);
  EXPECT_NE(second.message.find("rebind.example (169.254.169.254) is link-local"), std::string::npos)
      << second.message;
  EXPECT_EQ(resolver.lookups("rebind.example"), 2);
}

TEST(OutboundGuard, UrlsLiteralsAndNamesThatDoNotResolve) {
  FakeResolver resolver;
  OutboundGuard guard(policy_allowing({"::1/128"}), resolver);
  EXPECT_EQ(guard.check_url("http://[::1]:8080/hook?sig=secret-value").verdict, OutboundGuard::Verdict::allowed);
  const auto meta = guard.check_url("http://169.254.169.254/latest/meta-data/?token=secret-value");
  EXPECT_EQ(meta.verdict, OutboundGuard::Verdict::refused);
  EXPECT_EQ(meta.message.find("secret-value"), std::string::npos) << meta.message;  // never the query
  EXPECT_EQ(meta.message.find("meta-data"), std::string::npos) << meta.message;     // nor the path
  EXPECT_EQ(guard.check_url("ftp://example.com/").verdict, OutboundGuard::Verdict::refused);
  const auto unknown = guard.check_url("https://nowhere.invalid/token");
  EXPECT_EQ(unknown.verdict, OutboundGuard::Verdict::unresolved);
  EXPECT_NE(unknown.message.find("nowhere.invalid"), std::string::npos);
}

// A refused destination: the client answers address_not_allowed with the reason, without a
// connection (the address is on no network here: a connection attempt would say "connection").
TEST(HttpClientOutbound, RefusesBeforeConnectingAndSaysWhy) {
  FakeResolver resolver;
  resolver.answer("hooks.example", {{"10.9.9.9"}});
  OutboundGuard guard(policy_allowing({"127.0.0.0/8"}), resolver);
  HttpClientOptions opts;
  opts.outbound = &guard;
  opts.connect_timeout = std::chrono::milliseconds(100);
  auto client = make_http_client(opts);
  HttpClientRequest req;
  req.method = "POST";
  req.url = "https://hooks.example/in?key=secret-value";
  const auto r = client->send(req);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, kAddressNotAllowed);
  EXPECT_TRUE(r.address_refused());
  EXPECT_EQ(r.error_detail,
            "hooks.example (10.9.9.9) is private (10.0.0.0/8), which security.allowed_private_networks does not list");
  EXPECT_EQ(resolver.lookups("hooks.example"), 1);

  req.url = "http://93.184.215.14/in";  // public, but plain http
  const auto plain = client->send(req);
  EXPECT_TRUE(plain.address_refused());
  EXPECT_NE(plain.error_detail.find("use https://"), std::string::npos) << plain.error_detail;
}

TEST(HttpClientOutbound, ANameThatDoesNotResolveIsAConnectionError) {
  FakeResolver resolver;
  OutboundGuard guard(policy_allowing({}), resolver);
  HttpClientOptions opts;
  opts.outbound = &guard;
  auto client = make_http_client(opts);
  HttpClientRequest req;
  req.url = "https://nowhere.invalid/x";
  const auto r = client->send(req);
  EXPECT_EQ(r.error, "connection");
  EXPECT_FALSE(r.address_refused());
}

}  // namespace
}  // namespace mediax
