#include "platforms/registry.hpp"

#include "platforms/oauth2_platform.hpp"

namespace mediax {

PlatformRegistry::PlatformRegistry(HttpClient& http, PlatformSettings settings) {
  platforms_.emplace("oauth2", std::make_unique<OAuth2Platform>(http, settings));
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
