#include "net/outbound_guard.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "util/url.hpp"

namespace mediax {

namespace {

constexpr const char* kKey = "security.allowed_private_networks";

class SystemResolver final : public Resolver {
 public:
  Resolution resolve(const std::string& host) const override {
    Resolution out;
    if (auto literal = util::parse_ip(host)) {
      out.addresses.push_back(*literal);
      return out;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      out.error = gai_strerror(rc);
      return out;
    }
    for (const addrinfo* p = res; p != nullptr; p = p->ai_next) {
      util::IpAddress a;
      if (p->ai_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(p->ai_addr);
        std::memcpy(a.bytes.data(), &sin->sin_addr, 4);
      } else if (p->ai_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(p->ai_addr);
        a.family = util::IpAddress::Family::v6;
        std::memcpy(a.bytes.data(), &sin6->sin6_addr, 16);
      } else {
        continue;
      }
      if (std::find(out.addresses.begin(), out.addresses.end(), a) == out.addresses.end()) out.addresses.push_back(a);
    }
    freeaddrinfo(res);
    if (out.addresses.empty()) out.error = "no IPv4 or IPv6 address";
    return out;
  }
};

bool in_allowed(const util::IpAddress& a, const OutboundPolicy& policy) {
  const auto plain = util::unmapped(a);
  return std::any_of(policy.allowed_private_networks.begin(), policy.allowed_private_networks.end(),
                     [&](const util::IpNetwork& n) { return n.contains(a) || n.contains(plain); });
}

// "169.254.169.254" for a literal host, "metadata.internal (169.254.169.254)" for a name.
std::string where(const std::string& host, const util::IpAddress& a) {
  const std::string address = util::to_string(a);
  const auto literal = util::parse_ip(host);
  return literal && *literal == a ? address : host + " (" + address + ")";
}

}  // namespace

std::unique_ptr<Resolver> make_system_resolver() { return std::make_unique<SystemResolver>(); }

OutboundDecision decide_outbound(bool plain_http, const std::string& host, const std::vector<util::IpAddress>& addresses,
                                 const OutboundPolicy& policy) {
  OutboundDecision d;
  if (addresses.empty()) {
    d.refusal = host + " has no address";
    return d;
  }
  for (const auto& a : addresses) {
    if (in_allowed(a, policy)) continue;
    const auto c = util::classify_address(util::unmapped(a));
    if (c.scope != util::AddressScope::global) {
      d.refusal = where(host, a) + " is " + util::to_string(c.scope) + " (" + c.range + "), which " + kKey +
                  " does not list";
      return d;
    }
    if (plain_http) {
      d.refusal = "plain http:// goes only to addresses " + std::string(kKey) + " lists; " + where(host, a) +
                  " is public: use https://";
      return d;
    }
  }
  d.allowed = true;
  d.connect_to = addresses.front();
  return d;
}

OutboundGuard::OutboundGuard(OutboundPolicy policy, const Resolver& resolver)
    : policy_(std::move(policy)), resolver_(resolver) {}

OutboundGuard::Check OutboundGuard::check(const std::string& scheme, const std::string& host) const {
  Check c;
  const auto r = resolver_.resolve(host);
  if (r.addresses.empty()) {
    c.verdict = Verdict::unresolved;
    c.message = "cannot resolve " + host + (r.error.empty() ? "" : ": " + r.error);
    return c;
  }
  const auto d = decide_outbound(scheme != "https", host, r.addresses, policy_);
  c.verdict = d.allowed ? Verdict::allowed : Verdict::refused;
  c.connect_to = d.connect_to;
  c.message = d.refusal;
  return c;
}

OutboundGuard::Check OutboundGuard::check_url(const std::string& url) const {
  const auto u = parse_url(url);
  if (!u) {
    Check c;
    c.verdict = Verdict::refused;
    c.message = "not an absolute http(s) URL";
    return c;
  }
  return check(u->scheme, u->host);
}

}  // namespace mediax
