#include "store/pg_util.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include <pqxx/except>

#include "core/partitions.hpp"
#include "store/store.hpp"

namespace mediax::pg {

std::string time_param(TimePoint t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::int64_t sec = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
  const std::int64_t frac = us - sec * 1000000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(sec), static_cast<long long>(frac));
  return buf;
}

std::optional<std::string> time_param(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return time_param(*t);
}

TimePoint from_epoch_us(std::int64_t us) {
  return TimePoint(std::chrono::duration_cast<SysClock::duration>(std::chrono::microseconds(us)));
}

std::string text_array_param(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

std::vector<std::string> parse_text_array(const std::optional<std::string>& json_text) {
  std::vector<std::string> out;
  if (!json_text || *json_text == "[]") return out;  // the common case, without a JSON parser
  const auto j = nlohmann::json::parse(*json_text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

nlohmann::json parse_json_object(const std::optional<std::string>& json_text) {
  if (!json_text) return nlohmann::json::object();
  auto j = nlohmann::json::parse(*json_text, nullptr, false);
  if (j.is_discarded()) return nlohmann::json::object();
  return j;
}

namespace {

std::string describe(const std::string& url);

// key=value connection string: every pair but the password (values shown unquoted).
std::string describe_keyword_form(const std::string& s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size()) break;
    std::string key;
    while (i < s.size() && s[i] != '=' && !std::isspace(static_cast<unsigned char>(s[i]))) key += s[i++];
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size() || s[i] != '=') return "(unparsable connection string)";
    ++i;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::string value;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
      if (i >= s.size()) return "(unparsable connection string)";
      ++i;
    } else {
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
    }
    if (key == "password") continue;
    if (key == "dbname" && value.find_first_of("=:") != std::string::npos) value = describe(value);  // nested conninfo
    if (!out.empty()) out += ' ';
    out += key + '=' + value;
  }
  return out.empty() ? "(defaults)" : out;
}

// postgresql://user:secret@host/db?password=x -> postgresql://user@host/db
std::string describe_uri_form(const std::string& s) {
  const auto scheme_end = s.find("://") + 3;
  const auto authority_end = s.find_first_of("/?", scheme_end);
  std::string authority =
      s.substr(scheme_end, authority_end == std::string::npos ? std::string::npos : authority_end - scheme_end);
  std::string rest = authority_end == std::string::npos ? "" : s.substr(authority_end);
  if (const auto at = authority.rfind('@'); at != std::string::npos) {
    const std::string userinfo = authority.substr(0, at);
    authority = userinfo.substr(0, userinfo.find(':')) + authority.substr(at);
  }
  if (const auto q = rest.find('?'); q != std::string::npos) {
    std::string query;
    std::size_t i = q + 1;
    while (i <= rest.size()) {
      auto amp = rest.find('&', i);
      if (amp == std::string::npos) amp = rest.size();
      const std::string param = rest.substr(i, amp - i);
      if (!param.empty() && param.rfind("password=", 0) != 0) query += (query.empty() ? "?" : "&") + param;
      i = amp + 1;
    }
    rest = rest.substr(0, q) + query;
  }
  return s.substr(0, scheme_end) + authority + rest;
}

std::string describe(const std::string& url) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return describe_uri_form(url);
  return describe_keyword_form(url);
}

}  // namespace

std::string describe_db_url(const std::string& url) { return describe(url); }

std::string int_array_literal(const std::vector<int>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i > 0 ? "," : "") + std::to_string(values[i]);
  return out + "}";
}

std::string partition_sql(const std::string& column, const std::vector<int>* only) {
  if (only == nullptr) return "";
  return " AND " + column + " % " + std::to_string(kPartitionCount) + " = ANY('" + int_array_literal(*only) +
         "'::int[])";
}

void fetch_in_batches(pqxx::transaction_base& tx, const std::string& cursor, const std::string& query,
                      std::size_t batch_rows, const std::function<void(const pqxx::result&)>& fn) {
  const std::size_t rows = std::max<std::size_t>(1, batch_rows);
  const std::string name = tx.quote_name(cursor);
  tx.exec("SET LOCAL cursor_tuple_fraction = 1.0");  // default 0.1 favours fast-start plans
  tx.exec("DECLARE " + name + " NO SCROLL CURSOR FOR " + query);
  const std::string fetch = "FETCH FORWARD " + std::to_string(rows) + " FROM " + name;
  // A helper thread fetches the next batch while fn works on this one: the server produces rows
  // while the client converts them. The transaction is used by the helper alone until it is
  // joined; at most two batches wait.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<pqxx::result> ready;
  bool done = false;
  bool quit = false;
  std::exception_ptr fetch_error;
  std::thread fetcher([&] {
    try {
      for (;;) {
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return ready.size() < 2 || quit; });
          if (quit) break;
        }
        pqxx::result res = tx.exec(fetch);
        const bool last = res.size() < rows;
        std::lock_guard lk(mu);
        if (!res.empty()) ready.push_back(std::move(res));
        if (last) break;
        cv.notify_all();
      }
    } catch (...) {
      std::lock_guard lk(mu);
      fetch_error = std::current_exception();
    }
    std::lock_guard lk(mu);
    done = true;
    cv.notify_all();
  });
  try {
    for (;;) {
      pqxx::result res;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return !ready.empty() || done; });
        if (ready.empty()) break;
        res = std::move(ready.front());
        ready.pop_front();
        cv.notify_all();
      }
      fn(res);
    }
  } catch (...) {
    {
      std::lock_guard lk(mu);
      quit = true;
    }
    cv.notify_all();
    fetcher.join();
    throw;
  }
  fetcher.join();
  if (fetch_error) std::rethrow_exception(fetch_error);
  tx.exec("CLOSE " + name);
}

std::string primary_message(const std::string& what) {
  std::string line = what.substr(0, what.find('\n'));
  for (const char* prefix : {"ERROR:  ", "FATAL:  "}) {
    if (line.rfind(prefix, 0) == 0) line.erase(0, std::char_traits<char>::length(prefix));
  }
  return line;
}

void rethrow_translated(const std::string& context) {
  try {
    throw;
  } catch (const StoreError&) {
    throw;
  } catch (const DuplicateError&) {
    throw;
  } catch (const pqxx::unique_violation&) {
    throw DuplicateError(context + ": already exists");
  } catch (const pqxx::foreign_key_violation&) {
    throw StoreError(context + ": the app or grant it refers to does not exist");
  } catch (const pqxx::in_doubt_error&) {
    throw DatabaseUnreachableError(context + ": connection lost while committing; outcome unknown");
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseUnreachableError(context + ": database connection lost: " + primary_message(e.what()));
  } catch (const pqxx::sql_error& e) {
    throw StoreError(context + ": database error " + e.sqlstate() + ": " + primary_message(e.what()));
  } catch (const pqxx::failure& e) {
    throw StoreError(context + ": database failure: " + primary_message(e.what()));
  } catch (const std::exception& e) {
    throw StoreError(context + ": " + primary_message(e.what()));
  }
}

}  // namespace mediax::pg
