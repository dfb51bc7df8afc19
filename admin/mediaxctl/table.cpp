#include "table.hpp"

#include <algorithm>
#include <cstdio>

#include "util/time_format.hpp"

namespace mediax::ctl {

namespace {

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;  // count lead bytes only
  }
  return n;
}

std::string cell(const Row& row, std::size_t i) {
  if (i >= row.size() || row[i].empty()) return "-";
  return row[i];
}

std::string duration(long long secs) {
  char buf[32];
  if (secs < 60) {
    std::snprintf(buf, sizeof buf, "%llds", secs);
  } else if (secs < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", secs / 60, secs % 60);
  } else if (secs < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", secs / 3600, (secs % 3600) / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", secs / 86400, (secs % 86400) / 3600);
  }
  return buf;
}

}  // namespace

std::string render_table(const Row& headers, const std::vector<Row>& rows) {
  std::vector<std::size_t> widths(headers.size(), 0);
  for (std::size_t i = 0; i < headers.size(); ++i) widths[i] = display_width(headers[i]);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < headers.size(); ++i) widths[i] = std::max(widths[i], display_width(cell(r, i)));
  }
  auto line = [&](const Row& r, bool header) {
    std::string out;
    for (std::size_t i = 0; i < headers.size(); ++i) {
      std::string v = header ? headers[i] : cell(r, i);
      out += v;
      if (i + 1 < headers.size()) out.append(widths[i] - display_width(v) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(headers, true);
  for (const auto& r : rows) out += line(r, false);
  if (rows.empty()) out += "(none)\n";
  return out;
}

std::string render_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t w = 0;
  for (const auto& [k, v] : fields) w = std::max(w, display_width(k));
  std::string out;
  for (const auto& [k, v] : fields) {
    out += k + ":";
    out.append(w - display_width(k) + 2, ' ');
    out += v.empty() ? "-" : v;
    out += "\n";
  }
  return out;
}

std::string relative_time(const std::string& iso, std::chrono::system_clock::time_point now) {
  // What the daemon writes (util/time_format); anything else, or another zone, shows nothing.
  if (iso.empty() || iso.back() != 'Z') return "";
  const auto at = parse_time(iso);
  if (!at) return "";
  const long long t = to_unix(*at);
  const long long n = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (t >= n) return "in " + duration(t - n);
  return duration(n - t) + " ago";
}

}  // namespace mediax::ctl
