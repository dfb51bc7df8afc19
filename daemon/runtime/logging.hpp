// spdlog set-up: to stderr (journald keeps it), text or one JSON object per line.
#pragma once

#include <string>

namespace mediax {

// Throws std::invalid_argument for an unknown level or format.
void setup_logging(const std::string& level, const std::string& format);
void set_log_level(const std::string& level);

}  // namespace mediax
