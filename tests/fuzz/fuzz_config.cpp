// The TOML config parser. Anything but ConfigError is a bug; a config that parses renders back to
// TOML that parses to the same Config (render_config is what --print-default-config shows).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "fuzz_check.hpp"

using namespace mediax;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Config config;
  try {
    config = parse_config(text, "fuzz.toml");
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    if (msg.rfind("fuzz.toml", 0) != 0) fuzz::fail("a config error that does not start with the file name: " + msg);
    return 0;
  }
  const std::string rendered = render_config(config);
  Config again;
  try {
    again = parse_config(rendered, "fuzz.toml");
  } catch (const ConfigError& e) {
    fuzz::fail(std::string("the rendered config does not parse: ") + e.what() + "\n--- rendered:\n" + rendered);
  }
  if (!(again == config)) fuzz::fail("the rendered config parses to a different Config:\n" + rendered);
  (void)non_reloadable_changes(config, again);
  return 0;
}
