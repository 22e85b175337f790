#include "media/prompts.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace parley::media {
namespace {

namespace fs = std::filesystem;

// Frequency of a clean tone from its zero crossings.
double zeroCrossingHz(const std::vector<std::int16_t>& s) {
  int crossings = 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if ((s[i - 1] < 0) != (s[i] < 0)) ++crossings;
  }
  return crossings / 2.0 / (static_cast<double>(s.size()) / kSampleRate);
}

int peak(const std::vector<std::int16_t>& s, std::size_t from = 0, std::size_t to = SIZE_MAX) {
  int p = 0;
  for (std::size_t i = from; i < std::min(to, s.size()); ++i) p = std::max(p, std::abs(int{s[i]}));
  return p;
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("parley_prompts_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void writeBytes(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }
  std::string readBytes(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  bool haveSox() const { return std::system("command -v sox >/dev/null 2>&1") == 0; }
  fs::path dir_;
};

TEST(Sine, HasTheFrequencyLengthAndAmplitudeAsked) {
  const Clip clip = sine(1000, 500, 8000);
  EXPECT_EQ(clip.samples.size(), 4000u);
  EXPECT_NEAR(zeroCrossingHz(clip.samples), 1000, 10);
  EXPECT_NEAR(peak(clip.samples), 8000, 10);
  EXPECT_TRUE(sine(440, 0).samples.empty());
}

TEST(HoldTone, IsSoftChimeThenSilenceAtMinus20Dbfs) {
  const Clip clip = holdTone(4);
  ASSERT_EQ(clip.samples.size(), 4u * kSampleRate);
  const double peak_dbfs = 20 * std::log10(peak(clip.samples) / 32768.0);
  EXPECT_GT(peak_dbfs, -21.5);
  EXPECT_LT(peak_dbfs, -19.0);
  EXPECT_GT(peak(clip.samples, 0, kSampleRate), 1000);            // the chime
  EXPECT_EQ(peak(clip.samples, 2 * kSampleRate), 0);              // then silence
  EXPECT_EQ(clip.samples.front(), 0);                             // loops without a click
  EXPECT_EQ(holdTone(10).samples.size(), 10u * kSampleRate);
  EXPECT_GT(peak(holdTone(10).samples, 8 * kSampleRate, 9 * kSampleRate), 1000);  // repeats
}

TEST_F(TempDir, SavedWavLoadsBackSampleForSample) {
  const Clip clip = sine(700, 250, 30000);
  std::string error;
  ASSERT_TRUE(saveWav(path("a.wav"), clip, &error)) << error;
  auto loaded = loadWav(path("a.wav"), &error);
  ASSERT_TRUE(loaded) << error;
  EXPECT_EQ(loaded->samples, clip.samples);
}

TEST_F(TempDir, SaveWavToMissingDirectoryFailsWithThePath) {
  std::string error;
  EXPECT_FALSE(saveWav(path("no/such/dir/a.wav"), sine(400, 20), &error));
  EXPECT_NE(error.find("no/such/dir/a.wav"), std::string::npos) << error;
}

struct SoxCase {
  const char* name;
  const char* args;  // sox output options before the file name
};

class SoxFiles : public TempDir, public ::testing::WithParamInterface<SoxCase> {};

TEST_P(SoxFiles, LoadAt8kHzWithDurationAndPitchKept) {
  if (!haveSox()) GTEST_SKIP() << "sox is not installed; cannot make test files";
  const std::string file = path("f.wav");
  const std::string command = std::string("sox -n ") + GetParam().args + " " + file +
                              " synth 1 sine 1000 vol 0.5 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::string error;
  auto clip = loadWav(file, &error);
  ASSERT_TRUE(clip) << error;
  EXPECT_NEAR(static_cast<double>(clip->samples.size()), kSampleRate, 20);
  EXPECT_NEAR(zeroCrossingHz(clip->samples), 1000, 15);
  EXPECT_NEAR(peak(clip->samples), 16384, 1500);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, SoxFiles,
    ::testing::Values(SoxCase{"Stereo16k", "-r 16000 -c 2 -b 16"},
                      SoxCase{"Alaw8k", "-r 8000 -c 1 -e a-law"},
                      SoxCase{"Ulaw8k", "-r 8000 -c 1 -e u-law"},
                      SoxCase{"Mono44k", "-r 44100 -c 1 -b 16"},
                      SoxCase{"Float48k", "-r 48000 -c 1 -e float -b 32"},
                      SoxCase{"Pcm24Stereo22k", "-r 22050 -c 2 -b 24"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(TempDir, MalformedFilesGiveErrorsNamingFileAndProblem) {
  std::string error;
  EXPECT_FALSE(loadWav(path("missing.wav"), &error));
  EXPECT_NE(error.find("missing.wav: no such file"), std::string::npos) << error;

  writeBytes("empty.wav", "");
  EXPECT_FALSE(loadWav(path("empty.wav"), &error));
  EXPECT_NE(error.find("empty.wav: not a WAV file"), std::string::npos) << error;

  writeBytes("text.wav", "This is not audio at all, just some words in a file.\n");
  EXPECT_FALSE(loadWav(path("text.wav"), &error));
  EXPECT_NE(error.find("text.wav: not a RIFF/WAVE file"), std::string::npos) << error;

  EXPECT_FALSE(loadWav(dir_.string(), &error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;

  ASSERT_TRUE(saveWav(path("good.wav"), sine(500, 100), &error));
  const std::string good = readBytes("good.wav");

  writeBytes("cut_header.wav", good.substr(0, 30));
  EXPECT_FALSE(loadWav(path("cut_header.wav"), &error));
  EXPECT_NE(error.find("cut_header.wav: truncated in the fmt chunk"), std::string::npos) << error;

  writeBytes("cut_data.wav", good.substr(0, good.size() / 2));
  EXPECT_FALSE(loadWav(path("cut_data.wav"), &error));
  EXPECT_NE(error.find("cut_data.wav: truncated"), std::string::npos) << error;

  writeBytes("no_data.wav", good.substr(0, 36));
  EXPECT_FALSE(loadWav(path("no_data.wav"), &error));
  EXPECT_NE(error.find("no data chunk"), std::string::npos) << error;

  std::string stereo_garbage = good;
  stereo_garbage[22] = 0;  // zero channels
  writeBytes("zero_channels.wav", stereo_garbage);
  EXPECT_FALSE(loadWav(path("zero_channels.wav"), &error));
  EXPECT_NE(error.find("channel count 0"), std::string::npos) << error;

  std::string mp3ish = good;
  mp3ish[20] = 0x55;  // MPEG layer 3 format tag
  writeBytes("mp3.wav", mp3ish);
  EXPECT_FALSE(loadWav(path("mp3.wav"), &error));
  EXPECT_NE(error.find("unsupported encoding (format tag 85"), std::string::npos) << error;
}

TEST_F(TempDir, StreamingWriterDataSizeMeansUpToEndOfFile) {
  std::string error;
  ASSERT_TRUE(saveWav(path("good.wav"), sine(500, 100), &error));
  std::string bytes = readBytes("good.wav");
  for (int i = 40; i < 44; ++i) bytes[static_cast<std::size_t>(i)] = '\xff';
  writeBytes("streamed.wav", bytes);
  auto clip = loadWav(path("streamed.wav"), &error);
  ASSERT_TRUE(clip) << error;
  EXPECT_EQ(clip->samples.size(), 800u);
}

TEST_F(TempDir, ClipOverTheLimitIsRefusedBeforeReadingIt) {
  // 8-bit mono at 1 kHz keeps the file small: kMaxClipSeconds + 1 s is about 600 KB.
  const std::uint32_t frames = (kMaxClipSeconds + 1) * 1000;
  auto u32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF),
                       static_cast<char>((v >> 16) & 0xFF), static_cast<char>(v >> 24)};
  };
  std::string bytes = "RIFF" + u32(36 + frames) + "WAVEfmt " + u32(16);
  bytes += std::string("\x01\x00\x01\x00", 4) + u32(1000) + u32(1000) + std::string("\x01\x00\x08\x00", 4);
  bytes += "data" + u32(frames) + std::string(frames, '\x80');
  writeBytes("long.wav", bytes);
  std::string error;
  EXPECT_FALSE(loadWav(path("long.wav"), &error));
  EXPECT_NE(error.find("long.wav: too long: 601 s, the limit is 600 s"), std::string::npos) << error;
}

// A 16-bit mono PCM WAV file at `rate` holding a sine of `hz` at half scale for `seconds`.
std::string pcm16Wav(int rate, double hz, double seconds) {
  auto u16 = [](unsigned v) { return std::string{static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)}; };
  auto u32 = [&](std::uint32_t v) { return u16(v & 0xFFFF) + u16(v >> 16); };
  const auto frames = static_cast<std::uint32_t>(rate * seconds);
  std::string bytes = "RIFF" + u32(36 + 2 * frames) + "WAVEfmt " + u32(16) + u16(1) + u16(1) +
                      u32(static_cast<std::uint32_t>(rate)) + u32(static_cast<std::uint32_t>(rate) * 2) +
                      u16(2) + u16(16) + "data" + u32(2 * frames);
  for (std::uint32_t i = 0; i < frames; ++i) {
    const double v = 16384 * std::sin(2 * 3.141592653589793 * hz * i / rate);
    bytes += u16(static_cast<unsigned>(static_cast<std::uint16_t>(static_cast<std::int16_t>(std::lround(v)))));
  }
  return bytes;
}

TEST_F(TempDir, ResamplingKeepsTheVoiceBandAndDropsWhatWouldAlias) {
  std::string error;
  writeBytes("3k.wav", pcm16Wav(44100, 3000, 0.5));
  auto in_band = loadWav(path("3k.wav"), &error);
  ASSERT_TRUE(in_band) << error;
  EXPECT_NEAR(peak(in_band->samples, 400, 3600), 16384, 16384 * 0.12);  // within 1 dB
  EXPECT_NEAR(zeroCrossingHz(in_band->samples), 3000, 20);
  writeBytes("3k4.wav", pcm16Wav(44100, 3400, 0.5));
  auto band_edge = loadWav(path("3k4.wav"), &error);  // the top of the telephone band
  ASSERT_TRUE(band_edge) << error;
  EXPECT_NEAR(peak(band_edge->samples, 400, 3600), 16384, 16384 * 0.12);
  // 6 kHz is above the 4 kHz limit of 8 kHz audio: unfiltered it would fold back to 2 kHz.
  writeBytes("6k.wav", pcm16Wav(44100, 6000, 0.5));
  auto above = loadWav(path("6k.wav"), &error);
  ASSERT_TRUE(above) << error;
  EXPECT_LT(peak(above->samples, 400, 3600), 16384 / 100);  // at least 40 dB down
}

TEST_F(TempDir, RandomlyCorruptedHeadersNeverCrash) {
  std::string error;
  ASSERT_TRUE(saveWav(path("good.wav"), sine(500, 40), &error));
  const std::string good = readBytes("good.wav");
  std::mt19937 random(4);  // fixed seed: the same 300 files every run
  int loaded = 0;
  for (int round = 0; round < 300; ++round) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      bytes[random() % 48] = static_cast<char>(random() % 256);
    }
    if (random() % 4 == 0) bytes.resize(random() % bytes.size());
    writeBytes("fuzz.wav", bytes);
    error.clear();
    auto clip = loadWav(path("fuzz.wav"), &error);
    if (clip) {
      ++loaded;
      EXPECT_FALSE(clip->samples.empty());
      EXPECT_LE(clip->samples.size(), static_cast<std::size_t>(kMaxClipSeconds) * kSampleRate);
    } else {
      EXPECT_NE(error.find("fuzz.wav: "), std::string::npos);
    }
  }
  EXPECT_GT(loaded, 0);  // some corruptions (e.g. in the sample bytes) are harmless
}

}  // namespace
}  // namespace parley::media
