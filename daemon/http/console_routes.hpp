// The web console: static files from admin/web served at /console/ (GET, no API key: the page's
// script calls the API with the key the operator signs in with).
#pragma once

#include <optional>
#include <string>

#include "http/message.hpp"

namespace mediax {

// MEDIAX_SOURCE_DIR/admin/web, else /usr/share/mediax/web, else /usr/local/share/mediax/web (the
// first that exists; the source tree's when none does).
std::string find_console_dir();

// The file under `dir` that `request_path` (as decoded by the server, starting with "/console/")
// names: "/console/" is index.html. nullopt for anything that is not a plain relative name of a
// regular file inside `dir` ("..", ".", hidden files, backslashes, control characters, symlinks out).
std::optional<std::string> console_file(const std::string& dir, const std::string& request_path);

// Content-Type by extension (text/html, text/css, text/javascript, image/png, ...; charset for text).
std::string console_content_type(const std::string& path);

// GET /console: 301 to /console/.
HttpResponse console_redirect_answer();
// GET /console/...: the file console_file() finds under `dir` for `request_path`, with the console's
// headers (Content-Security-Policy, no caching of index.html, ...), or 404 "not found" as text.
HttpResponse console_answer(const std::string& dir, const std::string& request_path);

}  // namespace mediax
