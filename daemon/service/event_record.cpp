#include "service/event_record.hpp"

#include <spdlog/spdlog.h>

namespace mediax {

void record_event(EventLog& events, std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id,
                  const std::string& kind, nlohmann::json detail) {
  try {
    Event e;
    e.app_id = app_id;
    e.grant_id = grant_id;
    e.kind = kind;
    e.detail = std::move(detail);
    events.add_event(e);
  } catch (const std::exception& ex) {
    spdlog::warn("could not record event {}: {}", kind, ex.what());
  }
}

}  // namespace mediax
