// The message of the ConfigError that parsing a config text throws, for the config tests.
#pragma once

#include <string>

#include "config/config.hpp"

namespace mediax::test {

// "" when the text parses.
inline std::string config_error_of(const std::string& text) {
  try {
    parse_config(text, "test.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace mediax::test
