#include "cli.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <toml++/toml.h>

#include "net/http_client.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax::ctl {

namespace {

// Every option mediaxctl knows, and whether it takes a value.
const std::map<std::string, bool>& known_options() {
  static const std::map<std::string, bool> opts = {
      {"--url", true},
      {"--api-key", true},
      {"--api-key-file", true},
      {"--config", true},
      {"--json", false},
      {"--help", false},
      {"--grant", true},
      {"--platform", true},
      {"--client-id", true},
      {"--client-secret-file", true},
      {"--client-secret-env", true},
      {"--scope", true},
      {"--issuer", true},
      {"--authorize-url", true},
      {"--token-url", true},
      {"--revocation-url", true},
      {"--client-credentials", false},
      {"--auth-method", true},
      {"--redirect-uri", true},
      {"--from-json", true},
      {"--webhook-url", true},
      {"--webhook-secret-file", true},
      {"--webhook-secret-env", true},
      {"--secret-file", true},
      {"--secret-env", true},
      {"--code", true},
      {"--code-verifier", true},
      {"--account", true},
      {"--refresh-token-file", true},
      {"--refresh-expires-at", true},
      {"--mobile", false},
      {"--auth-type", true},
      {"--biz-appid", true},
      {"--option", true},
      {"--drop-option", true},
      {"--since", true},  // audit
      {"--until", true},
      {"--who", true},
      {"--app", true},
      {"--limit", true},
      {"--before", true},
  };
  return opts;
}

const std::set<std::string>& global_options() {
  static const std::set<std::string> g = {"--url", "--api-key", "--api-key-file", "--config", "--json", "--help"};
  return g;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string read_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("--api-key-file: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(util::trim(ss.str()));
}

struct FileSettings {
  std::string url;
  std::string api_key;
};

FileSettings read_config(const std::string& path, bool must_exist) {
  FileSettings fs;
  if (!std::filesystem::exists(path)) {
    if (must_exist) throw UsageError("--config: " + path + " does not exist");
    return fs;
  }
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    throw UsageError(msg.str());
  }
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    if (key != "url" && key != "api_key")
      throw UsageError(path + ": unknown key '" + key + "' (expected url, api_key)");
    if (!v.is_string()) throw UsageError(path + ": '" + key + "' must be a string");
  }
  fs.url = t["url"].value_or(std::string());
  fs.api_key = t["api_key"].value_or(std::string());
  return fs;
}

std::string default_config_path() {
  std::string xdg = env("XDG_CONFIG_HOME");
  if (!xdg.empty()) return xdg + "/mediax/ctl.toml";
  std::string home = env("HOME");
  if (home.empty()) return "";
  return home + "/.config/mediax/ctl.toml";
}

}  // namespace

std::string Args::value(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  if (it == options.end() || it->second.empty()) return fallback;
  return it->second.back();
}

const std::vector<std::string>& Args::values(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = options.find(name);
  return it == options.end() ? none : it->second;
}

void Args::allow_only(const std::set<std::string>& allowed) const {
  for (const auto& [name, v] : options) {
    if (!allowed.count(name) && !global_options().count(name)) {
      throw UsageError("option " + name + " does not apply to this command");
    }
  }
}

Args parse_args(const std::vector<std::string>& args) {
  Args a;
  bool only_positional = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      a.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    if (name == "-h") name = "--help";
    auto it = known_options().find(name);
    if (it == known_options().end()) throw UsageError("unknown option " + name);
    if (!it->second) {
      if (inline_value) throw UsageError(name + " takes no value");
      a.options[name].push_back("");
      continue;
    }
    if (inline_value) {
      a.options[name].push_back(*inline_value);
    } else {
      if (i + 1 >= args.size()) throw UsageError(name + " needs a value");
      a.options[name].push_back(args[++i]);
    }
  }
  return a;
}

Settings resolve_settings(const Args& args) {
  Settings s;
  s.json = args.has("--json");
  FileSettings file;
  if (args.has("--config")) {
    file = read_config(args.value("--config"), true);
  } else if (auto p = default_config_path(); !p.empty()) {
    file = read_config(p, false);
  }
  if (args.has("--url"))
    s.url = args.value("--url");
  else if (!env("MEDIAX_URL").empty())
    s.url = env("MEDIAX_URL");
  else if (!file.url.empty())
    s.url = file.url;
  else
    s.url = "http://127.0.0.1:8080";
  while (!s.url.empty() && s.url.back() == '/') s.url.pop_back();
  if (!parse_url(s.url)) throw UsageError("the daemon URL '" + s.url + "' is not an absolute http(s) URL");

  if (args.has("--api-key") && args.has("--api-key-file"))
    throw UsageError("give --api-key or --api-key-file, not both");
  if (args.has("--api-key"))
    s.api_key = args.value("--api-key");
  else if (args.has("--api-key-file"))
    s.api_key = read_key_file(args.value("--api-key-file"));
  else if (!env("MEDIAX_API_KEY").empty())
    s.api_key = env("MEDIAX_API_KEY");
  else
    s.api_key = file.api_key;
  return s;
}

std::string seg(const std::string& s) { return url_encode(s); }

Api::Api(Settings s) : settings_(std::move(s)) {
  HttpClientOptions opts;
  opts.connect_timeout = std::chrono::seconds(5);
  opts.read_timeout = std::chrono::seconds(60);
  opts.user_agent = std::string("mediaxctl/") + MEDIAX_VERSION;
  http_ = make_http_client(opts);
}

Api::~Api() = default;

json Api::get(const std::string& path) { return call("GET", path, nullptr); }
json Api::post(const std::string& path, const json& body) { return call("POST", path, &body); }
json Api::del(const std::string& path) { return call("DELETE", path, nullptr); }
json Api::put(const std::string& path, const json& body) { return call("PUT", path, &body); }

namespace {

HttpClientRequest make_request(const Settings& s, const std::string& method, const std::string& path,
                               const json* body) {
  HttpClientRequest req;
  req.method = method;
  req.url = s.url + path;
  req.headers.emplace_back("Accept", "application/json");
  if (!s.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + s.api_key);
  if (body) {
    req.content_type = "application/json";
    req.body = body->dump();
  }
  return req;
}

[[noreturn]] void cannot_connect(const Settings& s, const std::string& error) {
  throw Failure(kExitNoConnect, "cannot reach mediaxd at " + redact_url(s.url) + " (" + error +
                                    "); is it running? (set --url, MEDIAX_URL or url in ctl.toml)");
}

}  // namespace

std::pair<int, json> Api::raw_get(const std::string& path) {
  auto res = http_->send(make_request(settings_, "GET", path, nullptr));
  if (res.status == 0) cannot_connect(settings_, res.error);
  return {res.status, json::parse(res.body, nullptr, false)};
}

json Api::call(const std::string& method, const std::string& path, const json* body) {
  auto res = http_->send(make_request(settings_, method, path, body));
  if (res.status == 0) cannot_connect(settings_, res.error);
  json j = json::parse(res.body, nullptr, false);
  if (res.status >= 200 && res.status < 300) {
    if (j.is_discarded()) throw Failure(kExitApiError, "the daemon answered " + method + " " + path + " with non-JSON");
    return j;
  }
  std::string code = j.is_object() ? j.value("error", "") : "";
  std::string message = j.is_object() ? j.value("message", "") : "";
  if (message.empty()) message = "HTTP " + std::to_string(res.status);
  std::string text = message;
  if (!code.empty()) text += " (" + code;
  if (j.is_object() && j.contains("platform_code") && j["platform_code"].is_string()) {
    text += ", platform code " + j["platform_code"].get<std::string>();
  }
  if (j.is_object() && j.contains("class") && j["class"].is_string()) text += ", " + j["class"].get<std::string>();
  if (!code.empty()) text += ")";
  if (res.status == 401 || res.status == 403) {
    text += settings_.api_key.empty() ? "; no API key was given (--api-key-file, MEDIAX_API_KEY or api_key in ctl.toml)"
                                      : "; check the API key";
  }
  throw Failure(res.status == 404 ? kExitNotFound : kExitApiError, text);
}

}  // namespace mediax::ctl
