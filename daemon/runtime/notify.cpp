#include "runtime/notify.hpp"

#include <systemd/sd-daemon.h>

namespace mediax::notify {

std::string reloading_message(const TimeSource& time) {
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(time.monotonic().time_since_epoch()).count();
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
}

void ready(const std::string& status) { sd_notify(0, ("READY=1\nSTATUS=" + status).c_str()); }

void reloading(const TimeSource& time) { sd_notify(0, reloading_message(time).c_str()); }

void reloaded() { sd_notify(0, "READY=1"); }

void stopping() { sd_notify(0, "STOPPING=1"); }

void status(const std::string& text) { sd_notify(0, ("STATUS=" + text).c_str()); }

void watchdog() { sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::milliseconds> watchdog_period() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::nullopt;
  return std::chrono::milliseconds(usec / 2000);
}

}  // namespace mediax::notify
