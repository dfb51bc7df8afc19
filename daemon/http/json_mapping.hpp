// Domain objects to the admin API's JSON. Secrets and refresh tokens are never written.
#pragma once

#include <nlohmann/json.hpp>

#include "core/types.hpp"
#include "store/store.hpp"

namespace mediax {

nlohmann::json to_json(const App& app);
nlohmann::json to_json(const Grant& g, const std::string& app_name, std::optional<TimePoint> token_expires_at);
nlohmann::json to_json(const Token& t);
// json_text(to_json(t)), byte for byte, without building the JSON tree (the token read's answer).
std::string token_json_text(const Token& t);
nlohmann::json to_json(const WebhookDelivery& d);  // an outbox entry, without URL or secret

}  // namespace mediax
