#include "media/prompts.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "media/resample.h"
#include "media/wav.h"

namespace parley::media {
namespace {

// One chime note: `hz` for `seconds`, 10 ms attack, exponential decay, 20 ms release to zero so
// the pattern loops without a click.
void addNote(std::vector<std::int16_t>& out, std::size_t start, double hz, double seconds,
             double peak) {
  const auto count = static_cast<std::size_t>(seconds * kSampleRate);
  const double attack = 0.010 * kSampleRate;
  const double release = 0.020 * kSampleRate;
  for (std::size_t i = 0; i < count && start + i < out.size(); ++i) {
    const double t = static_cast<double>(i) / kSampleRate;
    double envelope = std::exp(-t / 0.25);
    envelope *= std::min(1.0, static_cast<double>(i) / attack);
    envelope *= std::min(1.0, static_cast<double>(count - i) / release);
    const double v = peak * envelope * std::sin(2.0 * std::numbers::pi * hz * t);
    out[start + i] = static_cast<std::int16_t>(std::lround(v));
  }
}

}  // namespace

std::optional<Clip> loadWav(const std::string& path, std::string* error) {
  std::string why;
  auto audio = readWav(path, kMaxClipSeconds, &why);
  if (!audio) {
    if (error) *error = path + ": " + why;
    return std::nullopt;
  }
  Clip clip;
  clip.samples = resampleTo8k(audio->mono, audio->sample_rate, &why);
  if (clip.samples.empty()) {
    if (error) *error = path + ": " + (why.empty() ? std::string("no audio samples") : why);
    return std::nullopt;
  }
  return clip;
}

bool saveWav(const std::string& path, const Clip& clip, std::string* error) {
  return writeWav16(path, clip.samples, kSampleRate, error);
}

Clip holdTone(int seconds) {
  constexpr int kPeriodSeconds = 4;  // one "ding-dong" every 4 s, silence in between
  constexpr double kPeak = 3277.0;   // -20 dBFS
  seconds = std::clamp(seconds, 1, kMaxClipSeconds);
  Clip clip;
  clip.samples.assign(static_cast<std::size_t>(seconds) * kSampleRate, 0);
  for (int at = 0; at < seconds; at += kPeriodSeconds) {
    const auto start = static_cast<std::size_t>(at) * kSampleRate;
    // E5 then C5, a falling major third: a soft chime, unlike any call-progress tone.
    addNote(clip.samples, start, 659.25, 0.6, kPeak);
    addNote(clip.samples, start + static_cast<std::size_t>(0.6 * kSampleRate), 523.25, 0.8, kPeak);
  }
  return clip;
}

Clip sine(double hz, int millis, int amplitude) {
  amplitude = std::clamp(amplitude, 0, 32767);
  millis = std::max(millis, 0);
  Clip clip;
  const auto count = static_cast<std::size_t>(millis) * kSampleRate / 1000;
  clip.samples.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const double t = static_cast<double>(i) / kSampleRate;
    clip.samples[i] =
        static_cast<std::int16_t>(std::lround(amplitude * std::sin(2.0 * std::numbers::pi * hz * t)));
  }
  return clip;
}

}  // namespace parley::media
