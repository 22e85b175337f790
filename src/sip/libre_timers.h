// Ordered timers for libre 1.1: Parley's own tmr_start, tmr_poll and tmr_next_timeout.
//
// libre 1.1 keeps each thread's timers in one sorted linked list and inserts a timer by
// walking that list from its tail. Over UDP every SIP transaction keeps a 32 s timer
// (64*T1: RFC 6026 Timer L for an accepted INVITE, RFC 3261 Timer J for a BYE), so at
// 200 calls/s a SIP thread holds about 13,000 of them, and every shorter timer libre starts
// (the 2xx and request retransmission timers, Timer K) walks past nearly all of them. Perf
// showed that walk as the SIP thread's largest cost once the load had run for 30 s.
//
// libre_timers.cpp defines those three functions, so the executable's definitions take the
// place of libre's (libre.so calls its own timer functions through the PLT, so its internal
// calls reach them too): each thread keeps its timers in an ordered map, O(log n) to start,
// cancel or fire. Semantics are libre's: a timer is due at tmr_jiffies() + delay; timers due
// at the same jiffy fire in the order they were started; tmr_cancel (libre's own, which calls
// tmr_start with no handler) and tmr_isrunning/tmr_get_expire (which read the struct) work
// unchanged. The struct tmr's list element is not linked into any libre list while ours.
//
// The target linking this (parley_libre_timers) is built only against libre 1.x, whose
// re_tmr.h declares these functions; CMake refuses other versions rather than guess.
#pragma once

#include <cstddef>

namespace parley::sip {

// Timers pending on the calling thread.
std::size_t libreTimersPending();

// True when libre's own code reaches these timer functions: a timer started here is
// cancelled through libre's tmr_cancel, which must find it in this thread's map.
bool libreTimersInterposed();

}  // namespace parley::sip
