// `mediaxd rotate-key`: re-seals every stored secret under the current key while daemons run;
// and the start-up check that every stored secret can be opened with the keys loaded.
#pragma once

#include <iosfwd>
#include <string>

#include "config/config.hpp"
#include "crypto/sealer.hpp"

namespace mediax {

// Loads the keys of `config`, re-seals whatever is not under the current key (plain text from
// before encryption included) and prints what it did on `out`. Returns 0 when every stored
// secret is now sealed with the current key, 1 otherwise (unreadable rows, values another
// daemon wrote with an old key meanwhile, database or key problems; said on `err`).
int run_rotate_key(const Config& config, int batch_size, std::ostream& out, std::ostream& err);

// Counts stored secrets by key id. Returns "" when all of them open with `sealer`'s keys, else
// the problem (which key ids are missing, how many values, what to configure). `plain` is set to
// the number of values the upgrade step of `mediaxd migrate` has yet to change (plain text, app
// secrets not bound to their endpoints): the daemon never uses them.
std::string check_stored_key_ids(const std::string& db_url, const crypto::Sealer& sealer, long long& plain);

}  // namespace mediax
