// WAV (RIFF/WAVE) file reading and writing, below prompts.h: a strict, bounded parser that
// turns any supported file into mono float samples at the file's own rate, and a writer of
// 16-bit mono PCM files.
//
// Why not librem's aufile: librem 0.6.0's reader treats end-of-file inside a header as success
// (it returns ferror(), which is 0 at EOF) and then uses uninitialised chunk fields, needs "fmt "
// to be the first chunk and prints to stdout; prompt files come from operators, so a truncated or
// odd file must give a clear error, never a hang or garbage.
//
// Thread rule: pure functions (they read or write the named file only); call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::media {

struct WavAudio {
  int sample_rate = 0;
  std::vector<float> mono;  // channels averaged, in [-1, 1]
};

// Reads PCM (8, 16, 24 or 32 bit integer, 32-bit float), A-law or u-law, 1..8 channels, plain
// or WAVE_FORMAT_EXTENSIBLE. Files whose audio lasts more than `max_seconds` are refused before
// the samples are read. nullopt with `error` (without the path; the caller adds it) otherwise.
std::optional<WavAudio> readWav(const std::string& path, int max_seconds, std::string* error);

// Writes `samples` as a 16-bit mono PCM WAV file at `sample_rate`. False with `error` (naming
// the path) on I/O failure; a failed write leaves a partial file behind.
bool writeWav16(const std::string& path, const std::vector<std::int16_t>& samples,
                int sample_rate, std::string* error);

}  // namespace parley::media
