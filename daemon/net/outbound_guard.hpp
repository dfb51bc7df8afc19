// Where the daemon's outbound calls may go (issue 21, SSRF): a URL's host is resolved once, every
// address is classified (util/ip_address.hpp), and loopback, private, link-local, ... addresses are
// refused unless security.allowed_private_networks lists them; plain http:// only to addresses it
// lists. The HTTP client connects to the address that was checked (no second lookup an attacker's
// DNS could answer differently), and the admin API asks the same guard when a URL is registered.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/ip_address.hpp"

namespace mediax {

struct Resolution {
  std::vector<util::IpAddress> addresses;  // in the order to try; a literal host: itself
  std::string error;                       // when there are none: why (the resolver's words)
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // The addresses of `host` (a name or an IP literal, IPv6 without brackets). Thread-safe.
  virtual Resolution resolve(const std::string& host) const = 0;
};

// getaddrinfo(3); an IP literal is answered without a lookup.
std::unique_ptr<Resolver> make_system_resolver();

struct OutboundPolicy {
  std::vector<util::IpNetwork> allowed_private_networks;  // security.allowed_private_networks
};

struct OutboundDecision {
  bool allowed = false;
  util::IpAddress connect_to;  // when allowed: the first address, checked, to connect to
  std::string refusal;         // when not: the host, the address and the rule, never a path or query
};

// The rule, pure. Refused when any address is not public and not in an allowed network (a name
// that also resolves somewhere private is not trusted), or when `plain_http` and any address is
// outside the allowed networks. An IPv4-mapped IPv6 address counts as its IPv4 address.
OutboundDecision decide_outbound(bool plain_http, const std::string& host, const std::vector<util::IpAddress>& addresses,
                                 const OutboundPolicy& policy);

class OutboundGuard {
 public:
  enum class Verdict { allowed, refused, unresolved };
  struct Check {
    Verdict verdict = Verdict::unresolved;
    util::IpAddress connect_to;  // allowed: the address to connect to
    std::string message;         // refused: why; unresolved: the resolver's error
  };

  OutboundGuard(OutboundPolicy policy, const Resolver& resolver);

  // Resolves `host` once and decides for a call over `scheme` ("http" or "https").
  Check check(const std::string& scheme, const std::string& host) const;
  // The same for an absolute URL; refused when it is not an http(s) URL.
  Check check_url(const std::string& url) const;
  const OutboundPolicy& policy() const { return policy_; }

 private:
  OutboundPolicy policy_;
  const Resolver& resolver_;
};

}  // namespace mediax
