// mediax-bench-sql: prints the database work of one scheduled grant refresh as a pgbench script,
// with the daemon's own statements (daemon/store/refresh_sql.hpp) and each array parameter made a
// one-element array of pgbench variables: :id (the grant) and :app (its app), which the caller
// sets with \set. bench/run.sh catchup replays it with pgbench to measure the database's limit.
// The transactions are PgStore's: lease and reads, then the result, then the event.
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "store/refresh_sql.hpp"

namespace {

// $1..$n of `sql` replaced by values[0..n-1].
std::string bind(const std::string& sql, const std::vector<std::string>& values) {
  static const std::regex param(R"(\$(\d+))");
  std::string out;
  auto last = sql.cbegin();
  for (std::sregex_iterator it(sql.begin(), sql.end(), param), end; it != end; ++it) {
    out.append(last, sql.cbegin() + it->position());
    out += values.at(std::stoul((*it)[1]) - 1);
    last = sql.cbegin() + it->position() + it->length();
  }
  out.append(last, sql.cend());
  return out + ";\n";
}

const std::string kNow = "extract(epoch from now())";

}  // namespace

int main() {
  using namespace mediax::pg;
  const std::string id = "ARRAY[:id]", app = "ARRAY[:app]", owner = "ARRAY['pgbench']";
  const std::string no_time = "ARRAY[NULL::float8]", no_text = "ARRAY[NULL::text]";
  std::cout << "BEGIN;\n"
            // due_s NULL: the grants pgbench takes need not be due.
            << bind(refresh_sql::kLease, {id, owner, "ARRAY[" + kNow + "]", "ARRAY[" + kNow + " + 60]", no_time})
            << bind(refresh_sql::apps(), {app}) << bind(refresh_sql::tokens(), {id}) << "COMMIT;\n"
            << "BEGIN;\n"
            // A refresh that keeps its refresh token (the common case) and gets a new access token.
            << bind(refresh_sql::kComplete,
                    {id, owner, no_text, no_time, "ARRAY['']", "ARRAY[" + kNow + " + 2880]", "ARRAY['{}']",
                     "ARRAY[md5(random()::text) || md5(random()::text)]", "ARRAY['Bearer']", "ARRAY['[]']",
                     "ARRAY[" + kNow + " + 3600]", no_time, no_time, no_text})
            << "COMMIT;\n"
            << bind(refresh_sql::kEvents, {app, id, "ARRAY['refreshed']", R"(ARRAY['{"rotated": false}'])", no_time});
  return std::cout ? 0 : 1;
}
