// bench_nats_pubsub: a small publisher + subscriber on libnats (nats-bench is not packaged in
// Debian) for the NATS bridge benchmark (bench/nats/run.mjs, docs/BENCHMARKS.md "B15").
//
//   bench_nats_pubsub --pub nats://127.0.0.1:A --sub nats://127.0.0.1:B --subject s
//                     --count 100000 --size 1024 --window 200
//
// Publishes `count` JSON messages of exactly `size` bytes on `subject` at --pub and counts them
// on --sub (the same URL: nats-server alone; two sites: end to end through the bridge). At most
// `window` messages are in flight (published, not yet received), so nothing is dropped for
// speed: the rate is what the path sustains. Prints one JSON line: received, seconds,
// msgs_per_sec. Exits 1 when not every message arrived within --timeout-secs.
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace {

struct Counter {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t received = 0;
};

void OnMsg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* c = static_cast<Counter*>(closure);
  {
    std::lock_guard lock(c->mu);
    ++c->received;
  }
  c->cv.notify_all();
  natsMsg_Destroy(msg);
}

std::string Arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return def;
}

natsConnection* Connect(const std::string& url) {
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_ConnectTo(&nc, url.c_str());
  if (s != NATS_OK) {
    std::fprintf(stderr, "connect %s: %s\n", url.c_str(), natsStatus_GetText(s));
    std::exit(2);
  }
  return nc;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string pub_url = Arg(argc, argv, "--pub", "nats://127.0.0.1:4222");
  const std::string sub_url = Arg(argc, argv, "--sub", pub_url.c_str());
  const std::string subject = Arg(argc, argv, "--subject", "bench.nats");
  const uint64_t count = std::strtoull(Arg(argc, argv, "--count", "10000").c_str(), nullptr, 10);
  const size_t size = std::strtoull(Arg(argc, argv, "--size", "1024").c_str(), nullptr, 10);
  const uint64_t window = std::strtoull(Arg(argc, argv, "--window", "200").c_str(), nullptr, 10);
  const int timeout_secs = std::atoi(Arg(argc, argv, "--timeout-secs", "300").c_str());
  if (count == 0 || size < 32 || window == 0) {
    std::fprintf(stderr, "usage: --count N (>0) --size BYTES (>=32) --window N (>0)\n");
    return 2;
  }

  Counter counter;
  natsConnection* sub_nc = Connect(sub_url);
  natsSubscription* sub = nullptr;
  if (natsConnection_Subscribe(&sub, sub_nc, subject.c_str(), OnMsg, &counter) != NATS_OK) return 2;
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_Flush(sub_nc);
  natsConnection* pub_nc = pub_url == sub_url ? sub_nc : Connect(pub_url);

  // {"i":<seq>,"p":"xxxx…"} padded to exactly `size` bytes.
  std::string msg;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_secs);
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    {
      std::unique_lock lock(counter.mu);
      if (!counter.cv.wait_until(lock, deadline, [&] { return i - counter.received < window; })) {
        break;
      }
    }
    msg = "{\"i\":" + std::to_string(i) + ",\"p\":\"";
    msg.append(size - msg.size() - 2, 'x');
    msg += "\"}";
    if (natsConnection_Publish(pub_nc, subject.c_str(), msg.data(), static_cast<int>(msg.size())) !=
        NATS_OK) {
      std::fprintf(stderr, "publish failed\n");
      return 2;
    }
  }
  natsConnection_Flush(pub_nc);
  uint64_t received = 0;
  {
    std::unique_lock lock(counter.mu);
    counter.cv.wait_until(lock, deadline, [&] { return counter.received >= count; });
    received = counter.received;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "{\"received\":%llu,\"count\":%llu,\"size\":%zu,\"seconds\":%.3f,\"msgs_per_sec\":%.0f}\n",
      static_cast<unsigned long long>(received), static_cast<unsigned long long>(count), size, secs,
      received / secs);
  natsSubscription_Destroy(sub);
  if (pub_nc != sub_nc) natsConnection_Destroy(pub_nc);
  natsConnection_Destroy(sub_nc);
  nats_Close();
  return received == count ? 0 : 1;
}
