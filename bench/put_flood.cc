// PutDocument load generator for the mesh benchmarks (bench/mesh/peat_mesh.mjs, B3 and B4): a
// native writer so that the client, not the node, is never the bottleneck (Node's http2 client
// saturates one core well below peat-node's rate).
//
//   bench_put_flood --addr HOST:PORT [--conns N] [--inflight M] [--timeout-s S]  < docs
//
// stdin: one document per line, "collection<TAB>doc_id<TAB>json" (json without tabs/newlines).
// An empty line is a barrier: nothing after it is sent before everything before it is answered
// (B4 uses it between update rounds, so two writes of one document never race).
// Every request is encoded before the first one is sent (gRPC 5-byte prefix + PutDocumentRequest
// {1 collection, 2 doc_id, 3 json_data}, encoded by hand). N connections (default 4), h2c with
// prior knowledge, each with up to M streams in flight (default 128; never more than the server's
// SETTINGS_MAX_CONCURRENT_STREAMS). One thread, one poll() loop over non-blocking sockets, one
// nghttp2 client session per connection. Sending starts once every connection has the server's
// SETTINGS; the clock starts at the first request submitted.
//
// stdout: one JSON line
//   {"docs":D,"sent":N,"ok":K,"failed":F,"seconds":S,"first_send_unix_ms":T0,"last_ack_unix_ms":T1}
// ok = streams closed cleanly with grpc-status 0; seconds = T1 - T0 (monotonic clock); T0 and T1
// are CLOCK_REALTIME in ms (fractional), for lining up with the caller's own wall clock.
// Exit 0 iff every document was acknowledged OK; errors on stderr.

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr char kPath[] = "/peat.sidecar.v1.PeatSidecar/PutDocument";

struct Options {
  std::string addr;
  std::string host;
  std::string port;
  int conns = 4;
  uint32_t inflight = 128;
  double timeout_s = 600;
};

double MonoSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double UnixMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutStringField(std::string& out, uint32_t field, std::string_view s) {
  if (s.empty()) return;  // proto3: default values are not encoded
  PutVarint(out, (field << 3) | 2);
  PutVarint(out, s.size());
  out.append(s);
}

// gRPC length-prefixed PutDocumentRequest.
std::string EncodeRequest(std::string_view collection, std::string_view doc_id,
                          std::string_view json) {
  std::string body(5, '\0');
  body.reserve(5 + collection.size() + doc_id.size() + json.size() + 16);
  PutStringField(body, 1, collection);
  PutStringField(body, 2, doc_id);
  PutStringField(body, 3, json);
  const uint32_t n = static_cast<uint32_t>(body.size() - 5);
  body[1] = static_cast<char>(n >> 24);
  body[2] = static_cast<char>(n >> 16);
  body[3] = static_cast<char>(n >> 8);
  body[4] = static_cast<char>(n);
  return body;
}

// The requests and the shared progress of all connections.
struct Work {
  std::vector<std::string> bodies;
  std::vector<size_t> barriers;  // bodies[i], i >= barriers[k], wait until all before are answered
  size_t barrier = 0;            // next barrier in force
  size_t next = 0;               // next body to send
  uint64_t inflight = 0;
  uint64_t sent = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  double last_ack_ms = 0;
  double last_ack_mono = 0;
  std::string first_error;

  // Index of the next body to send, or false if none may be sent now.
  bool Take(size_t* index) {
    while (barrier < barriers.size() && next >= barriers[barrier] && inflight == 0) ++barrier;
    const size_t limit = barrier < barriers.size() ? barriers[barrier] : bodies.size();
    if (next >= limit) return false;
    *index = next++;
    return true;
  }
  bool Done() const { return next == bodies.size() && inflight == 0; }
  void Fail(const std::string& what) {
    ++failed;
    if (first_error.empty()) first_error = what;
  }
};

struct Stream {
  size_t body = 0;
  size_t offset = 0;
  int grpc_status = -1;
  std::string grpc_message;
  std::string http_status;
};

nghttp2_nv Nv(const char* name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), std::strlen(name),
                    value.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

class Conn {
 public:
  Conn(const Options& opt, Work& work, int index) : opt_(opt), work_(work), index_(index) {}
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { Close(); }

  bool Open(const addrinfo* ai) {
    fd_ = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd_ < 0) return Fatal(std::string("socket: ") + std::strerror(errno));
    if (connect(fd_, ai->ai_addr, ai->ai_addrlen) != 0) {
      return Fatal("connect " + opt_.addr + ": " + std::strerror(errno));
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);

    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) return Fatal("nghttp2_session_callbacks_new");
    nghttp2_session_callbacks_set_on_header_callback(cbs, &Conn::OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Conn::OnFrameRecv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Conn::OnStreamClose);
    const int rv = nghttp2_session_client_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) return Fatal(std::string("nghttp2_session_client_new: ") + nghttp2_strerror(rv));
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                         {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 1 << 24);

    streams_.resize(opt_.inflight);
    for (auto& s : streams_) free_.push_back(&s);
    authority_ = opt_.addr;
    method_ = "POST";
    scheme_ = "http";
    path_ = kPath;
    content_type_ = "application/grpc";
    te_ = "trailers";
    return Flush();
  }

  bool alive() const { return !dead_; }
  bool ready() const { return settings_seen_; }
  int fd() const { return fd_; }
  bool want_pollout() const { return !dead_ && out_off_ < out_.size(); }

  // Submits as many requests as this connection may carry, then writes what it can.
  bool Pump() {
    if (dead_) return false;
    if (settings_seen_ && !goaway_) {
      const uint32_t peer_max =
          nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
      const uint32_t cap = std::min(opt_.inflight, peer_max);
      size_t index = 0;
      while (active_ < cap && !free_.empty() && work_.Take(&index)) Submit(index);
    }
    return Flush();
  }

  bool OnReadable() {
    uint8_t buf[65536];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        const ssize_t r = nghttp2_session_mem_recv(session_, buf, static_cast<size_t>(n));
        if (r < 0) return Fatal(std::string("nghttp2_session_mem_recv: ") + nghttp2_strerror(r));
        if (dead_) return false;
        continue;
      }
      if (n == 0) return Fatal("connection closed by the server");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      return Fatal(std::string("recv: ") + std::strerror(errno));
    }
  }

  // Writes pending frames until the socket would block or nghttp2 has nothing more.
  bool Flush() {
    if (dead_) return false;
    for (;;) {
      if (out_off_ == out_.size()) {
        out_.clear();
        out_off_ = 0;
        while (out_.size() < 256 * 1024) {
          const uint8_t* data = nullptr;
          const ssize_t n = nghttp2_session_mem_send(session_, &data);
          if (n < 0) return Fatal(std::string("nghttp2_session_mem_send: ") + nghttp2_strerror(n));
          if (n == 0) break;
          out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
        }
        if (out_.empty()) {
          if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
            return Fatal("the session ended (GOAWAY)");
          }
          return true;
        }
      }
      const ssize_t n = send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
      if (n >= 0) {
        out_off_ += static_cast<size_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      return Fatal(std::string("send: ") + std::strerror(errno));
    }
  }

 private:
  void Submit(size_t index) {
    Stream* s = free_.back();
    free_.pop_back();
    *s = Stream{};
    s->body = index;
    const nghttp2_nv nv[] = {Nv(":method", method_),
                             Nv(":scheme", scheme_),
                             Nv(":authority", authority_),
                             Nv(":path", path_),
                             Nv("content-type", content_type_),
                             Nv("te", te_)};
    nghttp2_data_provider provider{};
    provider.source.ptr = s;
    provider.read_callback = &Conn::ReadBody;
    ++work_.sent;
    const int32_t id =
        nghttp2_submit_request(session_, nullptr, nv, sizeof nv / sizeof nv[0], &provider, s);
    if (id < 0) {
      free_.push_back(s);
      work_.Fail(std::string("nghttp2_submit_request: ") + nghttp2_strerror(id));
      goaway_ = true;  // no more on this connection (e.g. stream ids exhausted)
      return;
    }
    ++active_;
    ++work_.inflight;
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* source, void* user) {
    auto* self = static_cast<Conn*>(user);
    auto* s = static_cast<Stream*>(source->ptr);
    const std::string& body = self->work_.bodies[s->body];
    const size_t n = std::min(length, body.size() - s->offset);
    std::memcpy(buf, body.data() + s->offset, n);
    s->offset += n;
    if (s->offset == body.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* s =
        static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (s == nullptr) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == "grpc-status") {
      s->grpc_status = 0;
      for (char c : v) s->grpc_status = c >= '0' && c <= '9' ? s->grpc_status * 10 + (c - '0') : -2;
    } else if (n == "grpc-message") {
      s->grpc_message.assign(v);
    } else if (n == ":status") {
      s->http_status.assign(v);
    }
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<Conn*>(user);
    if (frame->hd.type == NGHTTP2_SETTINGS && (frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
      self->settings_seen_ = true;
    } else if (frame->hd.type == NGHTTP2_GOAWAY) {
      self->goaway_ = true;
      std::fprintf(stderr, "put_flood: connection %d: GOAWAY (error %u, last stream %d)\n",
                   self->index_, frame->goaway.error_code, frame->goaway.last_stream_id);
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* user) {
    auto* self = static_cast<Conn*>(user);
    auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
    if (s == nullptr || self->dead_) return 0;
    Work& w = self->work_;
    --self->active_;
    --w.inflight;
    if (error_code == NGHTTP2_NO_ERROR && s->grpc_status == 0) {
      ++w.ok;
    } else {
      std::string what = "document " + std::to_string(s->body + 1) + ": ";
      if (error_code != NGHTTP2_NO_ERROR) {
        what += std::string("stream reset (") + nghttp2_http2_strerror(error_code) + ")";
      } else if (s->grpc_status == -1) {
        what += "no grpc-status (HTTP status " + s->http_status + ")";
      } else {
        what += "grpc-status " + std::to_string(s->grpc_status) + " " + s->grpc_message;
      }
      w.Fail(what);
    }
    w.last_ack_ms = UnixMs();
    w.last_ack_mono = MonoSeconds();
    self->free_.push_back(s);
    return 0;
  }

  bool Fatal(const std::string& what) {
    if (!dead_) {
      std::fprintf(stderr, "put_flood: connection %d: %s\n", index_, what.c_str());
      dead_ = true;
      // Streams still open on this connection will never be answered.
      for (uint32_t i = 0; i < active_; ++i)
        work_.Fail("connection " + std::to_string(index_) + ": " + what);
      work_.inflight -= active_;
      active_ = 0;
      Close();
    }
    return false;
  }

  void Close() {
    if (session_ != nullptr) {
      nghttp2_session_del(session_);
      session_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  const Options& opt_;
  Work& work_;
  const int index_;
  int fd_ = -1;
  nghttp2_session* session_ = nullptr;
  bool dead_ = false;
  bool settings_seen_ = false;
  bool goaway_ = false;
  uint32_t active_ = 0;
  std::vector<Stream> streams_;  // fixed size: stream user data points into it
  std::vector<Stream*> free_;
  std::string out_;
  size_t out_off_ = 0;
  std::string authority_, method_, scheme_, path_, content_type_, te_;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "put_flood: %s\nusage: bench_put_flood --addr HOST:PORT [--conns N] [--inflight M] "
               "[--timeout-s S] < docs   (lines: collection<TAB>doc_id<TAB>json)\n",
               why);
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string_view k = argv[i];
    if (i + 1 >= argc) Usage("missing value");
    const char* v = argv[++i];
    if (k == "--addr") {
      opt.addr = v;
    } else if (k == "--conns") {
      opt.conns = std::atoi(v);
    } else if (k == "--inflight") {
      opt.inflight = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (k == "--timeout-s") {
      opt.timeout_s = std::atof(v);
    } else {
      Usage("unknown option");
    }
  }
  if (opt.addr.empty()) Usage("--addr is required");
  if (opt.conns < 1 || opt.inflight < 1 || opt.timeout_s <= 0)
    Usage("bad --conns/--inflight/--timeout-s");
  const size_t colon = opt.addr.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == opt.addr.size()) {
    Usage("--addr must be HOST:PORT");
  }
  opt.host = opt.addr.substr(0, colon);
  opt.port = opt.addr.substr(colon + 1);
  if (opt.host.size() > 2 && opt.host.front() == '[' && opt.host.back() == ']') {
    opt.host = opt.host.substr(1, opt.host.size() - 2);
  }
  return opt;
}

bool ReadDocs(Work& work) {
  std::string in;
  char buf[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) in.append(buf, n);
  if (std::ferror(stdin)) {
    std::fprintf(stderr, "put_flood: reading stdin failed\n");
    return false;
  }
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < in.size()) {
    size_t end = in.find('\n', pos);
    if (end == std::string::npos) end = in.size();
    std::string_view line(in.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      work.barriers.push_back(work.bodies.size());
      continue;
    }
    const size_t t1 = line.find('\t');
    const size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos) {
      std::fprintf(stderr, "put_flood: stdin line %zu: expected collection<TAB>doc_id<TAB>json\n",
                   line_no);
      return false;
    }
    work.bodies.push_back(
        EncodeRequest(line.substr(0, t1), line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1)));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  const Options opt = ParseArgs(argc, argv);
  Work work;
  if (!ReadDocs(work)) return 1;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  if (const int rv = getaddrinfo(opt.host.c_str(), opt.port.c_str(), &hints, &ai); rv != 0) {
    std::fprintf(stderr, "put_flood: resolve %s: %s\n", opt.addr.c_str(), gai_strerror(rv));
    return 1;
  }
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < opt.conns; ++i) {
    conns.push_back(std::make_unique<Conn>(opt, work, i));
    if (!conns.back()->Open(ai)) {
      freeaddrinfo(ai);
      return 1;
    }
  }
  freeaddrinfo(ai);

  const double deadline = MonoSeconds() + opt.timeout_s;
  std::vector<pollfd> fds(conns.size());
  // One round of the loop: poll, read what arrived, then let every connection submit and write.
  auto step = [&](bool submit) {
    for (size_t i = 0; i < conns.size(); ++i) {
      fds[i].fd = conns[i]->alive() ? conns[i]->fd() : -1;
      fds[i].events = static_cast<short>(POLLIN | (conns[i]->want_pollout() ? POLLOUT : 0));
      fds[i].revents = 0;
    }
    const int remaining_ms = static_cast<int>(std::max(0.0, deadline - MonoSeconds()) * 1e3) + 1;
    const int n = poll(fds.data(), fds.size(), std::min(remaining_ms, 100));
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "put_flood: poll: %s\n", std::strerror(errno));
      return false;
    }
    for (size_t i = 0; i < conns.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) conns[i]->OnReadable();
    }
    for (auto& c : conns) {
      if (!c->alive()) continue;
      if (submit) {
        c->Pump();
      } else {
        c->Flush();
      }
    }
    return true;
  };
  auto any_alive = [&] {
    return std::any_of(conns.begin(), conns.end(), [](const auto& c) { return c->alive(); });
  };

  // Handshake: every connection has the server's SETTINGS (its concurrency limit) before the clock.
  while (!std::all_of(conns.begin(), conns.end(), [](const auto& c) { return c->ready(); })) {
    if (!any_alive() || MonoSeconds() > deadline) {
      std::fprintf(stderr, "put_flood: no HTTP/2 SETTINGS from %s\n", opt.addr.c_str());
      return 1;
    }
    if (!step(false)) return 1;
  }

  const double first_send_ms = UnixMs();
  const double t0 = MonoSeconds();
  work.last_ack_ms = first_send_ms;
  work.last_ack_mono = t0;
  for (auto& c : conns) c->Pump();
  bool timed_out = false;
  while (!work.Done() && any_alive()) {
    if (MonoSeconds() > deadline) {
      timed_out = true;
      break;
    }
    if (!step(true)) break;
  }
  if (timed_out) {
    std::fprintf(stderr, "put_flood: timed out after %.0f s with %llu in flight\n", opt.timeout_s,
                 static_cast<unsigned long long>(work.inflight));
  }
  if (!work.Done() && !timed_out) std::fprintf(stderr, "put_flood: every connection failed\n");
  // Sent but unanswered (timeout) count as failed; documents never sent are docs - sent.
  work.failed = work.sent - work.ok;
  if (!work.first_error.empty()) {
    std::fprintf(stderr, "put_flood: first failure: %s\n", work.first_error.c_str());
  }
  std::printf(
      "{\"docs\":%zu,\"sent\":%llu,\"ok\":%llu,\"failed\":%llu,\"seconds\":%.6f,"
      "\"first_send_unix_ms\":%.3f,\"last_ack_unix_ms\":%.3f}\n",
      work.bodies.size(), static_cast<unsigned long long>(work.sent),
      static_cast<unsigned long long>(work.ok), static_cast<unsigned long long>(work.failed),
      work.last_ack_mono - t0, first_send_ms, work.last_ack_ms);
  std::fflush(stdout);
  return work.ok == work.bodies.size() ? 0 : 1;
}
