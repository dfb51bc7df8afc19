#include "service/app_token_usages.hpp"

#include <mutex>

namespace mediax {

void AppTokenUsages::load_all() {
  for (const auto& app : store_.list_apps()) remember(app);
}

void AppTokenUsages::remember(const App& app) {
  std::unique_lock lk(mu_);
  // An app's platform never changes: nothing goes stale.
  by_app_[app.id] = Usages{app.own_token_usage(), app.token_usage, app.name};
}

std::optional<TokenUsage> AppTokenUsages::get(const RefreshKey& key) {
  const auto pick = [&key](const Usages& u) { return key.is_app_token() ? u.app_token : u.grants; };
  {
    std::shared_lock lk(mu_);
    if (auto it = by_app_.find(key.app_id); it != by_app_.end()) return pick(it->second);
  }
  auto app = store_.get_app_by_id(key.app_id);
  if (!app) return std::nullopt;
  remember(*app);
  return pick(Usages{app->own_token_usage(), app->token_usage, app->name});
}

std::optional<std::string> AppTokenUsages::known_name(std::int64_t app_id) {
  std::shared_lock lk(mu_);
  if (auto it = by_app_.find(app_id); it != by_app_.end()) return it->second.name;
  return std::nullopt;
}

std::optional<std::string> AppTokenUsages::name(std::int64_t app_id) {
  if (auto n = known_name(app_id)) return n;
  auto app = store_.get_app_by_id(app_id);
  if (!app) return std::nullopt;
  remember(*app);
  return app->name;
}

}  // namespace mediax
