// The one way every connected grant is stored, whichever way it came (the browser callback, a
// pushed code, a code from the creator's app, an import, a recovery): the grant and its first token
// from the platform's answer (service/new_grant.hpp), the token put in memory, its refresh
// scheduled, the event recorded.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/types.hpp"
#include "schedule/refresh_policy.hpp"
#include "store/interfaces.hpp"
#include "util/time_source.hpp"

namespace mediax {

class Scheduler;
class TokenCache;

class NewGrantStore {
 public:
  NewGrantStore(AdminStore& store, EventLog& events, TokenCache& cache, Scheduler& scheduler, RefreshPolicy& policy,
                const TimeSource& time);

  // Stores the grant `answer` makes of `known` (what the caller knew before it) and records `event`
  // with `detail` (plus account_id). Returns the grant without its refresh token. Throws
  // StoreError when the database fails even after a short retry: the caller says what was lost
  // (a spent code, a rotated refresh token), which differs by way.
  Grant store(const App& app, const TokenResult& answer, TimePoint received, const Grant& known,
              const std::string& event, nlohmann::json detail);

 private:
  AdminStore& store_;
  EventLog& events_;
  TokenCache& cache_;
  Scheduler& scheduler_;
  RefreshPolicy& policy_;
  const TimeSource& time_;  // the pause between store attempts
};

}  // namespace mediax
