#include "http/callback_page.hpp"

namespace mediax {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string callback_page(const std::string& title, const std::string& message, bool ok) {
  return "<!doctype html><html><head><meta charset=\"utf-8\"><title>mediax: " + html_escape(title) +
         "</title><style>body{font-family:sans-serif;max-width:40em;margin:4em auto;padding:0 1em}"
         "h1{color:" +
         std::string(ok ? "#1a7f37" : "#b42318") + "}</style></head><body><h1>" + html_escape(title) + "</h1><p>" +
         html_escape(message) + "</p><p><a href=\"/console/\">Back to the console</a></p></body></html>";
}

}  // namespace mediax
