// Plain-text tables and small formatting helpers for mediaxctl's human output.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace mediax::ctl {

using Row = std::vector<std::string>;

// Left-aligned columns separated by two spaces, a header row, no trailing spaces. Widths count
// UTF-8 code points; empty cells show "-"; rows shorter than the header are padded with "-".
// With no rows the header is followed by "(none)".
std::string render_table(const Row& headers, const std::vector<Row>& rows);

// "NAME: value" lines with the names aligned (for `show` commands); empty values show "-".
std::string render_fields(const std::vector<std::pair<std::string, std::string>>& fields);

// "in 4m05s", "12s ago", "in 2d03h" for an ISO 8601 UTC time relative to `now`; "" when `iso` is not one.
std::string relative_time(const std::string& iso, std::chrono::system_clock::time_point now);

}  // namespace mediax::ctl
