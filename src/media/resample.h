// Sample-rate conversion to the internal 8 kHz rate (libsamplerate, band-limited sinc), for
// WAV prompts at any rate and espeak-ng's 22050 Hz output.
//
// Thread rule: pure function; call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parley::media {

// Converts mono `in` (floats in [-1, 1]) at `in_rate` Hz to 16-bit samples at kSampleRate,
// rounding and clipping. Empty with `error` set if libsamplerate fails; an empty input gives an
// empty output without error.
std::vector<std::int16_t> resampleTo8k(const std::vector<float>& in, int in_rate,
                                       std::string* error);

}  // namespace parley::media
