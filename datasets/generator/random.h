// Copyright EMPI developers.
//
// random.h: the generator's own portable random numbers.
//
// Everything the generator writes must be byte-identical for a seed on any
// platform and standard library, so it never uses <random> distributions
// (whose output is implementation-defined). Rng is xoshiro256** seeded
// through splitmix64; Permutation is a keyed Feistel bijection on [0, n)
// (cycle-walking), used for NHS numbers and record ids so that they are
// unique without any shared counter between threads.
//
//   empi::generator_internal::Rng rng(seed, chunk_index);
//   int age = rng.UniformInt(18, 100);
//   if (rng.Bernoulli(0.3)) ...
//
// Thread-safety: Rng is a value type (one per chunk); Permutation is
// immutable after construction and safe to share.
#ifndef EMPI_DATASETS_GENERATOR_RANDOM_H_
#define EMPI_DATASETS_GENERATOR_RANDOM_H_

#include <cstdint>
#include <vector>

namespace empi::generator_internal {

inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A stateless 64-bit mix of two words; equal inputs give equal outputs.
inline uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t s = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL);
  SplitMix64(&s);
  return SplitMix64(&s);
}

class Rng {
 public:
  // A stream determined only by (seed, stream).
  Rng(uint64_t seed, uint64_t stream) {
    uint64_t s = Mix(seed, stream);
    for (auto& w : s_) w = SplitMix64(&s);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); n > 0. Lemire's multiply-shift (tiny bias, portable).
  uint64_t Below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64); }
  // Uniform in [lo, hi] inclusive.
  int UniformInt(int lo, int hi) { return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1))); }
  // Uniform in [0, 1) with 53 bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Bernoulli(double p) { return Uniform() < p; }

  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// A keyed bijection of [0, n). Feistel network over the smallest even
// number of bits covering n, cycle-walking values that land outside.
class Permutation {
 public:
  Permutation(uint64_t n, uint64_t key) : n_(n) {
    int bits = 2;
    while ((1ULL << bits) < n) bits += 2;
    half_bits_ = bits / 2;
    mask_ = (1ULL << half_bits_) - 1;
    uint64_t s = key;
    for (auto& k : keys_) k = SplitMix64(&s);
  }

  uint64_t size() const { return n_; }

  // Requires x < size().
  uint64_t operator()(uint64_t x) const {
    do {
      x = Round(x);
    } while (x >= n_);
    return x;
  }

 private:
  uint64_t Round(uint64_t x) const {
    uint64_t l = x >> half_bits_, r = x & mask_;
    for (uint64_t k : keys_) {
      uint64_t f = Mix(r, k) & mask_;
      uint64_t nl = r;
      r = l ^ f;
      l = nl;
    }
    return (l << half_bits_) | r;
  }

  uint64_t n_;
  int half_bits_;
  uint64_t mask_;
  uint64_t keys_[4];
};

// Sampling from a fixed list with weights, by binary search on the
// cumulative sum.
class WeightedIndex {
 public:
  WeightedIndex() = default;
  explicit WeightedIndex(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) cumulative_.push_back(total += w);
  }
  size_t size() const { return cumulative_.size(); }
  size_t Sample(Rng& rng) const {
    double u = rng.Uniform() * cumulative_.back();
    size_t lo = 0, hi = cumulative_.size() - 1;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (cumulative_[mid] > u)
        hi = mid;
      else
        lo = mid + 1;
    }
    return lo;
  }

 private:
  std::vector<double> cumulative_;
};

}  // namespace empi::generator_internal

#endif  // EMPI_DATASETS_GENERATOR_RANDOM_H_
