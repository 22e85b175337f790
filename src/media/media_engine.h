// The media engine: RTP streams for calls, on a libre event loop thread.
//
// One MediaEngine serves many streams. Each stream is one RTP session with one remote peer (a
// caller or an agent's phone), negotiated by SDP offer/answer with PCMU and PCMA plus
// telephone-event (RFC 4733). A stream is always in one of these modes:
//   - silent:  nothing is sent (after creation, after stopPlayback);
//   - playing: a sequence of clips is sent, then on_playback_done fires and it goes silent;
//   - looping: one clip is sent over and over (music on hold) until something else is asked;
//   - bridged: what the peer of the bridged stream sends is relayed to this one (transcoded
//              between PCMU and PCMA if the two sides chose different codecs).
// Whatever the mode, a stream's outgoing RTP has one SSRC and continuous sequence numbers and
// timestamps, so a caller switching between prompt, music and agent hears one stream.
//
// Pacing: one libre timer per MediaEngine ticks every 20 ms and sends one 20 ms frame on every
// playing or looping stream (never a timer per stream). Bridged audio is relayed as it arrives.
//
// DTMF from the peer is reported once per key press, whether it came as RFC 4733 events or as
// in-band tones (librem's detector runs on decoded audio of streams that are not bridged).
// No RTP from a peer for `rtp_timeout` reports on_timeout once (checked by the pacing timer).
//
// Peers: we send to the address and port the peer's SDP names, and hear RTP from anywhere. Once
// the peer is heard from exactly that address, the stream's socket is connect()ed to it (the
// kernel then skips a route lookup per packet sent); from then on packets from other addresses
// are not delivered until the peer has been quiet for 500 ms or a new offer or answer moves it.
//
// Thread rule: create, use and destroy a MediaEngine on one thread that runs libre's re_main
// (the SIP loop). Handlers in MediaEvents run on that thread, never from inside a call to a
// MediaEngine function (they are deferred to the loop), and may call any MediaEngine function.
//
// Sockets: each stream holds one UDP socket (RTP on an even port; RTCP is neither sent nor
// read). They are read and written through one io_uring per engine (MediaIo::IoUring): a
// multishot receive per socket into a shared ring of buffers, relayed packets sent from the
// buffer they arrived in, one io_uring_enter per batch. Under load (many packets per wake-up)
// the engine stops waking per packet and collects every millisecond instead, which adds at
// most about a millisecond to a relayed packet. Where io_uring is not available (an old
// kernel, a container's seccomp profile, kernel.io_uring_disabled) MediaIo::Auto falls back to
// libre's loop watching each socket (MediaIo::Epoll): then libre's loop watches at most 1024
// descriptors unless the loop thread calls fd_setsize(n) once, after re_thread_init() and
// before its first socket; 1,000 bridged calls need n above 2,000 plus the SIP sockets (and
// RLIMIT_NOFILE to match, in both modes). Relaying allocates nothing per packet.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::media {

// 8 kHz, 16-bit, mono linear PCM: the one internal audio format.
constexpr int kSampleRate = 8000;
constexpr std::size_t kFrameSamples = 160;  // 20 ms
struct Clip {
  std::vector<std::int16_t> samples;
};
using ClipPtr = std::shared_ptr<const Clip>;

enum class Codec : std::uint8_t { Pcmu, Pcma };

using StreamId = std::uint64_t;     // from 1, never reused by one engine
using PlaybackToken = std::uint64_t;

enum class DtmfSource : std::uint8_t { Rfc4733, InBand };

// How the RTP sockets are read and written (see the header comment).
enum class MediaIo : std::uint8_t { Auto, IoUring, Epoll };

struct MediaEngineConfig {
  std::string rtp_address = "127.0.0.1";  // IP literal the RTP sockets bind to
  std::string advertised_address;         // c= line in our SDP; empty: rtp_address
  std::uint16_t rtp_port_min = 16384;     // even ports in [min, max] are used for RTP
  std::uint16_t rtp_port_max = 32767;
  std::vector<Codec> codecs{Codec::Pcmu, Codec::Pcma};  // preference order
  std::chrono::milliseconds rtp_timeout{60'000};        // 0: never
  std::uint8_t telephone_event_pt = 101;                // payload type we offer
  MediaIo io = MediaIo::Auto;  // IoUring: fail create() if io_uring is not available
};

struct MediaEvents {
  // A key pressed on the peer of a stream ('0'-'9', '*', '#', 'A'-'D'). RFC 4733 events are
  // reported in every mode (they are not relayed across a bridge); once a stream received one,
  // in-band detection is off for it, so a phone sending both is reported once.
  std::function<void(StreamId, char key, DtmfSource)> on_dtmf;
  // The clips of play(..., token) were all sent. Not called for a playback that was replaced or
  // stopped, nor for a closed stream.
  std::function<void(StreamId, PlaybackToken)> on_playback_done;
  // No RTP arrived from the peer for rtp_timeout (counted from the negotiation). Once per stream.
  std::function<void(StreamId)> on_timeout;
};

// Where a bridge's audio is recorded: one WAV file, 8 kHz 16-bit stereo; the left channel is
// what stream `a` of bridge(a, b, ...) sent to us (the caller), the right what `b` sent (the
// agent). The file is complete (header sizes right) once the bridge ends or a stream closes.
struct RecordingSpec {
  std::string path;
};

struct MediaStats {
  std::uint64_t streams_open = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t packets_relayed = 0;  // received on a bridged stream and sent on its peer
  std::uint64_t packets_dropped = 0;  // malformed, unknown payload type, or for a closed stream
  bool io_uring = false;              // the sockets go through io_uring (else libre's epoll)
};

class MediaEngine {
 public:
  struct Created {
    std::unique_ptr<MediaEngine> engine;  // null on failure
    std::string error;
  };
  // Validates the config (address, port range, at least one codec). Call on the loop thread,
  // after libre_init() (SipServer::start does it) and re_thread_init() on that thread. Do not
  // destroy the engine from inside one of its handlers.
  static Created create(MediaEngineConfig config, MediaEvents events);
  ~MediaEngine();  // closes every stream (recordings are finished)
  MediaEngine(const MediaEngine&) = delete;
  MediaEngine& operator=(const MediaEngine&) = delete;

  enum class Failure : std::uint8_t {
    None,
    MalformedSdp,   // answer the INVITE with 400
    NoCommonCodec,  // no usable audio line or codec: 488
    NoPort,         // no free RTP port (or socket error): 500/503
  };
  struct Negotiated {
    StreamId stream = 0;  // 0 on failure
    std::string sdp;      // our answer or offer (full SDP body); empty on failure
    std::string error;    // why: no common codec (answer with 488), malformed SDP (400), no port
    Failure failure = Failure::None;  // the same, for choosing the SIP response
  };
  // A stream for a peer's SDP offer (an inbound INVITE): binds an RTP port, picks the first of
  // our codecs the offer has (and telephone-event if offered), and returns our answer.
  Negotiated acceptOffer(std::string_view remote_offer);
  // A stream that offers our codecs (an INVITE to an agent's phone); complete it with
  // applyAnswer(). Until then it sends nothing.
  Negotiated createOffer();
  // Applies the peer's answer to a createOffer() stream. False (with `error`) when the answer
  // is malformed or names no codec we offered; the stream then stays unusable. On a stream
  // already negotiated it takes a later answer (the ACK of an offerless re-INVITE, which went
  // out with our last SDP as the offer): a bad one leaves the stream as it was.
  bool applyAnswer(StreamId stream, std::string_view remote_answer, std::string* error = nullptr);
  // A new offer from the peer of a negotiated stream (a re-INVITE: hold, resume, another
  // address, port or codec). The stream follows it at once, keeping its port, SSRC, sequence
  // and timestamps (a bridge or playback goes on); the answer mirrors the direction (a hold
  // offer `sendonly`, or `c=0.0.0.0`, gets `recvonly`, and we stop sending). On failure the
  // stream is unchanged and `failure` says how to refuse the re-INVITE.
  Negotiated renegotiate(StreamId stream, std::string_view remote_offer);

  // Sends `clips` one after another, then reports on_playback_done(stream, token). Replaces any
  // playback, loop or bridge direction towards this stream. Empty clips: done at once (deferred).
  void play(StreamId stream, std::vector<ClipPtr> clips, PlaybackToken token);
  // Sends `clip` in a loop until another play/loop/bridge/stop.
  void loop(StreamId stream, ClipPtr clip);
  // Goes silent.
  void stopPlayback(StreamId stream);
  // Sends key `key` (0-9 * # A-D) to the stream's peer as an RFC 4733 event: 100 ms of event
  // packets on the stream's timeline, then the three end packets, alongside whatever audio the
  // stream sends. False (nothing sent) for an unknown key, a stream that is not negotiated, or
  // a peer that did not agree to telephone-event. A key still being sent is cut short.
  bool sendDigit(StreamId stream, char key);
  // Relays a<->b (each stops its playback). Either may already be in another bridge: that one
  // ends first. With `recording`, both directions are written to the file until unbridge/close.
  // False if either stream is unknown or not negotiated.
  bool bridge(StreamId a, StreamId b, std::optional<RecordingSpec> recording = std::nullopt);
  // Ends the bridge `stream` is in (both sides go silent; a side that was given play/loop
  // after bridge() keeps playing). The recording is finished. No-op if not bridged.
  void unbridge(StreamId stream);
  // Releases the stream and its port. Unknown ids are ignored.
  void close(StreamId stream);

  // The codec a negotiated stream uses; nullopt if unknown or not negotiated.
  std::optional<Codec> codecOf(StreamId stream) const;
  MediaStats stats() const;

  struct Impl;

 private:
  explicit MediaEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::media
