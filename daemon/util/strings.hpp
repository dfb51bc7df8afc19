// ASCII string helpers written once for the whole daemon (header names, schemes, scope lists, key files).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mediax::util {

// ASCII lower case; other bytes (UTF-8 included) stay as they are.
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

// Without leading and trailing bytes from ws (by default spaces, tabs and line ends).
std::string_view trim(std::string_view s, std::string_view ws = " \t\r\n");

// The non-empty pieces of s between any of the delimiter bytes ("a, b" by ", " -> {"a", "b"}).
std::vector<std::string> split(std::string_view s, std::string_view delimiters);

}  // namespace mediax::util
