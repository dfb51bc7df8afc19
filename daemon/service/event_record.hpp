// Recording an event of the admin API's actions (EventLog): best effort, a failure is logged and
// never fails the action it describes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "store/interfaces.hpp"

namespace mediax {

void record_event(EventLog& events, std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id,
                  const std::string& kind, nlohmann::json detail);

}  // namespace mediax
