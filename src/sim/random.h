// Random numbers for the simulator: a small, fast, seedable generator and the distributions that
// scenarios use. Results depend only on the seed, never on the standard library, so a scenario
// gives the same figures with every compiler.
//
// Thread rule: a Rng is a value; use one per thread (the simulator is single-threaded).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace parley::sim {

// SplitMix64 (Steele, Lea, Flood 2014): expands one 64-bit seed into well-mixed words.
inline std::uint64_t splitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256** 1.0 (Blackman and Vigna 2018): 256-bit state, period 2^256 - 1, passes BigCrush.
// Satisfies UniformRandomBitGenerator.
class Rng {
 public:
  using result_type = std::uint64_t;

  // Streams with different (seed, stream) pairs are independent for simulation purposes.
  explicit Rng(std::uint64_t seed = 1, std::uint64_t stream = 0) {
    std::uint64_t sm = seed ^ (stream * 0xd1b54a32d192ed03ULL + 0x8bb84b93962eacc9ULL);
    for (auto& word : s_) word = splitMix64(sm);
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  result_type operator()() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in (0, 1]: never 0, so -log(u) is finite.
  double uniformOpenZero() { return (static_cast<double>((*this)() >> 11) + 1.0) * 0x1.0p-53; }

  // Exponential with mean 1.
  double exponential1() { return -std::log(uniformOpenZero()); }

  // Standard normal (Box-Muller; the second value of each pair is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniformOpenZero()));
    const double theta =
        2.0 * 3.14159265358979323846 * (static_cast<double>((*this)() >> 11) * 0x1.0p-53);
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t s_[4];
  double spare_ = 0;        // second normal variate of the last Box-Muller pair
  bool has_spare_ = false;  // whether spare_ is unused
};

}  // namespace parley::sim
