// Time as text: ISO 8601 UTC in JSON and SQL, Unix seconds, and the stricter RFC 3339 reader for times a
// client sends. (In namespace mediax, where they were before util/ existed.)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace mediax {

using TimePoint = std::chrono::system_clock::time_point;

// ISO 8601 UTC with seconds, "2026-11-25T11:33:28Z": what the daemon writes, and reads back.
std::string format_time(TimePoint t);
// Lenient: what format_time wrote (and the database's text); the zone letter is not checked.
std::optional<TimePoint> parse_time(const std::string& s);
std::int64_t to_unix(TimePoint t);
TimePoint from_unix(std::int64_t s);

// RFC 3339 / ISO 8601 date-time with seconds and a zone: "2027-01-31T12:00:00Z",
// "2027-01-31T20:00:00+08:00", fractions of a second allowed (dropped). nullopt for anything
// else, including impossible dates (2027-02-30), a missing zone and years outside
// 1970..kMaxIso8601Year (a TimePoint cannot hold them). For times a client sends.
inline constexpr int kMaxIso8601Year = 2200;
std::optional<TimePoint> parse_iso8601(const std::string& s);

}  // namespace mediax
