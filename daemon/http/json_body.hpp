// Request bodies of the admin API as JSON, with a nesting limit checked before parsing: nlohmann's
// parser is iterative, but copying, comparing and dumping a document recurse, so a body of
// 100,000 '[' would exhaust the stack later. No HTTP library: the fuzz targets use this file.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/json_depth.hpp"

namespace mediax {

// Deeper bodies are refused. The API's deepest documents (an app with a service-account key in
// options) nest 3 levels.
inline constexpr std::size_t kMaxJsonDepth = 32;

using util::json_nesting_depth;  // util/json_depth.hpp

// Parses a request body. ApiError 400 "invalid_json" when it is empty, not JSON or nested deeper
// than max_depth; the message gives the byte offset, never the body.
nlohmann::json parse_json_body(std::string_view body, std::size_t max_depth = kMaxJsonDepth);

}  // namespace mediax
