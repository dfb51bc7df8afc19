// What the daemon tells systemd (sd_notify(3), Type=notify-reload): READY=1 when it serves,
// RELOADING=1 with MONOTONIC_USEC before a reload and READY=1 after it, STOPPING=1 on SIGTERM,
// STATUS= during slow work, WATCHDOG=1 from the janitor. Without NOTIFY_SOCKET each is a no-op.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "util/time_source.hpp"

namespace mediax::notify {

// "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC in µs>": systemd pairs the READY=1 that follows
// with this reload by that timestamp (time.monotonic() is CLOCK_MONOTONIC on Linux).
std::string reloading_message(const TimeSource& time);

void ready(const std::string& status);
void reloading(const TimeSource& time);
void reloaded();  // READY=1 after reloading()
void stopping();
void status(const std::string& text);
void watchdog();
// How often to ping the watchdog (half of WATCHDOG_USEC); empty when systemd watches nothing.
std::optional<std::chrono::milliseconds> watchdog_period();

}  // namespace mediax::notify
