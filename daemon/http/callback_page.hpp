// The HTML page GET /oauth/callback shows the person who just connected an account: a title and
// a message (escaped), green when it worked, with a link back to the console.
#pragma once

#include <string>

namespace mediax {

std::string html_escape(const std::string& s);
std::string callback_page(const std::string& title, const std::string& message, bool ok);

}  // namespace mediax
