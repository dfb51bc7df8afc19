// What the Scheduler asks of whoever refreshes: the Refresher in the daemon, a fake in its tests.
#pragma once

#include "core/types.hpp"

namespace mediax {

class DueRefresher {
 public:
  virtual ~DueRefresher() = default;
  // Refreshes a key whose time has come, on the calling worker thread. The key's next time
  // reaches the Scheduler through Scheduler::schedule / cancel, not through a return value.
  virtual void refresh_due(const RefreshKey& key) = 0;
};

}  // namespace mediax
