// mediaxctl internals: the command-line parser, settings (flags > environment > config file) and
// the admin API client. Commands live in commands.cpp.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl.hpp"

namespace mediax {
class HttpClient;
}

namespace mediax::ctl {

using json = nlohmann::json;

// Bad command line or config: exit 2 with the message and a hint to --help.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The API answered with an error, or could not be reached: exit with `code`.
struct Failure : std::runtime_error {
  Failure(int c, const std::string& m) : std::runtime_error(m), code(c) {}
  int code;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> options;  // "--scope" -> every value; flags get ""

  bool has(const std::string& name) const { return options.count(name) != 0; }
  std::string value(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& values(const std::string& name) const;
  // Throws UsageError naming the first option not in `allowed` (global options are always allowed).
  void allow_only(const std::set<std::string>& allowed) const;
};

// Splits `args` into options (--name VALUE, --name=VALUE, flags) and positionals; throws UsageError
// on unknown options or a missing value.
Args parse_args(const std::vector<std::string>& args);

struct Settings {
  std::string url;
  std::string api_key;
  bool json = false;
};

// --url/--api-key/--api-key-file, then MEDIAX_URL/MEDIAX_API_KEY, then the config file (--config FILE,
// else $XDG_CONFIG_HOME/mediax/ctl.toml, else ~/.config/mediax/ctl.toml), then http://127.0.0.1:8080.
Settings resolve_settings(const Args& args);

class Api {
 public:
  explicit Api(Settings s);
  ~Api();

  const Settings& settings() const { return settings_; }
  // Throw Failure: 3 when the daemon cannot be reached, 4 on 404, 1 on any other error status.
  json get(const std::string& path);
  json post(const std::string& path, const json& body = json::object());
  json del(const std::string& path);
  json put(const std::string& path, const json& body);
  // One request without error mapping (except "cannot connect"): {status, parsed body or null}.
  std::pair<int, json> raw_get(const std::string& path);

 private:
  json call(const std::string& method, const std::string& path, const json* body);
  Settings settings_;
  std::unique_ptr<HttpClient> http_;
};

// Percent-encodes one path segment.
std::string seg(const std::string& s);

}  // namespace mediax::ctl
