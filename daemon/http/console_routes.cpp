#include "http/console_routes.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mediax {

namespace fs = std::filesystem;

namespace {

// No inline script or style, nothing from elsewhere; the API is same-origin.
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

bool safe_segment(const std::string& s) {
  if (s.empty() || s.front() == '.') return false;  // "", ".", "..", hidden files
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '\\' || c == ':') return false;
  }
  return true;
}

HttpResponse console_error(int status, const std::string& text) {
  HttpResponse res;
  res.status = status;
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.content_type = "text/plain; charset=utf-8";
  res.body = text + "\n";
  return res;
}

}  // namespace

std::string find_console_dir() {
  for (const std::string& d : {std::string(MEDIAX_SOURCE_DIR) + "/admin/web", std::string("/usr/share/mediax/web"),
                               std::string("/usr/local/share/mediax/web")}) {
    if (fs::is_directory(d)) return d;
  }
  return std::string(MEDIAX_SOURCE_DIR) + "/admin/web";
}

std::optional<std::string> console_file(const std::string& dir, const std::string& request_path) {
  const std::string prefix = "/console/";
  if (request_path.rfind(prefix, 0) != 0) return std::nullopt;
  std::string rel = request_path.substr(prefix.size());
  if (rel.empty()) rel = "index.html";
  if (rel.size() > 255) return std::nullopt;
  std::size_t start = 0;
  while (true) {
    auto slash = rel.find('/', start);
    if (!safe_segment(rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start))) {
      return std::nullopt;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return std::nullopt;
  const fs::path file = fs::canonical(root / rel, ec);
  if (ec || !fs::is_regular_file(file, ec)) return std::nullopt;
  // A symlink must not lead out of the directory.
  auto r = root.native();
  if (file.native().rfind(r + "/", 0) != 0) return std::nullopt;
  return file.string();
}

std::string console_content_type(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

HttpResponse console_redirect_answer() {
  HttpResponse res;
  res.redirect("/console/", 301);
  return res;
}

HttpResponse console_answer(const std::string& dir, const std::string& request_path) {
  auto file = console_file(dir, request_path);
  if (!file) return console_error(404, "not found");
  std::ifstream in(*file, std::ios::binary);
  if (!in) return console_error(404, "not found");
  std::ostringstream body;
  body << in.rdbuf();
  const bool index = fs::path(*file).filename() == "index.html";
  HttpResponse res;
  res.status = 200;
  res.set_header("Cache-Control", index ? "no-store" : "no-cache");
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.content_type = console_content_type(*file);
  res.body = body.str();
  return res;
}

}  // namespace mediax
