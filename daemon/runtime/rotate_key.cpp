#include "runtime/rotate_key.hpp"
#include "runtime/credentials.hpp"

#include <map>
#include <ostream>

#include "runtime/local_audit.hpp"
#include "runtime/seal_keys.hpp"
#include "store/pg_store.hpp"

namespace mediax {

namespace {

// A store for the key tools only: the Sealer is shared but not owned by it.
std::shared_ptr<const crypto::Sealer> borrow(const crypto::Sealer& s) {
  return std::shared_ptr<const crypto::Sealer>(&s, [](const crypto::Sealer*) {});
}

void print_counts(std::ostream& out, const std::vector<pg::SealedValueCount>& counts) {
  if (counts.empty()) out << "  (no stored secrets)\n";
  for (const auto& c : counts) {
    out << "  " << c.column << ": " << c.count
        << (c.key_id.empty() ? " in plain text" : " sealed with " + c.key_id + " (v" + std::to_string(c.version) + ")")
        << "\n";
  }
}

}  // namespace

std::string check_stored_key_ids(const std::string& db_url, const crypto::Sealer& sealer, long long& plain) {
  pg::PgStore store(db_url, 1, borrow(sealer));
  std::map<std::string, long long> missing;
  plain = 0;
  // Values under the current key are loaded by definition: not looked at (most of the scan's work).
  for (const auto& c : store.count_sealed_values(sealer.current_key_id())) {
    if (c.needs_upgrade()) plain += c.count;
    if (c.key_id.empty()) {
      continue;
    } else if (!sealer.has_key(c.key_id)) {
      missing[c.key_id] += c.count;
    }
  }
  if (missing.empty()) return "";
  std::string why = "stored secrets are sealed with keys that are not loaded:";
  for (const auto& [id, n] : missing) why += " " + std::to_string(n) + " with " + id + ";";
  return why +
         " add the key file(s) of these ids to security.previous_key_files (a key's id is shown at start-up "
         "and by `mediaxd rotate-key`)";
}

int run_rotate_key(const Config& config, int batch_size, std::ostream& out, std::ostream& err) {
  LoadedSealKeys keys;
  try {
    keys = load_seal_keys(config.security);
  } catch (const std::exception& e) {
    err << "mediaxd: rotate-key: " << e.what() << "\n";
    return 1;
  }
  for (const auto& w : keys.warnings) err << "mediaxd: warning: " << w << "\n";
  const std::string current = keys.sealer->current_key_id();
  out << "keys:\n";
  for (const auto& d : keys.described) out << "  " << d << "\n";
  try {
    pg::PgStore store(database_url(config), 2, keys.sealer);
    LocalAudit audit(store, "rotate-key");  // no record, no rotation
    out << "before:\n";
    print_counts(out, store.count_sealed_values());
    const auto report = store.reseal_all(batch_size);
    out << "re-sealed under " << current << ":\n";
    std::size_t unreadable = 0;
    for (const auto& r : report) {
      out << "  " << r.column << ": " << r.resealed << " re-sealed, " << r.sealed_plain << " plain values sealed, "
          << r.bound << " bound to their endpoint, " << r.changed_concurrently << " rewritten meanwhile by a daemon, " << r.unreadable.size() << " unreadable\n";
      for (const auto& u : r.unreadable) err << "mediaxd: rotate-key: " << u << "\n";
      unreadable += r.unreadable.size();
    }
    const auto after = store.count_sealed_values();
    out << "after:\n";
    print_counts(out, after);
    long long other = 0;
    for (const auto& c : after) {
      if (c.key_id != current) other += c.count;
    }
    other -= static_cast<long long>(unreadable);
    if (unreadable > 0) {
      err << "mediaxd: rotate-key: " << unreadable
          << " value(s) do not decrypt (changed or copied from another row): re-register the app or reconnect the "
             "account; they stay as they are\n";
    }
    if (other > 0) {
      err << "mediaxd: rotate-key: " << other
          << " value(s) were written meanwhile with another key, by a daemon that still seals with an old key: "
             "restart every daemon with the new security.key_file and run rotate-key again. Keep the old keys "
             "until then\n";
    }
    audit.done("sealed with " + current + "; " + std::to_string(unreadable) + " unreadable, " +
               std::to_string(other) + " under another key");
    if (unreadable > 0 || other > 0) return 1;
    out << "done: every stored secret is sealed with " << current
        << "; the old key files may now be removed from security.previous_key_files (keep them as long as backups "
           "made before today may be restored)\n";
    return 0;
  } catch (const std::exception& e) {
    err << "mediaxd: rotate-key failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace mediax
