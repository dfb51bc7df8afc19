// How deeply a JSON text nests, read before it is parsed. nlohmann's parser is iterative, but
// copying, comparing and dumping a document recurse: 100,000 '[' would exhaust a thread's stack,
// and a refresh fiber's (256 KiB, fiber/fiber.cpp) at a few thousand. Admin API bodies and platform
// answers are both checked before they are parsed.
#pragma once

#include <cstddef>
#include <string_view>

namespace mediax::util {

// The deepest nesting of arrays and objects in `text`, counting only brackets outside strings;
// stops counting once it passes `stop_above` (returns a value > stop_above then). No recursion.
std::size_t json_nesting_depth(std::string_view text, std::size_t stop_above);

}  // namespace mediax::util
