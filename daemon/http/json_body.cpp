#include "http/json_body.hpp"

#include <string>

#include "service/api_error.hpp"

namespace mediax {

nlohmann::json parse_json_body(std::string_view body, std::size_t max_depth) {
  if (body.empty()) throw ApiError(400, "invalid_json", "the request body is empty; a JSON object is expected");
  if (json_nesting_depth(body, max_depth) > max_depth) {
    throw ApiError(400, "invalid_json",
                   "the request body nests arrays and objects deeper than " + std::to_string(max_depth) + " levels");
  }
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    throw ApiError(400, "invalid_json", "the request body is not valid JSON (at byte " + std::to_string(e.byte) + ")");
  } catch (const nlohmann::json::exception&) {
    // out_of_range 406 (found by fuzz_admin_json): a number beyond a double, such as 1e999. Not a
    // parse_error, so it used to escape as a 500.
    throw ApiError(400, "invalid_json", "the request body holds a number out of range");
  }
}

}  // namespace mediax
