// The one include of libre and librem for parley::media's .cpp files. Never include this from a
// public header: the module's interfaces stay free of libre types. CMake sets HAVE_INTTYPES_H and
// friends and adds the headers as SYSTEM includes (see src/sip/libre.h for why).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <cstdint>
#include <cstdio>

#include <re.h>
#include <rem.h>

namespace parley::media {

// Owns one libre mem object (mem_deref on destruction). For objects whose lifetime is the
// scope or the owning struct.
template <typename T>
class MemRef {
 public:
  MemRef() = default;
  explicit MemRef(T* p) : p_(p) {}
  ~MemRef() { reset(); }
  MemRef(const MemRef&) = delete;
  MemRef& operator=(const MemRef&) = delete;
  MemRef(MemRef&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  MemRef& operator=(MemRef&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  void reset() {
    if (p_) mem_deref(p_);
    p_ = nullptr;
  }
  T* get() const { return p_; }
  T** out() {
    reset();
    return &p_;
  }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

}  // namespace parley::media
