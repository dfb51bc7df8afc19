#include "service/app_token_usages.hpp"

#include <mutex>

namespace mediax {

void AppTokenUsages::load_all() {
  for (const auto& app : store_.list_apps()) remember(app);
}

void AppTokenUsages::remember(const App& app) {
  std::unique_lock lk(mu_);
  by_app_[app.id] = app.token_usage;  // an app's platform never changes: nothing goes stale
}

std::optional<TokenUsage> AppTokenUsages::get(std::int64_t app_id) {
  {
    std::shared_lock lk(mu_);
    if (auto it = by_app_.find(app_id); it != by_app_.end()) return it->second;
  }
  auto app = store_.get_app_by_id(app_id);
  if (!app) return std::nullopt;
  remember(*app);
  return app->token_usage;
}

}  // namespace mediax
