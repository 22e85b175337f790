#include "media/rtp_ring.h"

#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace parley::media {
namespace {

// user_data: the kind in the top two bits; a receive carries its tag, a send its buffer.
constexpr std::uint64_t kKindShift = 62;
constexpr std::uint64_t kReceive = 1;
constexpr std::uint64_t kSend = 2;
constexpr std::uint64_t kCancel = 3;
constexpr std::uint64_t kPayloadMask = (std::uint64_t{1} << kKindShift) - 1;
constexpr unsigned kBufferGroup = 0;
constexpr unsigned kMaxRegisteredFiles = 65536;

std::uint64_t userData(std::uint64_t kind, std::uint64_t payload) {
  return kind << kKindShift | (payload & kPayloadMask);
}

}  // namespace

struct RtpRing::SendSlot {
  std::uint64_t tag = 0;
  bool to_address = false;  // sendmsg with `msg`; else send of iov
  msghdr msg{};
  iovec iov{};
  sockaddr_storage to{};
};

RtpRing::Created RtpRing::create(unsigned buffers) {
  if (buffers == 0 || buffers > 32768 || (buffers & (buffers - 1)) != 0) {
    return {nullptr, "buffer count must be a power of two up to 32768"};
  }
  std::unique_ptr<RtpRing> r(new RtpRing());
  r->ring_ = std::make_unique<io_uring>();
  io_uring_params params{};
  // SINGLE_ISSUER + DEFER_TASKRUN: the kernel's part of receiving runs in our io_uring_enter,
  // many datagrams at a time, instead of interrupting the thread per datagram. Completions of
  // 2 per buffer (its datagram, its send) plus the receives' own ends fit without overflow.
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  params.cq_entries = buffers * 4;
  if (const int err = io_uring_queue_init_params(buffers, r->ring_.get(), &params); err < 0) {
    r->ring_.reset();
    return {nullptr, std::string("io_uring_setup: ") + std::strerror(-err)};
  }
  r->buffers_ = buffers;
  r->buf_ring_bytes_ = buffers * sizeof(io_uring_buf);
  void* mapped = mmap(nullptr, r->buf_ring_bytes_, PROT_READ | PROT_WRITE,
                      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mapped == MAP_FAILED) return {nullptr, std::string("mmap: ") + std::strerror(errno)};
  r->buf_ring_ = static_cast<io_uring_buf_ring*>(mapped);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(r->buf_ring_);
  reg.ring_entries = buffers;
  reg.bgid = kBufferGroup;
  if (const int err = io_uring_register_buf_ring(r->ring_.get(), &reg, 0); err < 0) {
    return {nullptr, std::string("registering the buffer ring: ") + std::strerror(-err)};
  }
  r->memory_ = static_cast<std::uint8_t*>(std::malloc(std::size_t{buffers} * kBufferSize));
  if (!r->memory_) return {nullptr, "out of memory"};
  r->slots_.resize(buffers);
  io_uring_buf_ring_init(r->buf_ring_);
  const int mask = io_uring_buf_ring_mask(buffers);
  for (unsigned b = 0; b < buffers; ++b) {
    io_uring_buf_ring_add(r->buf_ring_, r->memory_ + std::size_t{b} * kBufferSize, kBufferSize,
                          static_cast<unsigned short>(b), mask, static_cast<int>(b));
  }
  io_uring_buf_ring_advance(r->buf_ring_, static_cast<int>(buffers));
  r->event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (r->event_fd_ < 0) return {nullptr, std::string("eventfd: ") + std::strerror(errno)};
  if (const int err = io_uring_register_eventfd(r->ring_.get(), r->event_fd_); err < 0) {
    return {nullptr, std::string("registering the eventfd: ") + std::strerror(-err)};
  }
  r->recv_msg_.msg_namelen = sizeof(sockaddr_in6);  // every buffer reserves this much for it
  static_assert(sizeof(io_uring_recvmsg_out) + sizeof(sockaddr_in6) + kMaxDatagram == kBufferSize);
  // The registered file table: as many slots as the process may open descriptors (the kernel's
  // limit for the table), capped; without it every operation looks its descriptor up.
  rlimit files{};
  unsigned slots = kMaxRegisteredFiles;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < slots) {
    slots = static_cast<unsigned>(files.rlim_cur);
  }
  if (io_uring_register_files_sparse(r->ring_.get(), slots) == 0) {
    r->free_fixed_.reserve(slots);
    for (unsigned i = slots; i > 0; --i) r->free_fixed_.push_back(i - 1);
  }
  return {std::move(r), {}};
}

RtpRing::~RtpRing() {
  if (ring_ && ring_->ring_fd >= 0) io_uring_queue_exit(ring_.get());  // cancels everything
  if (buf_ring_) munmap(buf_ring_, buf_ring_bytes_);
  std::free(memory_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

void RtpRing::clearNotify() {
  std::uint64_t count = 0;
  (void)!::read(event_fd_, &count, sizeof count);
}

io_uring_sqe* RtpRing::sqe() {
  io_uring_sqe* e = io_uring_get_sqe(ring_.get());
  if (e) return e;
  flush();  // the submission queue is full: hand it to the kernel and take a fresh entry
  return io_uring_get_sqe(ring_.get());
}

void RtpRing::registerFile(int fd) {
  if (free_fixed_.empty() || isRegistered(fd)) return;
  const unsigned slot = free_fixed_.back();
  if (io_uring_register_files_update(ring_.get(), slot, &fd, 1) != 1) return;  // unregistered
  free_fixed_.pop_back();
  ++stats_.files_registered;
  if (static_cast<std::size_t>(fd) >= fixed_of_fd_.size()) fixed_of_fd_.resize(fd + 1, -1);
  fixed_of_fd_[fd] = static_cast<int>(slot);
}

void RtpRing::unregisterFile(int fd) {
  if (!isRegistered(fd)) return;
  const int slot = fixed_of_fd_[fd];
  int none = -1;
  (void)io_uring_register_files_update(ring_.get(), static_cast<unsigned>(slot), &none, 1);
  fixed_of_fd_[fd] = -1;
  free_fixed_.push_back(static_cast<unsigned>(slot));
  --stats_.files_registered;
}

void RtpRing::target(io_uring_sqe* e, int fd) const {
  if (isRegistered(fd)) {
    e->fd = fixed_of_fd_[fd];
    e->flags |= IOSQE_FIXED_FILE;
  }
}

bool RtpRing::receive(int fd, std::uint64_t tag) {
  if (fd < 0 || tag > kPayloadMask) return false;
  registerFile(fd);
  io_uring_sqe* e = sqe();
  if (!e) return false;
  io_uring_prep_recvmsg_multishot(e, fd, &recv_msg_, 0);
  target(e, fd);
  e->flags |= IOSQE_BUFFER_SELECT;
  e->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(e, userData(kReceive, tag));
  return true;
}

void RtpRing::stopReceiving(int fd) {
  if (fd < 0) return;
  io_uring_sqe* e = sqe();
  if (!e) return;
  // Every request on this descriptor: its receive (queued sends go out first, in this submit).
  const bool fixed = isRegistered(fd);
  io_uring_prep_cancel_fd(e, fixed ? fixed_of_fd_[fd] : fd,
                          IORING_ASYNC_CANCEL_ALL | (fixed ? IORING_ASYNC_CANCEL_FD_FIXED : 0));
  io_uring_sqe_set_data64(e, userData(kCancel, 0));
  // Submitted and the deferred work run at once: the cancelled receive lets go of the socket
  // now, so that its port is free as soon as the caller closes it (completions wait for poll).
  (void)io_uring_submit_and_get_events(ring_.get());
  unregisterFile(fd);
}

bool RtpRing::send(int fd, std::uint16_t buffer, const std::uint8_t* data, std::size_t size,
                   const sockaddr* to, socklen_t to_len, std::uint64_t tag) {
  if (fd < 0 || buffer >= buffers_ || to_len > sizeof(sockaddr_storage)) return false;
  const std::uint8_t* base = memory_ + std::size_t{buffer} * kBufferSize;
  if (data < base || data + size > base + kBufferSize) return false;
  SendSlot& slot = slots_[buffer];
  slot.iov = {const_cast<std::uint8_t*>(data), size};
  slot.to_address = to != nullptr;
  if (to) {
    std::memcpy(&slot.to, to, to_len);
    slot.msg = {};
    slot.msg.msg_name = &slot.to;
    slot.msg.msg_namelen = to_len;
    slot.msg.msg_iov = &slot.iov;
    slot.msg.msg_iovlen = 1;
  }
  return sendAgain(fd, buffer, tag);
}

bool RtpRing::sendAgain(int fd, std::uint16_t buffer, std::uint64_t tag) {
  if (fd < 0 || buffer >= buffers_) return false;
  io_uring_sqe* e = sqe();
  if (!e) return false;
  SendSlot& slot = slots_[buffer];
  slot.tag = tag;
  if (slot.to_address) {
    io_uring_prep_sendmsg(e, fd, &slot.msg, 0);
  } else {
    io_uring_prep_send(e, fd, slot.iov.iov_base, slot.iov.iov_len, 0);
  }
  target(e, fd);
  io_uring_sqe_set_data64(e, userData(kSend, buffer));
  return true;
}

void RtpRing::release(std::uint16_t buffer) {
  if (buffer >= buffers_) return;
  io_uring_buf_ring_add(buf_ring_, memory_ + std::size_t{buffer} * kBufferSize, kBufferSize,
                        buffer, io_uring_buf_ring_mask(buffers_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
  --stats_.buffers_out;
}

void RtpRing::flush() {
  if (io_uring_sq_ready(ring_.get()) == 0) return;
  (void)io_uring_submit(ring_.get());
}

bool RtpRing::hasWork() const {
  pollfd p{ring_->ring_fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

std::size_t RtpRing::poll(RtpRingHandler& handler) {
  (void)io_uring_submit_and_get_events(ring_.get());
  std::size_t handled = 0;
  // Handlers queue sends and may stop receives (which submits), never reap: walking the queue
  // by hand while they run is safe; the head moves on after each entry.
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(ring_.get(), &cqe) == 0 && cqe) {
    const std::uint64_t data = io_uring_cqe_get_data64(cqe);
    const int res = cqe->res;
    const unsigned flags = cqe->flags;
    io_uring_cqe_seen(ring_.get(), cqe);
    ++handled;
    const std::uint64_t kind = data >> kKindShift;
    const std::uint64_t payload = data & kPayloadMask;
    if (kind == kReceive) {
      const bool more = (flags & IORING_CQE_F_MORE) != 0;
      if (flags & IORING_CQE_F_BUFFER) {
        const auto buffer = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        ++stats_.buffers_out;
        std::uint8_t* base = memory_ + std::size_t{buffer} * kBufferSize;
        io_uring_recvmsg_out* out =
            res > 0 ? io_uring_recvmsg_validate(base, res, &recv_msg_) : nullptr;
        if (!out) {
          release(buffer);
        } else {
          RingPacket p;
          p.tag = payload;
          p.buffer = buffer;
          p.data = static_cast<std::uint8_t*>(io_uring_recvmsg_payload(out, &recv_msg_));
          p.size = io_uring_recvmsg_payload_length(out, res, &recv_msg_);
          p.truncated = (out->flags & MSG_TRUNC) != 0;
          p.from = static_cast<const sockaddr*>(io_uring_recvmsg_name(out));
          p.from_len = std::min<socklen_t>(out->namelen, recv_msg_.msg_namelen);
          handler.onPacket(p);
        }
      }
      // The end of a receive: reported unless it was cancelled (the socket is being closed).
      if (!more && res != -ECANCELED) handler.onReceiveEnded(payload, res < 0 ? res : 0);
    } else if (kind == kSend) {
      const auto buffer = static_cast<std::uint16_t>(payload);
      if (buffer < buffers_ && !handler.onSent(slots_[buffer].tag, buffer, res)) release(buffer);
    }
  }
  return handled;
}

}  // namespace parley::media
