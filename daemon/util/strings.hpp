// ASCII string helpers written once for the whole daemon (header names, schemes, scope lists, key files).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mediax::util {

// ASCII lower case; other bytes (UTF-8 included) stay as they are.
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

// Without leading and trailing bytes from ws (by default spaces, tabs and line ends).
std::string_view trim(std::string_view s, std::string_view ws = " \t\r\n");

// The non-empty pieces of s between any of the delimiter bytes ("a, b" by ", " -> {"a", "b"}).
std::vector<std::string> split(std::string_view s, std::string_view delimiters);

// Text a client (or a platform) sent, made safe for one log line: CR, LF and TAB become \r \n \t,
// every other C0 control byte (ESC included) and DEL become \xNN, and a backslash becomes \\ so an
// escape written by the sender cannot pass for one made here. Nothing else changes (UTF-8 stays).
// A line break a client smuggled into a path or header can then never start a forged log line.
// runtime/logging.cpp applies it to every message of the text log; the JSON log escapes by JSON.
std::string escape_control(std::string_view s);

// s as valid UTF-8 text a database column takes: each byte that does not begin a well-formed
// UTF-8 character (overlong forms, surrogates and code points past U+10FFFF included), and NUL,
// becomes U+FFFD. A percent-decoded path (GET /v1/apps/%FF) may carry any bytes; PostgreSQL
// refuses such text with an error instead of storing it.
std::string valid_utf8(std::string_view s);

// Overwrites the bytes of s with zeros in a way the compiler may not drop (explicit_bzero), then
// empties it: a decrypted client secret or refresh token once the platform call that needed it
// is done. crypto::secure_wipe is the same with OPENSSL_cleanse, for the layers that have OpenSSL.
void secure_wipe(std::string& s);

}  // namespace mediax::util
