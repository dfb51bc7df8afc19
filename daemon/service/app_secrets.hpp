// PUT /v1/apps/{name}/secrets: an app's client secret and secret options changed without
// registering it again (its grants stay). The body read strictly, and the change applied to the
// stored app by one rule. No I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/types.hpp"
#include "service/api_error.hpp"

namespace mediax {

// {"client_secret"?: string, "options"?: {name: string | null}}, at least one of them.
struct AppSecretsChange {
  std::optional<std::string> client_secret;
  // Secret option name -> new value; null (or "") drops the option.
  nlohmann::json options = nlohmann::json::object();
};

// ApiError 400 invalid_field/invalid_json for anything but the shape above: unknown fields, wrong
// types, an empty body, an empty client_secret, control characters, over-long values.
AppSecretsChange app_secrets_change_from_request(const nlohmann::json& body);

// Applies `change` to `app` (read with its secrets): client_secret replaced, options set or
// dropped in app.secret_options, and the option names also written to app.options so that the
// platform's prepare_app validates them as at registration. An EncodingAESKey change keeps the
// current key as previous_encoding_aes_key (WeChat pushes with either while the change spreads)
// unless the change sets that itself or repeats the current key.
// Returns the names of what changed ("client_secret", "options.encoding_aes_key", ...), never values.
std::vector<std::string> apply_app_secrets(App& app, const AppSecretsChange& change);

}  // namespace mediax
