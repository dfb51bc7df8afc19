// An HttpResponse (http/message.hpp) written into a cpp-httplib response, for the httplib forms of
// the console, metrics and WeChat routes that admin_server.cpp still registers. Goes with them
// when the admin API moves to http_server.hpp (issue 20).
#pragma once

#include <httplib.h>

#include "http/message.hpp"

namespace mediax {

inline void write_httplib_response(const HttpResponse& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [name, value] : from.headers) to.set_header(name, value);
  // A redirect has neither: httplib would otherwise send an empty Content-Type.
  if (!from.content_type.empty() || !from.body.empty()) to.set_content(from.body, from.content_type);
}

}  // namespace mediax
