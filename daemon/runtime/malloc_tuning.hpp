// glibc malloc's settings for a daemon holding a million small objects.
//
// How many malloc arenas the process may use. glibc gives threads up to 8 per core, each a heap
// of its own: with a hundred refresh workers and the HTTP threads, memory freed in one arena
// cannot serve another, and a daemon holding a third of a million tokens kept ~15 % more
// resident than with two arenas (bench/RESULTS.md, partitions). On a few cores more arenas buy
// little: only that many threads run at once.
#pragma once

namespace mediax {

// Caps the arenas at the number of cores (at least 2), before the daemon starts its threads.
// An operator's MALLOC_ARENA_MAX in the environment wins: nothing is changed then. Returns the
// cap set, or 0 when it was left alone.
int cap_malloc_arenas();

// Fixes malloc's mmap threshold at 128 KiB: a larger block that the heap's free memory cannot hold
// becomes a mapping of its own, unmapped when freed, instead of growing the heap. glibc raises the
// threshold (up to 32 MiB) each time such a block is freed, so after the start-up load freed its
// large batches, the timer wheel's arrays and the next loads' batches grew the heap, where what
// they left could not be given back between the blocks that stayed (~20 MB of 230 resident at a
// million tokens, bench/RESULTS.md). An operator's
// MALLOC_MMAP_THRESHOLD_ wins. Returns whether the threshold was set.
bool fix_malloc_mmap_threshold();

}  // namespace mediax
