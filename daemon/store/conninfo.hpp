// libpq connection strings: the database password added to database.url when it comes from a
// file or a systemd credential (database.password_file) instead of the URL.
#pragma once

#include <string>

namespace mediax {

// url with password=... added, in the URL's own syntax: a query parameter (percent-encoded) for a
// postgresql:// URI, a quoted keyword for "host=... dbname=..." strings. "" leaves url as it is.
// The result holds the password: never log it.
std::string with_password(const std::string& url, const std::string& password);

}  // namespace mediax
