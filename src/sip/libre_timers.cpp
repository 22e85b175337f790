// Ordered timers for libre 1.1 (libre_timers.h).
#include "sip/libre_timers.h"

#include <cstdint>
#include <map>
#include <utility>

#include "sip/libre.h"

namespace {

// Ordered by due jiffy, then by start order: libre fires timers due at the same jiffy in the
// order they were started.
using Key = std::pair<std::uint64_t, std::uint64_t>;

struct ThreadTimers {
  std::map<Key, tmr*> due;
  std::uint64_t started = 0;

  // The thread is ending: whatever is still pending will never fire. Left not running, so a
  // later tmr_cancel (from an object outliving the thread) does not reach this freed map.
  ~ThreadTimers() {
    for (auto& [key, t] : due) {
      t->th = nullptr;
      t->le = le{};
    }
  }
};

thread_local ThreadTimers t_timers;

// While a timer is in a map, its list element records where: `prev` the owning thread's
// ThreadTimers and `data` its start number. `list` and `next` stay null, so the element is
// not linked into any libre list (list_unlink on it is a no-op).
ThreadTimers* ownerOf(const tmr* t) { return static_cast<ThreadTimers*>(static_cast<void*>(t->le.prev)); }

void unlinkTimer(tmr* t) {
  if (ThreadTimers* owner = ownerOf(t)) {
    owner->due.erase(Key{t->jfs, reinterpret_cast<std::uintptr_t>(t->le.data)});
  }
  t->le = le{};
}

}  // namespace

extern "C" {

void tmr_start(tmr* t, std::uint64_t delay, tmr_h* th, void* arg) {
  if (t == nullptr) return;
  if (t->th != nullptr) unlinkTimer(t);
  t->th = th;
  t->arg = arg;
  if (th == nullptr) return;
  t->jfs = tmr_jiffies() + delay;
  ThreadTimers& mine = t_timers;
  const std::uint64_t n = mine.started++;
  mine.due.emplace(Key{t->jfs, n}, t);
  t->le.prev = static_cast<le*>(static_cast<void*>(&mine));
  t->le.data = reinterpret_cast<void*>(static_cast<std::uintptr_t>(n));
}

// libre's loop passes its own (now empty) list; the calling thread's map is the one polled.
void tmr_poll(list* /*tmrl*/) {
  ThreadTimers& mine = t_timers;
  const std::uint64_t now = tmr_jiffies();
  while (!mine.due.empty()) {
    auto first = mine.due.begin();
    if (first->first.first > now) break;
    tmr* t = first->second;
    mine.due.erase(first);
    tmr_h* th = t->th;
    void* arg = t->arg;
    t->th = nullptr;
    t->le = le{};
    // The handler may start, cancel or free this or any other timer.
    if (th != nullptr) th(arg);
  }
}

// As libre: 0 when no timer is pending (the loop then waits for I/O only), 1 when one is
// overdue, otherwise the milliseconds until the first is due.
std::uint64_t tmr_next_timeout(list* /*tmrl*/) {
  const ThreadTimers& mine = t_timers;
  if (mine.due.empty()) return 0;
  const std::uint64_t now = tmr_jiffies();
  const std::uint64_t first = mine.due.begin()->first.first;
  return first <= now ? 1 : first - now;
}

}  // extern "C"

namespace parley::sip {

std::size_t libreTimersPending() { return t_timers.due.size(); }

bool libreTimersInterposed() {
  tmr probe{};
  tmr_start(&probe, 60'000, [](void*) {}, nullptr);
  const std::size_t before = libreTimersPending();
  // Defined in libre.so, which calls tmr_start through its PLT: with the interposition in
  // place that call lands above and removes the probe from this thread's map.
  tmr_cancel(&probe);
  const bool reached = libreTimersPending() + 1 == before;
  if (!reached) unlinkTimer(&probe);
  return reached;
}

}  // namespace parley::sip
