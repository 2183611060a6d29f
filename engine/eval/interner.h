// Copyright EMPI developers.
//
// interner.h: maps strings to dense integer ids 0, 1, 2, ... and back.
//
// Evaluation interns ten million record keys and person ids; a
// flat_hash_map<std::string, uint32_t> would spend about 40 bytes a slot.
// Here the strings live end to end in one arena and the hash set holds only
// 4-byte ids, looked up by string_view through transparent hash and equality.
//
//   Interner persons;
//   uint32_t a = persons.Intern("P1");   // 0
//   persons.Intern("P2");                // 1
//   persons.Find("P1");                  // 0
//   persons.Get(1);                      // "P2"
//
// Thread-safety: concurrent const calls are safe; Intern needs exclusive use.
#ifndef EMPI_ENGINE_EVAL_INTERNER_H_
#define EMPI_ENGINE_EVAL_INTERNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace empi::eval {

class Interner {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  Interner() : strings_(std::make_unique<Strings>()), set_(0, Hash{strings_.get()}, Eq{strings_.get()}) {}
  Interner(Interner&&) = default;
  Interner& operator=(Interner&&) = default;

  // Returns the id of `s`, adding it if it is new; *added (if given) says
  // whether it was.
  uint32_t Intern(std::string_view s, bool* added = nullptr) {
    bool is_new = false;
    uint32_t id = *set_.lazy_emplace(s, [&](const auto& construct) {
      is_new = true;
      strings_->arena.append(s);
      strings_->ends.push_back(strings_->arena.size());
      construct(static_cast<uint32_t>(strings_->ends.size() - 1));
    });
    if (added) *added = is_new;
    return id;
  }

  // Makes room for `n` strings in all, so that interning them does not rehash.
  void Reserve(size_t n) {
    set_.reserve(n);
    strings_->ends.reserve(n);
  }

  // Returns the id of `s`, or kNotFound.
  uint32_t Find(std::string_view s) const {
    auto it = set_.find(s);
    return it == set_.end() ? kNotFound : *it;
  }

  // Starts loading the memory that Find(s) or Intern(s) will touch. Ten
  // million random lookups are bound by memory latency; prefetching a batch
  // of keys before using them overlaps the waits.
  void Prefetch(std::string_view s) const { set_.prefetch(s); }

  // The string with id `id` (< size()); valid until the next Intern.
  std::string_view Get(uint32_t id) const { return strings_->Get(id); }
  size_t size() const { return strings_->ends.size(); }

 private:
  struct Strings {
    std::string arena;
    std::vector<uint64_t> ends;  // end offset of each string in arena
    std::string_view Get(uint32_t id) const {
      uint64_t begin = id == 0 ? 0 : ends[id - 1];
      return std::string_view(arena.data() + begin, ends[id] - begin);
    }
  };
  struct Hash {
    using is_transparent = void;
    const Strings* strings;
    // Through absl::string_view: Debian's Abseil hashes std::string_view with
    // std::hash, which is much slower than its own string hash.
    size_t operator()(std::string_view s) const {
      return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
    }
    size_t operator()(uint32_t id) const { return (*this)(strings->Get(id)); }
  };
  struct Eq {
    using is_transparent = void;
    const Strings* strings;
    std::string_view View(std::string_view s) const { return s; }
    std::string_view View(uint32_t id) const { return strings->Get(id); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return View(a) == View(b);
    }
  };

  // On the heap so that Hash and Eq keep pointing at it when we move.
  std::unique_ptr<Strings> strings_;
  absl::flat_hash_set<uint32_t, Hash, Eq> set_;
};

}  // namespace empi::eval

#endif  // EMPI_ENGINE_EVAL_INTERNER_H_
