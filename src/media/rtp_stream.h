// One RTP stream of the MediaEngine: its socket, what was negotiated, what it sends (mode,
// playback position, timestamp state) and what it receives (DTMF, inactivity). Internal to
// media_engine.cpp; lives on the engine's loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "media/media_engine.h"
#include "media/recorder.h"
#include "media/rtp_libre.h"
#include "media/rtp_ring.h"

namespace parley::media {

enum class StreamState : std::uint8_t { Offered, Negotiated, Failed };
enum class SendMode : std::uint8_t { Silent, Playing, Looping, Relaying };

struct Stream;

// The ring's tags for streams: a slot and its generation, found by indexing (a hash lookup per
// packet cost 6% of the relay), and a completion still on its way for a closed stream names a
// slot whose generation has moved on.
class StreamSlots {
 public:
  std::uint64_t add(Stream* s) {
    std::uint32_t index;
    if (free_.empty()) {
      index = static_cast<std::uint32_t>(entries_.size());
      entries_.emplace_back();
    } else {
      index = free_.back();
      free_.pop_back();
    }
    Entry& e = entries_[index];
    e.stream = s;
    e.generation = (e.generation + 1) & kGenerationMask;
    return std::uint64_t{e.generation} << 32 | index;
  }
  Stream* find(std::uint64_t tag) const {
    const auto index = static_cast<std::uint32_t>(tag);
    if (index >= entries_.size()) return nullptr;
    const Entry& e = entries_[index];
    return e.generation == (tag >> 32) ? e.stream : nullptr;
  }
  void remove(std::uint64_t tag) {
    const auto index = static_cast<std::uint32_t>(tag);
    if (index >= entries_.size() || entries_[index].generation != (tag >> 32)) return;
    entries_[index].stream = nullptr;
    entries_[index].generation = (entries_[index].generation + 1) & kGenerationMask;
    free_.push_back(index);
  }

 private:
  static constexpr std::uint32_t kGenerationMask = (1u << 29) - 1;  // tags stay below 2^61
  struct Entry {
    Stream* stream = nullptr;
    std::uint32_t generation = 0;
  };
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> free_;
};

struct Stream {
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  // The ring's receive holds the socket open: it is cancelled before `udp` closes it.
  ~Stream() {
    if (ring && fd >= 0) ring->stopReceiving(fd);
    if (slots) slots->remove(ring_tag);
  }

  MediaEngine::Impl* engine = nullptr;  // the owner; outlives the stream
  RtpRing* ring = nullptr;              // the engine's, if its sockets go through io_uring
  StreamSlots* slots = nullptr;         // with `ring`: where ring_tag finds this stream
  std::uint64_t ring_tag = 0;
  StreamId id = 0;
  MemRef<struct rtp_sock> rtp;  // libre's RTP header state (SSRC, sequence); no sockets
  MemRef<udp_sock> udp;          // the stream's one socket, on local_port
  int fd = -1;                   // udp's descriptor (udp owns it)
  std::uint16_t local_port = 0;
  // fd is connect()ed to `remote` (the peer sent from the address its SDP named): sends skip
  // the per-packet route lookup and the kernel delivers only that peer's packets to us. Undone
  // when the remote changes (re-INVITE) or the peer goes quiet (it may send from elsewhere).
  bool connected = false;

  // Negotiated parameters (valid when state == Negotiated).
  StreamState state = StreamState::Offered;
  sa remote{};
  Codec codec = Codec::Pcmu;
  std::uint8_t pt = 0;
  int telephone_event_pt = -1;
  bool may_send = true;

  // Outgoing. `serial` changes with every play/loop/stop/bridge so a deferred playback-done of
  // a replaced playback is recognised as stale.
  SendMode mode = SendMode::Silent;
  std::uint64_t serial = 0;
  std::vector<ClipPtr> clips;
  std::size_t clip_index = 0;
  std::size_t clip_pos = 0;
  PlaybackToken token = 0;
  ClipPtr loop_clip;
  bool resync = true;          // next packet starts a new talk spurt: marker, ts from the clock
  std::uint32_t next_ts = 0;   // timestamp of the sample after the last one sent
  std::uint64_t last_send_ms = 0;
  bool ever_sent = false;

  // Relay into this stream from its bridge peer: out_ts = in_ts + relay_offset.
  std::uint32_t relay_offset = 0;
  std::uint32_t relay_ssrc = 0;
  std::uint32_t relay_last_in_ts = 0;

  Stream* peer = nullptr;             // bridge peer, both ways
  std::shared_ptr<Recorder> recorder;  // shared with the peer while recording
  int record_channel = 0;

  // Incoming.
  MemRef<dtmf_dec> dtmf;      // in-band detector, used while not bridged
  bool saw_telephone_event = false;  // the peer uses RFC 4733: in-band detection is off
  bool have_event = false;
  std::uint32_t event_ts = 0;
  std::uint8_t event_code = 0;
  // A key we send (sendDigit): its code, the event's timestamp and the 20 ms ticks sent so far.
  bool sending_event = false;
  std::uint8_t out_event_code = 0;
  std::uint32_t out_event_ts = 0;
  std::uint32_t out_event_ticks = 0;
  // The key being pressed when a bridge began (its last packets still arrive): not relayed.
  bool skip_event = false;
  std::uint32_t skip_event_ts = 0;
  std::uint64_t rx_count = 0;
  std::uint64_t seen_rx_count = 0;
  std::uint64_t last_activity_ms = 0;
  std::uint64_t last_rx_ms = 0;  // when the pacing timer last saw rx_count move
  bool timed_out = false;
  bool expect_rtp = true;  // false while the peer said recvonly/inactive (on hold): no timeout
};

}  // namespace parley::media
