#include "media/wav.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

extern "C" {
#include <rem_g711.h>
}

namespace parley::media {
namespace {

constexpr std::uint16_t kFormatPcm = 1;
constexpr std::uint16_t kFormatFloat = 3;
constexpr std::uint16_t kFormatAlaw = 6;
constexpr std::uint16_t kFormatUlaw = 7;
constexpr std::uint16_t kFormatExtensible = 0xFFFE;
constexpr int kMaxChunks = 1000;        // bounds the walk over a hostile file's chunk list
constexpr int kMaxChannels = 8;
constexpr std::uint32_t kMinRate = 1000;
constexpr std::uint32_t kMaxRate = 384000;

std::uint16_t u16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
void putU16(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void putU32(std::string& out, std::uint32_t v) {
  putU16(out, v & 0xFFFF);
  putU16(out, v >> 16);
}

struct Format {
  std::uint16_t tag = 0;  // after resolving WAVE_FORMAT_EXTENSIBLE
  int channels = 0;
  std::uint32_t rate = 0;
  int bytes_per_sample = 0;
  int block_align = 0;
};

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

bool readAt(std::ifstream& in, std::uint64_t pos, unsigned char* out, std::size_t n) {
  in.clear();
  in.seekg(static_cast<std::streamoff>(pos));
  in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
  return static_cast<std::size_t>(in.gcount()) == n;
}

bool parseFormat(const unsigned char* p, std::uint32_t size, Format* fmt, std::string* error) {
  std::uint16_t tag = u16(p);
  const int channels = u16(p + 2);
  const std::uint32_t rate = u32(p + 4);
  const int block_align = u16(p + 12);
  const int bits = u16(p + 14);
  if (tag == kFormatExtensible) {
    if (size < 40) return fail(error, "WAVE_FORMAT_EXTENSIBLE fmt chunk is too short");
    tag = u16(p + 24);  // first two bytes of the sub-format GUID are the plain format tag
  }
  if (tag != kFormatPcm && tag != kFormatFloat && tag != kFormatAlaw && tag != kFormatUlaw) {
    return fail(error, "unsupported encoding (format tag " + std::to_string(tag) +
                           "; PCM, float, A-law and u-law are supported)");
  }
  const bool bits_ok = tag == kFormatPcm     ? (bits == 8 || bits == 16 || bits == 24 || bits == 32)
                       : tag == kFormatFloat ? bits == 32
                                             : bits == 8;
  if (!bits_ok) {
    return fail(error, "unsupported sample size of " + std::to_string(bits) + " bits");
  }
  if (channels < 1 || channels > kMaxChannels) {
    return fail(error, "unsupported channel count " + std::to_string(channels));
  }
  if (rate < kMinRate || rate > kMaxRate) {
    return fail(error, "unsupported sample rate " + std::to_string(rate) + " Hz");
  }
  if (block_align != channels * bits / 8) {
    return fail(error, "inconsistent fmt chunk (block align " + std::to_string(block_align) +
                           " for " + std::to_string(channels) + " channels of " +
                           std::to_string(bits) + " bits)");
  }
  fmt->tag = tag;
  fmt->channels = channels;
  fmt->rate = rate;
  fmt->bytes_per_sample = bits / 8;
  fmt->block_align = block_align;
  return true;
}

float decodeSample(const Format& fmt, const unsigned char* p) {
  switch (fmt.tag) {
    case kFormatAlaw:
      return static_cast<float>(g711_alaw2pcm(p[0])) / 32768.0f;
    case kFormatUlaw:
      return static_cast<float>(g711_ulaw2pcm(p[0])) / 32768.0f;
    case kFormatFloat: {
      float v = 0;
      std::uint32_t bits = u32(p);
      std::memcpy(&v, &bits, sizeof v);
      if (!(v == v)) return 0.0f;  // NaN in a file: treat as silence
      return std::clamp(v, -1.0f, 1.0f);
    }
    default:
      break;
  }
  switch (fmt.bytes_per_sample) {
    case 1:
      return (static_cast<float>(p[0]) - 128.0f) / 128.0f;  // 8-bit WAV is unsigned
    case 2:
      return static_cast<float>(static_cast<std::int16_t>(u16(p))) / 32768.0f;
    case 3: {
      std::int32_t v = static_cast<std::int32_t>(static_cast<std::uint32_t>(p[0]) << 8 |
                                                 static_cast<std::uint32_t>(p[1]) << 16 |
                                                 static_cast<std::uint32_t>(p[2]) << 24);
      return static_cast<float>(v) / 2147483648.0f;
    }
    default:
      return static_cast<float>(static_cast<std::int32_t>(u32(p))) / 2147483648.0f;
  }
}

}  // namespace

std::optional<WavAudio> readWav(const std::string& path, int max_seconds, std::string* error) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    fail(error, "no such file");
    return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(status)) {
    fail(error, "not a regular file");
    return std::nullopt;
  }
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    fail(error, "cannot read size: " + ec.message());
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(error, std::string("cannot open: ") + std::strerror(errno));
    return std::nullopt;
  }
  std::array<unsigned char, 12> riff{};
  if (size < riff.size() || !readAt(in, 0, riff.data(), riff.size())) {
    fail(error, "not a WAV file (too short: " + std::to_string(size) + " bytes)");
    return std::nullopt;
  }
  if (std::memcmp(riff.data(), "RIFF", 4) != 0 || std::memcmp(riff.data() + 8, "WAVE", 4) != 0) {
    fail(error, std::memcmp(riff.data(), "RIFX", 4) == 0 || std::memcmp(riff.data(), "RF64", 4) == 0
                    ? "unsupported RIFF variant (big-endian RIFX or RF64)"
                    : "not a RIFF/WAVE file");
    return std::nullopt;
  }

  std::optional<Format> fmt;
  std::uint64_t pos = riff.size();
  for (int chunk = 0; chunk < kMaxChunks && pos + 8 <= size; ++chunk) {
    std::array<unsigned char, 8> header{};
    if (!readAt(in, pos, header.data(), header.size())) break;
    const std::uint32_t chunk_size = u32(header.data() + 4);
    const std::uint64_t body = pos + 8;
    if (std::memcmp(header.data(), "fmt ", 4) == 0) {
      std::array<unsigned char, 40> raw{};
      if (chunk_size < 16) {
        fail(error, "fmt chunk too short (" + std::to_string(chunk_size) + " bytes)");
        return std::nullopt;
      }
      const std::size_t want = std::min<std::size_t>(chunk_size, raw.size());
      if (body + chunk_size > size || !readAt(in, body, raw.data(), want)) {
        fail(error, "truncated in the fmt chunk");
        return std::nullopt;
      }
      Format parsed;
      if (!parseFormat(raw.data(), chunk_size, &parsed, error)) return std::nullopt;
      fmt = parsed;
    } else if (std::memcmp(header.data(), "data", 4) == 0) {
      if (!fmt) {
        fail(error, "data chunk before any fmt chunk");
        return std::nullopt;
      }
      std::uint64_t data_bytes = chunk_size;
      if (chunk_size == 0 || chunk_size == 0xFFFFFFFFu) {
        data_bytes = size - body;  // size left unset by a streaming writer: up to end of file
      } else if (body + chunk_size > size) {
        fail(error, "truncated: data chunk declares " + std::to_string(chunk_size) +
                        " bytes, the file holds " + std::to_string(size - body));
        return std::nullopt;
      }
      const std::uint64_t frames = data_bytes / static_cast<std::uint64_t>(fmt->block_align);
      if (frames == 0) {
        fail(error, "no audio samples in the data chunk");
        return std::nullopt;
      }
      if (frames > static_cast<std::uint64_t>(max_seconds) * fmt->rate) {
        fail(error, "too long: " + std::to_string(frames / fmt->rate) + " s, the limit is " +
                        std::to_string(max_seconds) + " s");
        return std::nullopt;
      }
      WavAudio audio;
      audio.sample_rate = static_cast<int>(fmt->rate);
      audio.mono.reserve(static_cast<std::size_t>(frames));
      const float scale = 1.0f / static_cast<float>(fmt->channels);
      constexpr std::uint64_t kFramesPerRead = 8192;
      std::vector<unsigned char> buffer;
      in.clear();
      in.seekg(static_cast<std::streamoff>(body));
      for (std::uint64_t done = 0; done < frames;) {
        const std::uint64_t n = std::min(kFramesPerRead, frames - done);
        buffer.resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(fmt->block_align));
        in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
        if (static_cast<std::size_t>(in.gcount()) != buffer.size()) {
          fail(error, "read error in the data chunk");
          return std::nullopt;
        }
        for (std::size_t f = 0; f < n; ++f) {
          const unsigned char* frame = buffer.data() + f * static_cast<std::size_t>(fmt->block_align);
          float sum = 0;
          for (int c = 0; c < fmt->channels; ++c) {
            sum += decodeSample(*fmt, frame + c * fmt->bytes_per_sample);
          }
          audio.mono.push_back(sum * scale);
        }
        done += n;
      }
      return audio;
    }
    pos = body + chunk_size + (chunk_size & 1u);  // chunks are padded to an even size
  }
  fail(error, fmt ? "no data chunk" : "no fmt chunk");
  return std::nullopt;
}

bool writeWav16(const std::string& path, const std::vector<std::int16_t>& samples,
                int sample_rate, std::string* error) {
  const std::uint64_t data_bytes = samples.size() * 2;
  if (data_bytes > std::numeric_limits<std::uint32_t>::max() - 36u) {
    return fail(error, path + ": too many samples for a WAV file");
  }
  std::string header;
  header.reserve(44);
  header += "RIFF";
  putU32(header, static_cast<std::uint32_t>(36 + data_bytes));
  header += "WAVEfmt ";
  putU32(header, 16);
  putU16(header, kFormatPcm);
  putU16(header, 1);  // mono
  putU32(header, static_cast<std::uint32_t>(sample_rate));
  putU32(header, static_cast<std::uint32_t>(sample_rate) * 2);
  putU16(header, 2);   // block align
  putU16(header, 16);  // bits
  header += "data";
  putU32(header, static_cast<std::uint32_t>(data_bytes));

  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return fail(error, path + ": cannot create: " + std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), file) == header.size();
  std::vector<unsigned char> body;
  body.reserve(static_cast<std::size_t>(data_bytes));
  for (std::int16_t s : samples) {
    const auto u = static_cast<std::uint16_t>(s);
    body.push_back(static_cast<unsigned char>(u & 0xFF));
    body.push_back(static_cast<unsigned char>(u >> 8));
  }
  ok = ok && std::fwrite(body.data(), 1, body.size(), file) == body.size();
  const int saved_errno = errno;
  ok = (std::fclose(file) == 0) && ok;
  if (!ok) return fail(error, path + ": write failed: " + std::strerror(saved_errno ? saved_errno : errno));
  return true;
}

}  // namespace parley::media
