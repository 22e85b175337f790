#include "media/recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "media/media_engine.h"
#include "media/rtp_libre.h"

namespace parley::media {

std::unique_ptr<Recorder> Recorder::open(const std::string& path, std::string* error) {
  aufile_prm prm{};
  prm.srate = kSampleRate;
  prm.channels = 2;
  prm.fmt = AUFMT_S16LE;
  std::unique_ptr<Recorder> r(new Recorder());
  const int err = aufile_open(&r->file_, &prm, path.c_str(), AUFILE_WRITE);
  if (err != 0) {
    r->file_ = nullptr;
    if (error) *error = "cannot write " + path + ": " + std::strerror(err);
    return nullptr;
  }
  for (auto& c : r->channel_) c.reserve(4 * kMaxSkewSamples);
  r->interleaved_.reserve(8 * kMaxSkewSamples);
  return r;
}

Recorder::~Recorder() {
  finish();
}

void Recorder::add(int channel, const std::int16_t* samples, std::size_t count) {
  if (!file_ || channel < 0 || channel > 1) return;
  channel_[channel].insert(channel_[channel].end(), samples, samples + count);
  flush(false);
}

void Recorder::flush(bool pad_all) {
  auto& left = channel_[0];
  auto& right = channel_[1];
  if (pad_all) {
    const std::size_t n = std::max(left.size(), right.size());
    left.resize(n, 0);
    right.resize(n, 0);
  } else if (left.size() > right.size() + kMaxSkewSamples) {
    right.resize(left.size(), 0);  // the right side is silent or late: pad it
  } else if (right.size() > left.size() + kMaxSkewSamples) {
    left.resize(right.size(), 0);
  }
  const std::size_t pairs = std::min(left.size(), right.size());
  if (pairs == 0) return;
  interleaved_.resize(2 * pairs);
  for (std::size_t i = 0; i < pairs; ++i) {
    interleaved_[2 * i] = left[i];
    interleaved_[2 * i + 1] = right[i];
  }
  // librem writes the samples as they are in memory: little-endian on our targets.
  const int err = aufile_write(file_, reinterpret_cast<const std::uint8_t*>(interleaved_.data()),
                               interleaved_.size() * sizeof(std::int16_t));
  if (err != 0) spdlog::warn("media: recording write failed: {}", std::strerror(err));
  left.erase(left.begin(), left.begin() + static_cast<std::ptrdiff_t>(pairs));
  right.erase(right.begin(), right.begin() + static_cast<std::ptrdiff_t>(pairs));
}

void Recorder::finish() {
  if (!file_) return;
  flush(true);
  // The destructor of an aufile opened for writing fills in the WAV header sizes.
  mem_deref(file_);
  file_ = nullptr;
}

}  // namespace parley::media
