// RtpRing: the media thread's RTP sockets read and written through one io_uring (liburing),
// so that relaying a packet costs no system call of its own: one io_uring_enter submits every
// send queued since the last and collects every datagram received meanwhile.
//
// - Receiving: each socket has one multishot recvmsg that picks its buffer from a ring of
//   `buffers` buffers of kBufferSize bytes shared by all sockets (IORING_OP_PROVIDE_BUFFERS'
//   successor, a registered buffer ring). A datagram stays in its buffer until released, or
//   until the send it was handed to has completed: a relayed packet is never copied.
// - Sending: send() queues an SQE for a buffer received earlier (a connected socket: send; an
//   unconnected one: sendmsg to the given address). The buffer goes back to the ring when the
//   send completes, unless the handler sends it again.
// - Waking: the ring runs with DEFER_TASKRUN (the kernel's receive work runs inside our
//   io_uring_enter, batched), and an eventfd registered with it becomes readable when work is
//   waiting: watch notifyFd() in the event loop, then call poll(); the eventfd does not fire
//   again for work the kernel kept back, so ask hasWork() before waiting on it again.
// - Descriptors: a socket given to receive() is also put in the ring's table of registered files
//   (while there is room), so that its receives and sends skip the kernel's per-operation file
//   lookup; stopReceiving() takes it out again.
//
// Internal to parley_media (no libre types; the engine wraps buffers in mbufs itself). One
// thread creates, uses and destroys a ring. Not copyable.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct io_uring;
struct io_uring_buf_ring;
struct io_uring_sqe;

namespace parley::media {

// A datagram received into one of the ring's buffers.
struct RingPacket {
  std::uint64_t tag = 0;      // receive()'s tag for the socket
  std::uint16_t buffer = 0;   // for send() or release()
  std::uint8_t* data = nullptr;
  std::size_t size = 0;
  bool truncated = false;     // longer than the room in a buffer: cut short
  const sockaddr* from = nullptr;
  socklen_t from_len = 0;
};

class RtpRingHandler {
 public:
  // A datagram. The handler owns `packet.buffer` from here: it must send() or release() it
  // (before poll() returns, or later).
  virtual void onPacket(RingPacket& packet) = 0;
  // A send completed: `result` is the byte count or -errno. Return true if the handler sent
  // the buffer again (it then stays out of the ring), false to release it.
  virtual bool onSent(std::uint64_t tag, std::uint16_t buffer, int result) = 0;
  // A socket's receive ended without being stopped (out of buffers, an ICMP error on a connected
  // socket, ...): -errno. receive() again to go on.
  virtual void onReceiveEnded(std::uint64_t tag, int result) = 0;

 protected:
  ~RtpRingHandler() = default;
};

class RtpRing {
 public:
  // Room for a G.711 packet of up to 120 ms after the receive's header and source address
  // (1024 - 16 - 28 bytes); longer datagrams arrive cut short, marked `truncated`.
  static constexpr std::size_t kBufferSize = 1024;
  static constexpr std::size_t kMaxDatagram = kBufferSize - 16 - 28;  // io_uring_recvmsg_out, sockaddr_in6

  struct Created {
    std::unique_ptr<RtpRing> ring;  // null when io_uring is not available (kernel, seccomp)
    std::string error;
  };
  // `buffers`: a power of two, at most 32768.
  static Created create(unsigned buffers = 4096);
  ~RtpRing();  // cancels everything in flight
  RtpRing(const RtpRing&) = delete;
  RtpRing& operator=(const RtpRing&) = delete;

  int notifyFd() const { return event_fd_; }
  // Clears notifyFd() (call before poll() when woken by it).
  void clearNotify();

  // Starts receiving on `fd` (queued; runs from the next poll() or flush()).
  bool receive(int fd, std::uint64_t tag);
  // Stops receiving on `fd` at once; call before closing it (the kernel holds the socket open
  // while a receive is armed). Datagrams already received are still handed over.
  void stopReceiving(int fd);
  // Queues sending `size` bytes at `data`, which lie in `buffer` (from onPacket). `to` null:
  // the socket is connected. False (buffer not taken) if the arguments are wrong.
  bool send(int fd, std::uint16_t buffer, const std::uint8_t* data, std::size_t size,
            const sockaddr* to, socklen_t to_len, std::uint64_t tag);
  // Queues the send of `buffer` again, as the last send() of it (from onSent).
  bool sendAgain(int fd, std::uint16_t buffer, std::uint64_t tag);
  void release(std::uint16_t buffer);

  // Submits what is queued and hands over everything that completed (one io_uring_enter).
  // Returns the number of completions handled.
  std::size_t poll(RtpRingHandler& handler);
  // Submits what is queued, collecting nothing.
  void flush();
  // Whether completions or the kernel's deferred work are waiting (one poll() of the ring).
  // The eventfd fires when such work starts waiting, not while it still waits: the kernel runs
  // a bounded number of deferred items per io_uring_enter and keeps the rest for the next one,
  // without signalling again. Check this before relying on the eventfd to wake for it.
  bool hasWork() const;

  struct Stats {
    std::uint64_t buffers_out = 0;   // buffers held by handlers or sends now
    std::uint64_t files_registered = 0;  // sockets in the registered file table now
  };
  Stats stats() const { return stats_; }

 private:
  RtpRing() = default;
  struct SendSlot;
  ::io_uring_sqe* sqe();
  // Points `e` at `fd`: its registered slot if it has one.
  void target(::io_uring_sqe* e, int fd) const;
  bool isRegistered(int fd) const {
    return fd >= 0 && static_cast<std::size_t>(fd) < fixed_of_fd_.size() && fixed_of_fd_[fd] >= 0;
  }
  void registerFile(int fd);
  void unregisterFile(int fd);

  std::unique_ptr<io_uring> ring_;
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  unsigned buffers_ = 0;
  std::uint8_t* memory_ = nullptr;   // buffers_ * kBufferSize
  std::vector<SendSlot> slots_;      // per buffer: the send's tag and, unconnected, its header
  msghdr recv_msg_{};                // what every multishot recvmsg reserves room for (the name)
  int event_fd_ = -1;
  std::vector<int> fixed_of_fd_;   // registered slot of a descriptor, -1: none
  std::vector<unsigned> free_fixed_;  // registered slots not in use
  Stats stats_;
};

}  // namespace parley::media
