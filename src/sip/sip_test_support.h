// Test support for the SIP integration tests (sip_server_test.cpp, call_legs_test.cpp):
// temporary directories, child processes reaped by pid, SIPp runs bounded by coreutils
// `timeout`, and raw loopback sockets. Header-only; test binaries only.
//
// Thread rule: each object is used by one test thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace parley::sip::testsupport {

inline constexpr std::chrono::seconds kWait{10};  // bound for anything the server does promptly

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-sip-XXXXXX").string();
    path_ = mkdtemp(pattern.data()) ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct SippResult {
  int exit_code = -1;
  std::string output;
};

inline bool haveBaresip() {
  return std::string(PARLEY_BARESIP).size() > 0 && access(PARLEY_BARESIP, X_OK) == 0;
}

inline bool haveSipp() {
  return std::string(PARLEY_SIPP).size() > 0 && access(PARLEY_SIPP, X_OK) == 0;
}

// Spawns `args` (argv[0] looked up in PATH) in `dir` with stdout and stderr to `log`; the pid,
// or -1. Callers bound the run with coreutils `timeout` and reap it with waitProcess().
inline pid_t spawnProcess(std::vector<std::string> args, const std::string& dir,
                          const std::string& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int err = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return err == 0 ? pid : -1;
}

// Waits for `pid`; its exit code (128 + signal if killed), -1 for no process.
inline int waitProcess(pid_t pid) {
  if (pid < 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline int spawnAndWait(std::vector<std::string> args, const std::string& dir,
                        const std::string& log) {
  return waitProcess(spawnProcess(std::move(args), dir, log));
}

inline std::string readTail(const std::string& path, std::size_t max = 4000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  return text.size() > max ? text.substr(text.size() - max) : text;
}

// The SIPp command line for one call of `scenario` (a file in testdata), bounded by SIPp's own
// -timeout and by coreutils `timeout`; `extra` adds arguments (-s, -au, -p, the remote host).
inline std::vector<std::string> sippCommand(const std::string& scenario,
                                            const std::string& transport,
                                            std::vector<std::string> extra) {
  std::vector<std::string> args = {"timeout",
                                   "-k",
                                   "5",
                                   "30",
                                   PARLEY_SIPP,
                                   "-sf",
                                   std::string(PARLEY_SIP_TESTDATA) + "/" + scenario,
                                   "-m",
                                   "1",
                                   "-t",
                                   transport,
                                   "-i",
                                   "127.0.0.1",
                                   "-timeout",
                                   "15",
                                   "-timeout_error",
                                   "-recv_timeout",
                                   "5000",
                                   "-nostdin"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A SIPp run in the background (a UAS our server dials, or a UAC); finish() reaps it.
class SippProcess {
 public:
  explicit SippProcess(std::vector<std::string> args)
      : log_(dir_.path() + "/sipp.log"), pid_(spawnProcess(std::move(args), dir_.path(), log_)) {}
  ~SippProcess() { (void)finish(); }
  SippProcess(const SippProcess&) = delete;
  SippProcess& operator=(const SippProcess&) = delete;
  bool started() const { return pid_ > 0; }
  SippResult finish() {
    if (pid_ > 0) {
      result_.exit_code = waitProcess(pid_);
      result_.output = readTail(log_);
      pid_ = -1;
    }
    return result_;
  }

 private:
  TempDir dir_;
  std::string log_;
  pid_t pid_ = -1;
  SippResult result_;
};

// Runs one SIPp UAC call of `scenario` against 127.0.0.1:`port` as `user` with `password`.
inline SippResult runSipp(const std::string& scenario, std::uint16_t port,
                          const std::string& transport, const std::string& user,
                          const std::string& password) {
  SippProcess sipp(sippCommand(scenario, transport,
                               {"127.0.0.1:" + std::to_string(port), "-s", user, "-au", user,
                                "-ap", password}));
  return sipp.finish();
}

// A port that was free a moment ago (bound to port 0, read back, closed).
inline std::uint16_t freePort(int type) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

class RawSocket {
 public:
  RawSocket(int type, std::uint16_t port) : fd_(socket(AF_INET, type, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (connected_) {
      sockaddr_in local{};
      socklen_t len = sizeof local;
      getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
      local_port_ = ntohs(local.sin_port);
    }
  }
  ~RawSocket() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }
  std::uint16_t localPort() const { return local_port_; }

  void send(std::string_view data) { (void)::send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }

  // Reads until `needle` appears in what arrived (returns everything read), or the deadline.
  std::string readUntil(std::string_view needle, std::chrono::milliseconds within = kWait) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (got.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[8192];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::uint16_t local_port_ = 0;
};

}  // namespace parley::sip::testsupport
