// A two-channel call recording: 8 kHz 16-bit stereo WAV written with librem's aufile. Channel 0
// (left) and channel 1 (right) are fed separately as audio arrives and written interleaved,
// aligned by arrival: a side that falls more than kMaxSkewSamples behind is padded with silence.
//
// Thread rule: one thread (the media loop). The file is complete (WAV header sizes right) after
// finish() or destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct aufile;

namespace parley::media {

class Recorder {
 public:
  static constexpr std::size_t kMaxSkewSamples = 800;  // 100 ms at 8 kHz

  // Creates (truncates) `path`. Null with *error set on failure.
  static std::unique_ptr<Recorder> open(const std::string& path, std::string* error);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Appends mono samples to `channel` (0 or 1).
  void add(int channel, const std::int16_t* samples, std::size_t count);
  // Writes what is buffered (the shorter side padded with silence) and closes the file.
  void finish();

 private:
  Recorder() = default;
  void flush(bool pad_all);

  aufile* file_ = nullptr;
  std::vector<std::int16_t> channel_[2];  // pending samples per side
  std::vector<std::int16_t> interleaved_;  // scratch for writing, reused
};

}  // namespace parley::media
