#include "service/new_grant_store.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "schedule/scheduler.hpp"
#include "schedule/token_cache.hpp"
#include "service/event_record.hpp"
#include "service/new_grant.hpp"
#include "util/waits.hpp"

namespace mediax {

NewGrantStore::NewGrantStore(AdminStore& store, EventLog& events, TokenCache& cache, Scheduler& scheduler,
                             RefreshPolicy& policy, const TimeSource& time)
    : store_(store), events_(events), cache_(cache), scheduler_(scheduler), policy_(policy), time_(time) {}

Grant NewGrantStore::store(const App& app, const TokenResult& answer, TimePoint received, const Grant& known,
                           const std::string& event, nlohmann::json detail) {
  auto n = new_grant_from(app, answer, received, known, policy_);
  Grant g;
  // The platform has spent the code, or rotated the refresh token (the old one may be dead
  // already): this answer cannot be fetched again, so a brief database hiccup is waited out.
  for (int attempt = 1;; ++attempt) {
    try {
      g = store_.upsert_grant(n.grant, n.token);
      break;
    } catch (const SecretUnreadableError&) {
      throw;
    } catch (const StoreError& e) {
      if (attempt >= 3) throw;
      spdlog::warn("app '{}': storing the grant of account '{}' failed (attempt {}), retrying: {}", app.name,
                   n.grant.account_id, attempt, e.what());
      sleep_for(time_, std::chrono::milliseconds(250 * attempt));
    }
  }
  n.token.grant_id = g.id;
  cache_.put(n.token);
  if (g.next_refresh_at) {
    scheduler_.schedule(RefreshKey{app.id, g.id}, *g.next_refresh_at);
  } else {
    scheduler_.cancel(RefreshKey{app.id, g.id});
  }
  detail["account_id"] = g.account_id;
  record_event(events_, app.id, g.id, event, std::move(detail));
  g.refresh_token.clear();
  return g;
}

}  // namespace mediax
