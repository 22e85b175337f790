#include "media/media_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <unordered_map>

#include "media/rtp_g711.h"
#include "media/rtp_libre.h"
#include "media/rtp_ring.h"
#include "media/rtp_stream.h"
#include "media/sdp_negotiation.h"

namespace parley::media {
namespace {

constexpr std::uint64_t kTickMs = 20;
constexpr std::uint64_t kMaxCatchUpFrames = 5;   // after a stall, send at most 100 ms at once
constexpr std::uint64_t kTimeoutCheckTicks = 5;  // inactivity checked every 100 ms
constexpr std::size_t kDecodeChunk = 320;
// An incoming timestamp moving further than this (either way) restarts the relay mapping.
constexpr std::int32_t kMaxTimestampJump = 10 * kSampleRate;
// A connected stream whose peer sent nothing for this long is disconnected, so that a peer now
// sending from another address (a NAT rebinding, a phone that moved without a re-INVITE) is
// heard again; it is connected again at its next packet from the negotiated address.
constexpr std::uint64_t kDisconnectQuietMs = 500;
// The longest RTP datagram taken (G.711 up to 120 ms per packet), on either kind of socket
// service; longer ones are dropped and counted.
constexpr std::size_t kMaxDatagram = RtpRing::kMaxDatagram;
constexpr std::size_t kReceiveBufferSize = kMaxDatagram + 1;  // one more: a longer one shows
// io_uring: a wake-up that handled more completions than this switches the engine from waking
// per packet to collecting every kRingPollMs; a collection that finds fewer than
// kRingWakeBelow switches back. Between the two, the loop neither spins nor wakes per packet.
constexpr std::size_t kRingPollAbove = 32;
constexpr std::size_t kRingWakeBelow = 8;
constexpr std::uint64_t kRingPollMs = 1;
// Collections per wake-up (each one io_uring_enter): the last submits what the one before
// queued; bounded so that a flood cannot hold the loop.
constexpr int kRingRounds = 8;
// 2 MiB of 1 KiB buffers: at 1,000 calls a millisecond's collection holds about 100 packets;
// when all are out, receives wait in the sockets until buffers come back.
constexpr unsigned kRingBuffers = 2048;
// A send's tag: the stream it is for, whether it relays a packet, whether it is a second try.
constexpr std::uint64_t kTagRelayed = std::uint64_t{1} << 60;
constexpr std::uint64_t kTagRetried = std::uint64_t{1} << 59;
constexpr std::uint64_t kTagStream = kTagRetried - 1;

}  // namespace

struct MediaEngine::Impl final : RtpRingHandler {
  MediaEngineConfig config;
  MediaEvents events;
  SdpParams sdp;
  sa bind_address{};
  std::uint16_t port_min = 0;  // even
  std::uint16_t port_max = 0;
  std::uint16_t next_port = 0;  // where the port search starts (rotates)

  // Declared before the streams: a stream cancels its receive on the ring as it closes.
  std::unique_ptr<RtpRing> ring;
  StreamSlots ring_streams;  // the streams by their ring tags
  bool ring_collecting = false;  // under load: collected by ring_timer, not woken per packet
  tmr ring_timer{};
  // The received datagram being handled, while it lies in a ring buffer: a relay sends it from
  // there (sendRelayed) and the buffer is then the send's.
  const mbuf* ring_packet = nullptr;
  std::uint16_t ring_packet_buffer = 0;
  bool ring_packet_taken = false;

  std::unordered_map<StreamId, std::unique_ptr<Stream>> streams;
  // The streams the pacing tick has work for: playing, looping or sending a key. Added when
  // that starts; dropped by the tick once it has ended or the stream is gone. Bridged streams,
  // the most, are never visited by the tick.
  std::set<StreamId> paced;
  StreamId next_id = 1;

  tmr pace_timer{};
  std::uint64_t pace_start_ms = 0;
  std::uint64_t ticks_done = 0;

  // Handler calls wait here until the loop runs the zero-delay defer timer.
  enum class EventKind : std::uint8_t { Dtmf, PlaybackDone, Timeout };
  struct Pending {
    EventKind kind;
    StreamId stream;
    std::uint64_t serial;
    PlaybackToken token;
    char key;
    DtmfSource source;
  };
  tmr defer_timer{};
  std::vector<Pending> pending;
  std::vector<Pending> draining;

  MemRef<mbuf> frame;  // reused for every paced frame
  MemRef<mbuf> received;  // every stream's datagrams are read into this one, one at a time
  MediaStats stats;

  ~Impl() {
    tmr_cancel(&pace_timer);
    tmr_cancel(&defer_timer);
    tmr_cancel(&ring_timer);
    for (auto& [id, s] : streams) unbridgeStream(*s);
    streams.clear();
    if (ring && !ring_collecting) fd_close(ring->notifyFd());
  }

  Stream* find(StreamId id) const {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second.get();
  }

  // --- deferred events -------------------------------------------------------------------------

  void defer(Pending p) {
    pending.push_back(p);
    if (!tmr_isrunning(&defer_timer)) tmr_start(&defer_timer, 0, &Impl::onDefer, this);
  }

  static void onDefer(void* arg) {
    auto* self = static_cast<Impl*>(arg);
    self->draining.clear();
    self->draining.swap(self->pending);
    for (const Pending& p : self->draining) self->dispatch(p);
  }

  void dispatch(const Pending& p) {
    Stream* s = find(p.stream);
    if (!s) return;  // closed meanwhile: nothing is reported for a closed stream
    switch (p.kind) {
      case EventKind::Dtmf:
        if (events.on_dtmf) events.on_dtmf(p.stream, p.key, p.source);
        break;
      case EventKind::PlaybackDone:
        if (s->serial == p.serial && events.on_playback_done) events.on_playback_done(p.stream, p.token);
        break;
      case EventKind::Timeout:
        if (events.on_timeout) events.on_timeout(p.stream);
        break;
    }
  }

  void reportDigit(Stream& s, char key, DtmfSource source) {
    defer({EventKind::Dtmf, s.id, 0, 0, key, source});
  }

  // --- ports and streams -----------------------------------------------------------------------

  // Binds an even RTP port from the configured range. No RTCP socket: we neither send nor read
  // RTCP, and one descriptor per stream doubles what a loop can hold (see the header).
  bool bind(Stream& s) {
    if (rtp_alloc(s.rtp.out()) != 0) return false;  // header state only: SSRC, sequence
    const std::uint32_t slots = (static_cast<std::uint32_t>(port_max) - port_min) / 2 + 1;
    for (std::uint32_t i = 0; i < slots; ++i) {
      const std::uint16_t port = next_port;
      next_port = static_cast<std::uint16_t>(port + 2 > port_max ? port_min : port + 2);
      sa local = bind_address;
      sa_set_port(&local, port);
      if (udp_listen(s.udp.out(), &local, nullptr, nullptr) != 0) continue;
      s.fd = udp_sock_fd(s.udp.get(), sa_af(&local));
      if (ring) {
        // The ring reads it; libre only owns (and closes) the socket.
        fd_close(s.fd);
        if (!s.slots) {
          s.ring_tag = ring_streams.add(&s);
          s.slots = &ring_streams;
        }
        if (!ring->receive(s.fd, s.ring_tag)) continue;
        ring->flush();  // armed now, not at the next wake-up: the peer may send at once
        s.ring = ring.get();
      } else if (fd_listen(s.fd, FD_READ, &Impl::onReadable, &s) != 0) {
        // Our reader in place of libre's, which allocates an 8 KiB buffer per datagram (and
        // shrinks it): relaying then allocates nothing per packet. libre still owns the socket
        // and stops watching it when it closes it.
        continue;
      }
      s.local_port = port;
      return true;
    }
    return false;
  }

  // Writes the header of the next RTP packet of `s` before mb's position (which must have room
  // for it) and moves the position back to it: libre's rtp_encode moves the sequence on.
  static bool writeHeader(Stream& s, bool marker, std::uint8_t pt, std::uint32_t ts, mbuf* mb) {
    if (mb->pos < RTP_HEADER_SIZE) return false;
    mb->pos -= RTP_HEADER_SIZE;
    const std::size_t start = mb->pos;
    if (rtp_encode(s.rtp.get(), false, marker, pt, ts, mb) != 0) return false;
    mb->pos = start;
    return true;
  }

  // Sends the payload at mb's position (which must have room for a header before it) as the
  // next RTP packet of `s`.
  bool send(Stream& s, bool marker, std::uint32_t ts, mbuf* mb) { return send(s, marker, s.pt, ts, mb); }
  bool send(Stream& s, bool marker, std::uint8_t pt, std::uint32_t ts, mbuf* mb) {
    if (!writeHeader(s, marker, pt, ts, mb)) return false;
    if (s.connected) {
      const std::size_t len = mbuf_get_left(mb);
      ssize_t n = ::send(s.fd, mbuf_buf(mb), len, 0);
      // A connected socket reports an earlier ICMP error (the peer's port was closed a moment)
      // on the next send instead of sending; an unconnected one never does. Send once more.
      if (n < 0 && errno == ECONNREFUSED) n = ::send(s.fd, mbuf_buf(mb), len, 0);
      if (n < 0) return false;
    } else if (udp_send(s.udp.get(), &s.remote, mb) != 0) {
      return false;
    }
    ++stats.packets_sent;
    return true;
  }

  // Connects the stream's socket to its remote once the peer is seen sending from the address
  // its SDP named: from then on the kernel keeps the route (no lookup per send) and finds the
  // socket for incoming packets by the whole address pair. Peers sending from elsewhere are not
  // connected to: they are heard as before, through the unconnected socket.
  void connectIfFromRemote(Stream& s, const sa& src) {
    if (s.state != StreamState::Negotiated || s.fd < 0 || !sa_cmp(&src, &s.remote, SA_ALL)) return;
    if (::connect(s.fd, &s.remote.u.sa, s.remote.len) != 0) return;
    s.connected = true;
    s.last_rx_ms = tmr_jiffies();
  }

  // Undoes connectIfFromRemote: the socket takes packets from anyone again (its port and
  // address stay bound).
  static void disconnect(Stream& s) {
    if (!s.connected) return;
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    (void)::connect(s.fd, &unspec, sizeof unspec);
    s.connected = false;
  }

  Stream& newStream() {
    auto s = std::make_unique<Stream>();
    s->engine = this;
    s->id = next_id++;
    s->next_ts = rand_u32();
    Stream& ref = *s;
    streams.emplace(ref.id, std::move(s));
    return ref;
  }

  // The first agreement with the peer: the stream starts (see follow() for later ones).
  void applyNegotiated(Stream& s, const RemoteMedia& m) {
    s.state = StreamState::Negotiated;
    follow(s, m);
    s.seen_rx_count = s.rx_count;
    if (dtmf_dec_alloc(s.dtmf.out(), kSampleRate, 1, &Impl::onInBandDigit, &s) != 0) {
      spdlog::warn("media: stream {}: no in-band DTMF detector", s.id);
    }
  }

  // What the peer agreed, first or again (a later offer or answer): where to send, the codec
  // and the telephone-event type; sequence, SSRC and timestamps go on. A codec change reaches a
  // bridge at once (the peer's packets are transcoded for this stream's codec).
  void follow(Stream& s, const RemoteMedia& m) {
    sa remote{};
    if (sa_set_str(&remote, m.address.c_str(), m.port) == 0) {
      if (!sa_cmp(&remote, &s.remote, SA_ALL)) disconnect(s);  // heard again from anywhere
      s.remote = remote;
    }
    s.codec = m.codec;
    s.pt = codecPayloadType(m.codec);
    s.telephone_event_pt = m.telephone_event_pt;
    s.may_send = m.may_send;
    s.expect_rtp = m.peer_sends;
    s.last_activity_ms = tmr_jiffies();  // a held phone may go quiet: its timeout starts over
  }

  // --- sending ---------------------------------------------------------------------------------

  void setMode(Stream& s, SendMode mode) {
    s.mode = mode;
    if (mode == SendMode::Playing || mode == SendMode::Looping) paced.insert(s.id);
    ++s.serial;
    s.resync = true;
    s.clips.clear();
    s.clip_index = s.clip_pos = 0;
    s.loop_clip.reset();
  }

  // The timestamp for a packet starting a talk spurt now: the counter, moved on by the time the
  // stream was silent (whole frames), so the receiver's clock stays in step.
  static std::uint32_t resumeTs(const Stream& s, std::uint64_t now_ms) {
    if (!s.ever_sent || now_ms <= s.last_send_ms) return s.next_ts;
    const std::uint64_t gap = now_ms - s.last_send_ms;
    if (gap <= kTickMs + kTickMs / 2) return s.next_ts;
    const std::uint64_t frames = (gap - kTickMs + kTickMs / 2) / kTickMs;
    return s.next_ts + static_cast<std::uint32_t>(frames * kFrameSamples);
  }

  // Fills one frame from the stream's clips; true when a playback just finished.
  static bool fillFrame(Stream& s, std::int16_t* out) {
    std::size_t filled = 0;
    if (s.mode == SendMode::Looping) {
      const auto& samples = s.loop_clip->samples;
      while (filled < kFrameSamples) {
        if (s.clip_pos >= samples.size()) s.clip_pos = 0;
        const std::size_t n = std::min(kFrameSamples - filled, samples.size() - s.clip_pos);
        std::memcpy(out + filled, samples.data() + s.clip_pos, n * sizeof(std::int16_t));
        filled += n;
        s.clip_pos += n;
      }
      return false;
    }
    while (filled < kFrameSamples && s.clip_index < s.clips.size()) {
      const auto& samples = s.clips[s.clip_index]->samples;
      const std::size_t n = std::min(kFrameSamples - filled, samples.size() - s.clip_pos);
      std::memcpy(out + filled, samples.data() + s.clip_pos, n * sizeof(std::int16_t));
      filled += n;
      s.clip_pos += n;
      if (s.clip_pos >= samples.size()) {
        ++s.clip_index;
        s.clip_pos = 0;
      }
    }
    std::fill(out + filled, out + kFrameSamples, std::int16_t{0});
    return s.clip_index >= s.clips.size();
  }

  void sendFrame(Stream& s, std::uint64_t now_ms) {
    std::int16_t pcm[kFrameSamples];
    const bool done = fillFrame(s, pcm);
    mbuf* mb = frame.get();
    mb->pos = RTP_HEADER_SIZE;
    mb->end = RTP_HEADER_SIZE + kFrameSamples;
    g711Encode(s.codec, pcm, kFrameSamples, mb->buf + RTP_HEADER_SIZE);
    const bool marker = s.resync;
    const std::uint32_t ts = marker ? resumeTs(s, now_ms) : s.next_ts;
    s.resync = false;
    if (s.may_send) (void)send(s, marker, ts, mb);
    s.next_ts = ts + static_cast<std::uint32_t>(kFrameSamples);
    s.last_send_ms = now_ms;
    s.ever_sent = true;
    if (done) {
      const PlaybackToken token = s.token;
      setMode(s, SendMode::Silent);
      // Carries the serial of the now silent stream: a later play() makes the event stale.
      defer({EventKind::PlaybackDone, s.id, s.serial, token, 0, DtmfSource::Rfc4733});
    }
  }

  static constexpr std::uint32_t kEventTicks = 5;  // 100 ms of key press, then 3 end packets

  // One tick of an event we send: an update packet (the first with the marker), or at the end
  // the three end packets (RFC 4733 section 2.5.1.4) with the final duration.
  void sendEventTick(Stream& s, std::uint64_t now_ms) {
    ++s.out_event_ticks;
    const bool end = s.out_event_ticks > kEventTicks;
    const auto duration = static_cast<std::uint16_t>(
        std::min<std::uint32_t>(s.out_event_ticks, kEventTicks) * kFrameSamples);
    const std::uint8_t payload[4] = {s.out_event_code,
                                     static_cast<std::uint8_t>(end ? 0x8a : 0x0a),  // E, volume 10
                                     static_cast<std::uint8_t>(duration >> 8),
                                     static_cast<std::uint8_t>(duration)};
    mbuf* mb = frame.get();
    for (int i = 0; i < (end ? 3 : 1); ++i) {
      mb->pos = RTP_HEADER_SIZE;
      mb->end = RTP_HEADER_SIZE + sizeof payload;
      std::memcpy(mb->buf + RTP_HEADER_SIZE, payload, sizeof payload);
      (void)send(s, s.out_event_ticks == 1, static_cast<std::uint8_t>(s.telephone_event_pt),
                 s.out_event_ts, mb);
    }
    if (end) s.sending_event = false;
    // The event's time counts as sent time: audio that resumes after it continues the clock.
    s.last_send_ms = now_ms;
    s.ever_sent = true;
    const std::uint32_t event_end = s.out_event_ts + duration;
    if (static_cast<std::int32_t>(event_end - s.next_ts) > 0) s.next_ts = event_end;
  }

  static void onPace(void* arg) {
    auto* self = static_cast<Impl*>(arg);
    // Relayed packets still queued on the ring go out before anything the tick sends at once
    // (a key sent into a bridge keeps its place after the audio before it); while woken by the
    // eventfd, the tick also collects, a safety net under ringCycle()'s own check.
    if (self->ring && !self->ring_collecting) {
      self->ringCycle();
    } else if (self->ring) {
      self->ring->flush();
    }
    const std::uint64_t now = tmr_jiffies();
    const std::uint64_t due_total = (now - self->pace_start_ms) / kTickMs + 1;
    std::uint64_t due = due_total > self->ticks_done ? due_total - self->ticks_done : 0;
    if (due > kMaxCatchUpFrames) {
      self->ticks_done += due - kMaxCatchUpFrames;  // a long stall: skip, do not burst
      due = kMaxCatchUpFrames;
    }
    for (std::uint64_t i = 0; i < due; ++i) {
      ++self->ticks_done;
      // A frame may start another stream's playback (inserting into `paced`: iterators stay).
      for (auto it = self->paced.begin(); it != self->paced.end();) {
        Stream* s = self->find(*it);
        const bool playing =
            s && (s->mode == SendMode::Playing || s->mode == SendMode::Looping);
        if (!s || (!playing && !s->sending_event)) {
          it = self->paced.erase(it);
          continue;
        }
        if (s->state == StreamState::Negotiated) {
          if (s->sending_event) self->sendEventTick(*s, now);
          if (playing) self->sendFrame(*s, now);
        }
        ++it;
      }
      if (self->ticks_done % kTimeoutCheckTicks == 0) self->checkTimeouts(now);
    }
    const std::uint64_t next = self->pace_start_ms + self->ticks_done * kTickMs;
    tmr_start(&self->pace_timer, next > now ? next - now : 1, &Impl::onPace, self);
  }

  void checkTimeouts(std::uint64_t now) {
    const auto timeout = static_cast<std::uint64_t>(config.rtp_timeout.count());
    for (auto& [id, s] : streams) {
      if (s->state != StreamState::Negotiated) continue;
      if (s->rx_count != s->seen_rx_count) {
        s->seen_rx_count = s->rx_count;
        s->last_activity_ms = now;
        s->last_rx_ms = now;
        continue;
      }
      if (s->connected && now - s->last_rx_ms >= kDisconnectQuietMs) disconnect(*s);
      if (!s->expect_rtp) {
        s->last_activity_ms = now;  // on hold (recvonly/inactive): silence is expected
      } else if (timeout > 0 && !s->timed_out && now - s->last_activity_ms >= timeout) {
        s->timed_out = true;
        defer({EventKind::Timeout, s->id, 0, 0, 0, DtmfSource::Rfc4733});
      }
    }
  }

  // --- the ring (io_uring) ---------------------------------------------------------------------

  static void onRingNotify(int /*flags*/, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    self->ring->clearNotify();
    self->ringCycle();
  }

  static void onRingTimer(void* arg) {
    auto* self = static_cast<Impl*>(arg);
    self->ringCycle();
    if (self->ring_collecting) tmr_start(&self->ring_timer, kRingPollMs, &Impl::onRingTimer, self);
  }

  // Collects until a round finds nothing (that round submitted what the one before queued),
  // then chooses how the next batch is waited for: woken by the eventfd, or collected by a timer
  // while packets keep coming (a millisecond's worth per io_uring_enter instead of one).
  void ringCycle() {
    std::size_t total = 0;
    bool drained = false;
    for (int round = 0; round < kRingRounds && !drained; ++round) {
      const std::size_t n = ring->poll(*this);
      total += n;
      drained = n == 0;
    }
    ring->flush();  // a flood ended the rounds with sends still queued
    // Work still waiting (more than the rounds took, or kept back by the kernel) does not
    // signal the eventfd again: it is collected by the timer.
    const bool waiting = !drained || ring->hasWork();
    if (!ring_collecting && (total > kRingPollAbove || waiting)) {
      fd_close(ring->notifyFd());
      ring_collecting = true;
      tmr_start(&ring_timer, kRingPollMs, &Impl::onRingTimer, this);
    } else if (ring_collecting && total < kRingWakeBelow && !waiting) {
      // Woken again from here; work that arrived since the last round has signalled the
      // eventfd (it is not read here), so the loop wakes at once for it.
      ring_collecting = false;
      tmr_cancel(&ring_timer);
      if (fd_listen(ring->notifyFd(), FD_READ, &Impl::onRingNotify, this) != 0) {
        spdlog::error("media: cannot watch the io_uring eventfd; collecting every {} ms", kRingPollMs);
        ring_collecting = true;
      }
    }
  }

  void onPacket(RingPacket& p) override {
    Stream* s = ring_streams.find(p.tag);
    if (!s) {  // closed while its datagram was on the way
      ring->release(p.buffer);
      return;
    }
    mbuf mb{};
    mb.buf = p.data;
    mb.size = p.size;
    mb.end = p.size;
    sa src{};  // only needed to connect: not parsed per packet once connected
    const bool have_src = !s->connected && p.from && sa_set_sa(&src, p.from) == 0;
    ring_packet = &mb;
    ring_packet_buffer = p.buffer;
    ring_packet_taken = false;
    arrived(*s, &mb, p.truncated, have_src ? &src : nullptr);
    ring_packet = nullptr;
    if (!ring_packet_taken) ring->release(p.buffer);
  }

  bool onSent(std::uint64_t tag, std::uint16_t buffer, int result) override {
    if (result >= 0) {
      ++stats.packets_sent;
      if (tag & kTagRelayed) ++stats.packets_relayed;
      return false;
    }
    // As send(): a connected socket reports an earlier ICMP error (the peer's port was closed
    // a moment) on the next send instead of sending it. Once more.
    if (result == -ECONNREFUSED && !(tag & kTagRetried)) {
      Stream* s = find(tag & kTagStream);
      if (s && s->connected && ring->sendAgain(s->fd, buffer, tag | kTagRetried)) return true;
    }
    return false;
  }

  void onReceiveEnded(std::uint64_t tag, int result) override {
    Stream* s = ring_streams.find(tag);
    if (!s) return;
    if (result != 0 && result != -ENOBUFS && result != -ECONNREFUSED) {
      spdlog::debug("media: stream {}: receive ended ({}); again", s->id, std::strerror(-result));
    }
    if (!ring->receive(s->fd, s->ring_tag)) {
      spdlog::error("media: stream {}: cannot receive again on the io_uring", s->id);
    }
  }

  // --- receiving -------------------------------------------------------------------------------


  static void onInBandDigit(char digit, void* arg) {
    auto* s = static_cast<Stream*>(arg);
    if (s->saw_telephone_event) return;
    s->engine->reportDigit(*s, digit, DtmfSource::InBand);
  }

  // One datagram per readiness, as libre does (a second read would mostly find nothing: a
  // peer sends one packet per 20 ms).
  static void onReadable(int /*flags*/, void* arg) {
    auto* s = static_cast<Stream*>(arg);
    Impl& self = *s->engine;
    mbuf* mb = self.received.get();
    sa src{};
    src.len = sizeof src.u;
    const ssize_t n = ::recvfrom(s->fd, mb->buf, mb->size, 0, &src.u.sa, &src.len);
    if (n < 0) return;  // nothing after all, or an ICMP error reported on a connected socket
    mb->pos = 0;
    mb->end = static_cast<std::size_t>(n);
    self.arrived(*s, mb, static_cast<std::size_t>(n) > kMaxDatagram, &src);
  }

  // A datagram for `s` from either socket service (`src`: where it came from, if known): one
  // longer than kMaxDatagram is counted and dropped; otherwise the socket may be connected to
  // the peer and the packet is handled.
  void arrived(Stream& s, mbuf* mb, bool too_long, const sa* src) {
    if (too_long) {
      ++stats.packets_received;
      ++stats.packets_dropped;
      return;
    }
    if (!s.connected && src) connectIfFromRemote(s, *src);
    receive(s, mb);
  }

  void receive(Stream& s, mbuf* mb) {
    ++stats.packets_received;
    rtp_header hdr;
    if (rtp_decode(s.rtp.get(), mb, &hdr) != 0 || s.state != StreamState::Negotiated) {
      ++stats.packets_dropped;
      return;
    }
    std::uint8_t* payload = mbuf_buf(mb);
    std::size_t n = mbuf_get_left(mb);
    if (hdr.pad) {
      const std::size_t pad = n > 0 ? payload[n - 1] : 0;
      if (pad == 0 || pad > n) {
        ++stats.packets_dropped;
        return;
      }
      n -= pad;
      mb->end = mb->pos + n;
    }
    ++s.rx_count;
    if (s.telephone_event_pt >= 0 && hdr.pt == s.telephone_event_pt) {
      if (receiveTelephoneEvent(s, hdr, payload, n)) relayTelephoneEvent(s, hdr, mb);
      return;
    }
    Codec codec;
    if (hdr.pt == 0) {
      codec = Codec::Pcmu;
    } else if (hdr.pt == 8) {
      codec = Codec::Pcma;
    } else {
      ++stats.packets_dropped;
      return;
    }
    if (n == 0) return;

    const bool detect = !s.peer && s.dtmf && !s.saw_telephone_event;
    if (detect || s.recorder) {
      std::int16_t pcm[kDecodeChunk];
      for (std::size_t off = 0; off < n; off += kDecodeChunk) {
        const std::size_t len = std::min(kDecodeChunk, n - off);
        g711Decode(codec, payload + off, len, pcm);
        if (s.recorder) s.recorder->add(s.record_channel, pcm, len);
        if (detect) dtmf_dec_probe(s.dtmf.get(), pcm, len);
      }
    }

    Stream* dst = relayTarget(s);
    if (!dst) return;
    g711Transcode(codec, dst->codec, payload, n);
    const std::uint64_t now = tmr_jiffies();
    bool marker = false;
    const std::uint32_t ts = relayTimestamp(*dst, hdr, now, &marker);
    const std::uint32_t end_ts = ts + static_cast<std::uint32_t>(n);
    if (!dst->ever_sent || static_cast<std::int32_t>(end_ts - dst->next_ts) > 0) dst->next_ts = end_ts;
    dst->last_send_ms = now;
    dst->ever_sent = true;
    if (!dst->may_send) return;
    // mb's position is the payload, after the received header: the new header is written over
    // the old one, so the packet is relayed without copying or allocating.
    sendRelayed(*dst, marker, dst->pt, ts, mb);
  }

  // Sends a packet relayed from the bridge peer: from the ring buffer it arrived in, queued on
  // the ring (counted when the send completes), or at once without a ring.
  void sendRelayed(Stream& dst, bool marker, std::uint8_t pt, std::uint32_t ts, mbuf* mb) {
    if (!ring || mb != ring_packet || ring_packet_taken) {
      if (send(dst, marker, pt, ts, mb)) ++stats.packets_relayed;
      return;
    }
    if (!writeHeader(dst, marker, pt, ts, mb)) return;
    const sockaddr* to = dst.connected ? nullptr : &dst.remote.u.sa;
    const socklen_t to_len = dst.connected ? 0 : dst.remote.len;
    if (ring->send(dst.fd, ring_packet_buffer, mbuf_buf(mb), mbuf_get_left(mb), to, to_len,
                   dst.id | kTagRelayed)) {
      ring_packet_taken = true;
    }
  }

  Stream* relayTarget(const Stream& s) const {
    Stream* dst = s.peer;
    if (!dst || dst->mode != SendMode::Relaying || dst->state != StreamState::Negotiated) return nullptr;
    return dst;
  }

  // The timestamp on dst's timeline for a packet from its bridge peer: audio and RFC 4733
  // events of one source share a clock, so both go through one mapping. A new source (SSRC), a
  // jump or a fresh bridge moves the mapping on from where dst's own stream stands (marker).
  static std::uint32_t relayTimestamp(Stream& dst, const rtp_header& hdr, std::uint64_t now,
                                      bool* marker) {
    const std::int32_t jump = static_cast<std::int32_t>(hdr.ts - dst.relay_last_in_ts);
    if (dst.resync || hdr.ssrc != dst.relay_ssrc || jump > kMaxTimestampJump ||
        jump < -kMaxTimestampJump) {
      dst.relay_offset = resumeTs(dst, now) - hdr.ts;
      dst.relay_ssrc = hdr.ssrc;
      dst.resync = false;
      *marker = true;
    }
    dst.relay_last_in_ts = hdr.ts;
    return hdr.ts + dst.relay_offset;
  }

  // RFC 4733 events go across a bridge as events, with the payload type the other side agreed
  // (an agent keying into a customer's IVR on a callback, a customer's keys to the agent).
  // Without telephone-event on that side they are dropped: its user hears nothing.
  void relayTelephoneEvent(Stream& s, const rtp_header& hdr, mbuf* mb) {
    Stream* dst = relayTarget(s);
    if (!dst || dst->telephone_event_pt < 0 || !dst->may_send) return;
    if (s.skip_event && hdr.ts == s.skip_event_ts) return;  // pressed for the IVR, not the peer
    bool marker = hdr.m;
    const std::uint32_t ts = relayTimestamp(*dst, hdr, tmr_jiffies(), &marker);
    sendRelayed(*dst, marker, static_cast<std::uint8_t>(dst->telephone_event_pt), ts, mb);
  }

  // RFC 4733: one report per event; an event is identified by its RTP timestamp (all packets
  // of one key press, including the three end packets, carry the timestamp of its start).
  // False for a malformed event (dropped, not relayed).
  bool receiveTelephoneEvent(Stream& s, const rtp_header& hdr, const std::uint8_t* p, std::size_t n) {
    if (n < 4) {
      ++stats.packets_dropped;
      return false;
    }
    const std::uint8_t code = p[0];
    const int digit = telev_code2digit(code);
    if (digit < 0) return true;  // a tone or signal that is not a key
    s.saw_telephone_event = true;
    if (s.have_event && s.event_ts == hdr.ts && s.event_code == code) return true;
    s.have_event = true;
    s.event_ts = hdr.ts;
    s.event_code = code;
    reportDigit(s, static_cast<char>(digit), DtmfSource::Rfc4733);
    return true;
  }

  // --- bridging --------------------------------------------------------------------------------

  void unbridgeStream(Stream& s) {
    Stream* p = s.peer;
    if (!p) return;
    for (Stream* x : {&s, p}) {
      x->peer = nullptr;
      if (x->recorder) x->recorder->finish();
      x->recorder.reset();
      if (x->mode == SendMode::Relaying) setMode(*x, SendMode::Silent);
      if (x->dtmf) dtmf_dec_reset(x->dtmf.get(), kSampleRate, 1);
    }
  }
};

MediaEngine::MediaEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MediaEngine::~MediaEngine() = default;

MediaEngine::Created MediaEngine::create(MediaEngineConfig config, MediaEvents events) {
  auto impl = std::make_unique<Impl>();
  if (sa_set_str(&impl->bind_address, config.rtp_address.c_str(), 0) != 0) {
    return {nullptr, "rtp_address is not an IP address: " + config.rtp_address};
  }
  const std::string advertised =
      config.advertised_address.empty() ? config.rtp_address : config.advertised_address;
  sa probe{};
  if (sa_set_str(&probe, advertised.c_str(), 0) != 0) {
    return {nullptr, "advertised_address is not an IP address: " + advertised};
  }
  const std::uint32_t min_even = (static_cast<std::uint32_t>(config.rtp_port_min) + 1) & ~1u;
  if (config.rtp_port_min == 0 || min_even > config.rtp_port_max) {
    return {nullptr, "rtp port range must hold an even port"};
  }
  if (config.codecs.empty()) return {nullptr, "no codecs"};
  if (config.telephone_event_pt < 96 || config.telephone_event_pt > 127) {
    return {nullptr, "telephone_event_pt must be a dynamic payload type (96-127)"};
  }
  impl->port_min = static_cast<std::uint16_t>(min_even);
  impl->port_max = config.rtp_port_max;
  const std::uint32_t slots = (impl->port_max - impl->port_min) / 2 + 1;
  impl->next_port = static_cast<std::uint16_t>(impl->port_min + 2 * (rand_u32() % slots));
  impl->sdp.address = advertised;
  impl->sdp.codecs = config.codecs;
  impl->sdp.telephone_event_pt = config.telephone_event_pt;
  impl->config = std::move(config);
  impl->events = std::move(events);
  if (impl->config.io != MediaIo::Epoll) {
    RtpRing::Created ring = RtpRing::create(kRingBuffers);
    if (!ring.ring && impl->config.io == MediaIo::IoUring) {
      return {nullptr, "io_uring is not available: " + ring.error};
    }
    if (!ring.ring) {
      spdlog::warn("media: io_uring is not available ({}); RTP sockets are watched by epoll", ring.error);
    } else if (fd_listen(ring.ring->notifyFd(), FD_READ, &Impl::onRingNotify, impl.get()) != 0) {
      return {nullptr, "cannot watch the io_uring eventfd"};
    } else {
      impl->ring = std::move(ring.ring);
      spdlog::debug("media: RTP sockets on io_uring ({} buffers)", kRingBuffers);
    }
  }
  impl->frame = MemRef<mbuf>(mbuf_alloc(RTP_HEADER_SIZE + kFrameSamples));
  impl->received = MemRef<mbuf>(mbuf_alloc(kReceiveBufferSize));
  if (!impl->frame || !impl->received) return {nullptr, "out of memory"};
  tmr_init(&impl->pace_timer);
  tmr_init(&impl->defer_timer);
  tmr_init(&impl->ring_timer);
  impl->pace_start_ms = tmr_jiffies();
  tmr_start(&impl->pace_timer, kTickMs, &Impl::onPace, impl.get());
  return {std::unique_ptr<MediaEngine>(new MediaEngine(std::move(impl))), {}};
}

MediaEngine::Negotiated MediaEngine::acceptOffer(std::string_view remote_offer) {
  const SdpOutcome parsed = parseOffer(remote_offer, impl_->sdp);
  if (parsed.error != SdpError::None) {
    const bool malformed = parsed.error == SdpError::Malformed;
    return {0, {}, (malformed ? "malformed SDP: " : "no common codec: ") + parsed.message,
            malformed ? Failure::MalformedSdp : Failure::NoCommonCodec};
  }
  Stream& s = impl_->newStream();
  if (!impl_->bind(s)) {
    impl_->streams.erase(s.id);
    return {0, {}, "no RTP port free", Failure::NoPort};
  }
  std::string answer = encodeAnswer(impl_->sdp, s.local_port, parsed.media);
  if (answer.empty()) {
    impl_->streams.erase(s.id);
    return {0, {}, "cannot encode SDP answer", Failure::NoPort};
  }
  impl_->applyNegotiated(s, parsed.media);
  return {s.id, std::move(answer), {}, Failure::None};
}

MediaEngine::Negotiated MediaEngine::createOffer() {
  Stream& s = impl_->newStream();
  if (!impl_->bind(s)) {
    impl_->streams.erase(s.id);
    return {0, {}, "no RTP port free", Failure::NoPort};
  }
  std::string offer = encodeOffer(impl_->sdp, s.local_port);
  if (offer.empty()) {
    impl_->streams.erase(s.id);
    return {0, {}, "cannot encode SDP offer", Failure::NoPort};
  }
  return {s.id, std::move(offer), {}, Failure::None};
}

bool MediaEngine::applyAnswer(StreamId stream, std::string_view remote_answer, std::string* error) {
  Stream* s = impl_->find(stream);
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  if (!s) return fail("unknown stream");
  if (s->state != StreamState::Offered && s->state != StreamState::Negotiated) {
    return fail("stream is not waiting for an answer");
  }
  const SdpOutcome parsed = parseAnswer(remote_answer, impl_->sdp);
  if (parsed.error != SdpError::None) {
    if (s->state == StreamState::Offered) s->state = StreamState::Failed;
    return fail((parsed.error == SdpError::Malformed ? "malformed SDP: " : "no common codec: ") +
                parsed.message);
  }
  if (s->state == StreamState::Negotiated) {
    impl_->follow(*s, parsed.media);
  } else {
    impl_->applyNegotiated(*s, parsed.media);
  }
  return true;
}

MediaEngine::Negotiated MediaEngine::renegotiate(StreamId stream, std::string_view remote_offer) {
  Stream* s = impl_->find(stream);
  if (!s || s->state != StreamState::Negotiated) {
    return {0, {}, "no negotiated stream " + std::to_string(stream), Failure::NoCommonCodec};
  }
  const SdpOutcome parsed = parseOffer(remote_offer, impl_->sdp);
  if (parsed.error != SdpError::None) {
    const bool malformed = parsed.error == SdpError::Malformed;
    return {0, {}, (malformed ? "malformed SDP: " : "no common codec: ") + parsed.message,
            malformed ? Failure::MalformedSdp : Failure::NoCommonCodec};
  }
  std::string answer = encodeAnswer(impl_->sdp, s->local_port, parsed.media);
  if (answer.empty()) return {0, {}, "cannot encode SDP answer", Failure::NoCommonCodec};
  impl_->follow(*s, parsed.media);
  return {s->id, std::move(answer), {}, Failure::None};
}

void MediaEngine::play(StreamId stream, std::vector<ClipPtr> clips, PlaybackToken token) {
  Stream* s = impl_->find(stream);
  if (!s) return;
  impl_->setMode(*s, SendMode::Playing);
  std::erase_if(clips, [](const ClipPtr& c) { return !c || c->samples.empty(); });
  if (clips.empty()) {
    impl_->setMode(*s, SendMode::Silent);
    impl_->defer({Impl::EventKind::PlaybackDone, s->id, s->serial, token, 0, DtmfSource::Rfc4733});
    return;
  }
  s->clips = std::move(clips);
  s->token = token;
}

void MediaEngine::loop(StreamId stream, ClipPtr clip) {
  Stream* s = impl_->find(stream);
  if (!s) return;
  if (!clip || clip->samples.empty()) {
    impl_->setMode(*s, SendMode::Silent);
    return;
  }
  impl_->setMode(*s, SendMode::Looping);
  s->loop_clip = std::move(clip);
}

bool MediaEngine::sendDigit(StreamId stream, char key) {
  Stream* s = impl_->find(stream);
  const int code = telev_digit2code(key);
  if (!s || code < 0 || s->state != StreamState::Negotiated || s->telephone_event_pt < 0 ||
      !s->may_send) {
    return false;
  }
  s->sending_event = true;
  impl_->paced.insert(s->id);
  s->out_event_code = static_cast<std::uint8_t>(code);
  s->out_event_ts = Impl::resumeTs(*s, tmr_jiffies());
  s->out_event_ticks = 0;
  return true;
}

void MediaEngine::stopPlayback(StreamId stream) {
  if (Stream* s = impl_->find(stream)) impl_->setMode(*s, SendMode::Silent);
}

bool MediaEngine::bridge(StreamId a, StreamId b, std::optional<RecordingSpec> recording) {
  Stream* sa = impl_->find(a);
  Stream* sb = impl_->find(b);
  if (!sa || !sb || sa == sb) return false;
  if (sa->state != StreamState::Negotiated || sb->state != StreamState::Negotiated) return false;
  impl_->unbridgeStream(*sa);
  impl_->unbridgeStream(*sb);
  sa->peer = sb;
  sb->peer = sa;
  for (Stream* x : {sa, sb}) {
    x->skip_event = x->have_event;
    x->skip_event_ts = x->event_ts;
  }
  impl_->setMode(*sa, SendMode::Relaying);
  impl_->setMode(*sb, SendMode::Relaying);
  if (recording) {
    std::string error;
    std::shared_ptr<Recorder> recorder = Recorder::open(recording->path, &error);
    if (!recorder) {
      spdlog::error("media: bridge {}<->{}: recording not started: {}", a, b, error);
    } else {
      sa->recorder = recorder;
      sa->record_channel = 0;
      sb->recorder = std::move(recorder);
      sb->record_channel = 1;
    }
  }
  return true;
}

void MediaEngine::unbridge(StreamId stream) {
  if (Stream* s = impl_->find(stream)) impl_->unbridgeStream(*s);
}

void MediaEngine::close(StreamId stream) {
  auto it = impl_->streams.find(stream);
  if (it == impl_->streams.end()) return;
  impl_->unbridgeStream(*it->second);
  impl_->streams.erase(it);
}

std::optional<Codec> MediaEngine::codecOf(StreamId stream) const {
  Stream* s = impl_->find(stream);
  if (!s || s->state != StreamState::Negotiated) return std::nullopt;
  return s->codec;
}

MediaStats MediaEngine::stats() const {
  MediaStats out = impl_->stats;
  out.streams_open = impl_->streams.size();
  out.io_uring = impl_->ring != nullptr;
  return out;
}

}  // namespace parley::media
