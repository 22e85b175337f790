// What GET /api/status reports about the running server: counters the app reads from the
// threads that own them (app/voice_wiring.cpp) and hands to the API through
// ApiServices::status. Plain values, so the web library needs neither media nor the voice side.
//
// Thread rule: values; copied freely between threads.
#pragma once

#include <cstdint>
#include <optional>

namespace parley::web {

// The media engine's counters (media::MediaStats); all but streams_open count since start.
struct MediaCounters {
  std::uint64_t streams_open = 0;      // RTP streams open now (one per call leg with media)
  std::uint64_t packets_received = 0;  // RTP packets read from the streams' sockets
  std::uint64_t packets_sent = 0;      // RTP packets sent: relayed, prompts, music, keys
  std::uint64_t packets_relayed = 0;   // received on a bridged stream and sent on its peer
  std::uint64_t packets_dropped = 0;   // malformed, unknown payload type, closed stream
  bool io_uring = false;               // the RTP sockets go through io_uring (else epoll)
};

// The voice controller's calls: those in progress now and counters since start.
struct CallCounters {
  std::uint64_t active = 0;      // calls in progress (IVR, queue, ringing, talking, callbacks)
  std::uint64_t started = 0;     // inbound calls answered
  std::uint64_t rejected = 0;    // inbound calls refused (no entry point, bad SDP, ...)
  std::uint64_t ended = 0;       // calls finished, inbound and callbacks
  std::uint64_t agent_legs = 0;  // INVITEs placed to agents' phones
};

// Each part is nullopt when its owner is not running (voice not attached yet, or stopping)
// or did not answer within the status call's bound.
struct ServerStatus {
  std::optional<MediaCounters> media;
  std::optional<CallCounters> calls;
};

}  // namespace parley::web
