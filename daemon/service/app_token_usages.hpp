// How each app's tokens are sent (App::token_usage), and the app's name, by app id, in memory: token reads answer
// from the TokenCache without a database round trip, and the cached tokens do not carry it (it is
// the app's, not each token's; a million cached tokens need not repeat it). Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "core/types.hpp"
#include "store/interfaces.hpp"

namespace mediax {

class AppTokenUsages {
 public:
  explicit AppTokenUsages(AdminStore& store) : store_(store) {}
  // Reads every app now (start-up, so tokens served while the database is down carry it too).
  // StoreError: nothing read; get() asks again per app.
  void load_all();
  void remember(const App& app);
  // How the token of `key` is sent: the app's own token as app_token_usage_for(platform) says (a
  // WeChat third-party platform's component token differs from its grants'), a grant's as the
  // app's token_usage. Asks the store the first time an app is seen. StoreError when it must ask
  // and cannot; nullopt when there is no such app (deleted meanwhile).
  std::optional<TokenUsage> get(const RefreshKey& key);
  // The app's name (the scope of a reader key is by name, a token knows its app's id). name() asks
  // the store as get() does; known_name() never does (nullopt when not in memory).
  std::optional<std::string> name(std::int64_t app_id);
  std::optional<std::string> known_name(std::int64_t app_id);

 private:
  struct Usages {
    TokenUsage app_token;
    TokenUsage grants;
    std::string name;  // never changes: a name registered again is a new app with a new id
  };
  AdminStore& store_;
  std::shared_mutex mu_;
  std::unordered_map<std::int64_t, Usages> by_app_;
};

}  // namespace mediax
