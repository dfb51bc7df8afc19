// The platforms' CallBudget kept in the database, so every instance shares the daily counts.
#pragma once

#include "util/time_source.hpp"
#include "platforms/call_budget.hpp"
#include "store/store.hpp"

namespace mediax {

class StoreCallBudget final : public CallBudget {
 public:
  StoreCallBudget(Store& store, const TimeSource& clock) : store_(store), clock_(clock) {}
  CallSpend try_spend(std::int64_t app_id, const std::string& kind, const CallLimit& limit) override {
    return store_.try_spend_call(app_id, kind, limit, clock_.system());
  }

 private:
  Store& store_;
  const TimeSource& clock_;
};

}  // namespace mediax
