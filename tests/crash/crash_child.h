// The child-process plumbing the crash tests share: a child (this same binary in child mode)
// prints acknowledgement lines; the parent starts it, waits for "READY" (unless it kills early),
// SIGKILLs it after a delay and gets every complete line it printed. A partial last line is an
// acknowledgement the child never finished printing and is dropped. Test-only; not thread-safe
// beyond what is said per function.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace peat::crash {

// One write(2) of < PIPE_BUF bytes: atomic with respect to other threads' lines.
inline void WriteLine(const std::string& line) {
  const std::string l = line + "\n";
  ssize_t n = write(STDOUT_FILENO, l.data(), l.size());
  (void)n;
}

// A fresh directory under the temp dir ("" if it cannot be made).
inline std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  return mkdtemp(tmpl.data()) == nullptr ? std::string() : tmpl;
}

// The parent's directory: `dir` when given, else a fresh temp dir it owns (the caller removes an
// owned one after a passing run). Prints the run's banner; an empty path means it failed.
struct ParentDir {
  std::string path;
  bool owned = false;
};
inline ParentDir StartParent(const std::string& name, const std::string& dir, int rounds,
                             unsigned long long seed) {
  ParentDir out{dir, dir.empty()};
  if (out.owned) out.path = MakeTempDir("peat-" + name);
  if (!out.path.empty()) {
    std::printf("%s: %d rounds, seed %llu, dir %s\n", name.c_str(), rounds, seed, out.path.c_str());
  }
  return out;
}

struct KilledChild {
  bool started = false;  // fork/pipe worked
  bool killed = false;   // the child died of our SIGKILL (not on its own)
  int wstatus = 0;
  std::vector<std::string> lines;  // complete lines, "READY" excluded
};

// Runs /proc/self/exe with `args` (args[0] is the program name) and kills it `delay_ms` after its
// "READY" line (or after it started, when `early`).
inline KilledChild RunAndKill(const std::vector<std::string>& args, bool early, int delay_ms) {
  KilledChild out;
  int pipefd[2];
  if (pipe(pipefd) != 0) return out;
  const pid_t pid = fork();
  if (pid < 0) return out;
  if (pid == 0) {
    dup2(pipefd[1], STDOUT_FILENO);
    close(pipefd[0]);
    close(pipefd[1]);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  out.started = true;
  close(pipefd[1]);
  std::promise<void> ready;
  auto ready_f = ready.get_future();
  std::thread reader([&] {
    std::string buf;
    char tmp[4096];
    bool ready_seen = false;
    for (;;) {
      const ssize_t n = read(pipefd[0], tmp, sizeof(tmp));
      if (n <= 0) break;
      buf.append(tmp, static_cast<size_t>(n));
      size_t pos;
      while ((pos = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, pos);
        buf.erase(0, pos + 1);
        if (line == "READY") {
          if (!ready_seen) ready.set_value();
          ready_seen = true;
        } else {
          out.lines.push_back(std::move(line));
        }
      }
    }
    if (!ready_seen) ready.set_value();
  });
  if (!early) ready_f.wait_for(std::chrono::seconds(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  kill(pid, SIGKILL);
  waitpid(pid, &out.wstatus, 0);
  reader.join();
  close(pipefd[0]);
  out.killed = WIFSIGNALED(out.wstatus);
  return out;
}

// One round of a kill loop. Every fourth round kills early (within 30 ms of the start, while the
// child may still be opening or recovering its store); the others `min_ms` + [0, spread_ms) ms
// after READY. The child's lines, or nullopt (after saying why on stderr) when it could not be
// started or exited on its own.
inline std::optional<std::vector<std::string>> KillRound(const std::vector<std::string>& args,
                                                         int round, std::mt19937_64& rng,
                                                         int min_ms, int spread_ms) {
  const bool early = round % 4 == 3;
  const int delay_ms = early ? static_cast<int>(rng() % 30)
                             : min_ms + static_cast<int>(rng() % static_cast<uint64_t>(spread_ms));
  KilledChild child = RunAndKill(args, early, delay_ms);
  if (!child.started) {
    std::fprintf(stderr, "round %d: could not start the child\n", round);
    return std::nullopt;
  }
  if (!child.killed) {
    std::fprintf(stderr, "round %d: child exited on its own (status %d)\n", round, child.wstatus);
    return std::nullopt;
  }
  std::printf("round %2d: killed after %3d ms%s\n", round, delay_ms, early ? " (early)" : "");
  return std::move(child.lines);
}

}  // namespace peat::crash
