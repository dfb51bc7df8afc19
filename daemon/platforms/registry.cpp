#include "platforms/registry.hpp"

#include "platforms/google_platform.hpp"
#include "platforms/oauth2_platform.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"
#include "platforms/wechat_component_platform.hpp"
#include "platforms/wechat_platform.hpp"

namespace mediax {

PlatformRegistry::PlatformRegistry(HttpClient& http, PlatformSettings settings, CallBudget* call_budget,
                                   ComponentCredentials* component_credentials) {
  platforms_.emplace("oauth2", std::make_unique<OAuth2Platform>(http, settings));
  // Each reads its base URLs from settings.urls[name], the real hosts where absent.
  platforms_.emplace("wechat", std::make_unique<WeChatPlatform>(http, settings, call_budget));
  platforms_.emplace("google", std::make_unique<GooglePlatform>(http, settings));
  platforms_.emplace("wechat_component",
                     std::make_unique<WeChatComponentPlatform>(http, settings, component_credentials));
  // The platforms that are specs: one interpreter each.
  for (const spec::Spec* s : specs::all()) {
    platforms_.emplace(std::string(s->name), std::make_unique<SpecPlatform>(*s, http, settings));
  }
}

Platform* PlatformRegistry::get(const std::string& name) const {
  auto it = platforms_.find(name);
  return it == platforms_.end() ? nullptr : it->second.get();
}

std::vector<std::string> PlatformRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : platforms_) out.push_back(name);
  return out;
}

void PlatformRegistry::add(std::unique_ptr<Platform> platform) {
  auto name = platform->name();
  platforms_[name] = std::move(platform);
}

}  // namespace mediax
