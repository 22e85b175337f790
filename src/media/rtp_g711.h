// G.711 helpers over librem's tables: decode, encode, and byte-for-byte transcoding between
// PCMU and PCMA (used in place on relayed packets). Include only from .cpp files (pulls in
// rtp_libre.h). Stateless; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "media/media_engine.h"
#include "media/rtp_libre.h"

namespace parley::media {

inline void g711Decode(Codec codec, const std::uint8_t* in, std::size_t n, std::int16_t* out) {
  if (codec == Codec::Pcmu) {
    for (std::size_t i = 0; i < n; ++i) out[i] = g711_ulaw2pcm(in[i]);
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = g711_alaw2pcm(in[i]);
  }
}

inline void g711Encode(Codec codec, const std::int16_t* in, std::size_t n, std::uint8_t* out) {
  if (codec == Codec::Pcmu) {
    for (std::size_t i = 0; i < n; ++i) out[i] = g711_pcm2ulaw(in[i]);
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = g711_pcm2alaw(in[i]);
  }
}

// Rewrites `n` bytes of `from` into `to` in place.
inline void g711Transcode(Codec from, Codec to, std::uint8_t* data, std::size_t n) {
  if (from == to) return;
  struct Tables {
    std::array<std::uint8_t, 256> u2a{};
    std::array<std::uint8_t, 256> a2u{};
    Tables() {
      for (int i = 0; i < 256; ++i) {
        u2a[i] = g711_pcm2alaw(g711_ulaw2pcm(static_cast<std::uint8_t>(i)));
        a2u[i] = g711_pcm2ulaw(g711_alaw2pcm(static_cast<std::uint8_t>(i)));
      }
    }
  };
  static const Tables tables;
  const auto& table = from == Codec::Pcmu ? tables.u2a : tables.a2u;
  for (std::size_t i = 0; i < n; ++i) data[i] = table[data[i]];
}

}  // namespace parley::media
