// A Resolver (net/outbound_guard.hpp) answering from a table instead of DNS: each name has a list
// of answers given in turn (the last one repeats), so a test can play a name that changes its
// address between two lookups (DNS rebinding). An IP literal answers itself; a name with no entry
// answers `fallback` (empty: not found). Counts the lookups of each name.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "net/outbound_guard.hpp"
#include "util/ip_address.hpp"

namespace mediax::test {

class FakeResolver final : public Resolver {
 public:
  explicit FakeResolver(std::vector<std::string> fallback = {}) : fallback_(std::move(fallback)) {}

  // The answers of `host`, one list per lookup in turn.
  void answer(const std::string& host, std::vector<std::vector<std::string>> answers) {
    std::lock_guard lk(mu_);
    answers_[host] = std::move(answers);
  }
  int lookups(const std::string& host) const {
    std::lock_guard lk(mu_);
    auto it = lookups_.find(host);
    return it == lookups_.end() ? 0 : it->second;
  }

  Resolution resolve(const std::string& host) const override {
    Resolution r;
    if (auto literal = util::parse_ip(host)) {
      r.addresses.push_back(*literal);
      return r;
    }
    std::vector<std::string> texts;
    {
      std::lock_guard lk(mu_);
      const int n = lookups_[host]++;
      auto it = answers_.find(host);
      if (it == answers_.end() || it->second.empty()) {
        texts = fallback_;
      } else {
        const auto& list = it->second;
        texts = list[std::min<std::size_t>(static_cast<std::size_t>(n), list.size() - 1)];
      }
    }
    for (const auto& t : texts) {
      if (auto a = util::parse_ip(t)) r.addresses.push_back(*a);
    }
    if (r.addresses.empty()) r.error = "Name or service not known";
    return r;
  }

 private:
  std::vector<std::string> fallback_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::vector<std::string>>> answers_;
  mutable std::map<std::string, int> lookups_;
};

// The allowed networks of a policy, from text that must parse.
inline OutboundPolicy policy_allowing(const std::vector<std::string>& networks) {
  OutboundPolicy p;
  for (const auto& n : networks) {
    std::string problem;
    p.allowed_private_networks.push_back(*util::parse_network(n, problem));
  }
  return p;
}

}  // namespace mediax::test
