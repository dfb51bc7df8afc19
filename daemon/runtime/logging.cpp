#include "runtime/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "util/strings.hpp"

namespace mediax {

namespace {

// %j: the message as a JSON string (quoted and escaped).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    auto s = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

// %V: the message with control characters escaped (util::escape_control). Every log call goes
// through it, so a path, header or name a client sent cannot end the line and forge the next one,
// whichever call site prints it.
class EscapedMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const auto s = util::escape_control(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessageFlag>(); }
};

}  // namespace

void set_log_level(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") throw std::invalid_argument("unknown log level '" + level + "'");
  spdlog::set_level(lvl);
}

void setup_logging(const std::string& level, const std::string& format) {
  auto logger = std::make_shared<spdlog::logger>("mediaxd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonMessageFlag>('j').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%j})");
    logger->set_formatter(std::move(f));
  } else if (format == "text") {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<EscapedMessageFlag>('V').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %V");
    logger->set_formatter(std::move(f));
  } else {
    throw std::invalid_argument("unknown log format '" + format + "'");
  }
  spdlog::set_default_logger(logger);
  set_log_level(level);
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace mediax
