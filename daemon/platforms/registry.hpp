// Owns one instance of each platform class and finds it by the name stored in App::platform.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/http_client.hpp"
#include "platforms/platform.hpp"

namespace mediax {

class CallBudget;
class ComponentCredentials;

class PlatformRegistry {
 public:
  // `http` (and `call_budget`, when given) must outlive the registry. `call_budget` keeps the daily
  // counts of platforms with a small daily quota (WeChat); null: no limit is applied.
  // `component_credentials` (when given, must outlive the registry) hands the WeChat third-party
  // platform its tickets and component token; null: wechat_component calls answer retry_later.
  PlatformRegistry(HttpClient& http, PlatformSettings settings, CallBudget* call_budget = nullptr,
                   ComponentCredentials* component_credentials = nullptr);

  // nullptr when `name` is not a known platform.
  Platform* get(const std::string& name) const;
  // Names accepted in App::platform, sorted.
  std::vector<std::string> names() const;
  // Adds (or replaces) a platform under its name(); tests use it for scripted platforms.
  void add(std::unique_ptr<Platform> platform);

 private:
  std::map<std::string, std::unique_ptr<Platform>, std::less<>> platforms_;
};

}  // namespace mediax
