// Put throughput, single-row transactions vs group commit. Disabled by default (timing, not
// correctness); run with:
//   store_test --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <semaphore>
#include <thread>

#include "store/sqlite_document_store.h"
#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::OpenOrDie;
using testing::TempDir;

// `clients` threads each keep `window` Puts in flight until `total` are acknowledged.
double PutsPerSecond(size_t max_group_ops, int clients, int window, int total) {
  TempDir dir;
  auto o = BaseOptions(dir.path());
  o.max_group_ops = max_group_ops;
  auto s = OpenOrDie(o);
  std::atomic<int> issued{0}, acked{0};
  const std::string body = R"({"name":"sensor","reading":{"t":21.5,"h":40},"tags":["a","b"]})";
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::counting_semaphore<> slots(window);  // blocks (no spinning) when `window` in flight
      for (;;) {
        const int i = issued.fetch_add(1);
        if (i >= total) break;
        slots.acquire();
        s->Put("bench", std::to_string(c) + ":" + std::to_string(i), body, [&](Status st) {
          EXPECT_TRUE(st.ok());
          acked.fetch_add(1);
          slots.release();
        });
      }
      for (int k = 0; k < window; ++k) slots.acquire();
    });
  }
  for (auto& t : threads) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto st = s->Stats();
  std::printf("max_group_ops=%zu clients=%d window=%d: %d puts in %.3f s = %.0f puts/s, %llu tx\n",
              max_group_ops, clients, window, acked.load(), secs, acked.load() / secs,
              static_cast<unsigned long long>(st.transactions));
  return acked.load() / secs;
}

TEST(StoreThroughputTest, DISABLED_SingleRowVersusGrouped) {
  const double single = PutsPerSecond(1, 4, 16, 20'000);
  const double grouped = PutsPerSecond(1024, 4, 16, 100'000);
  const double burst = PutsPerSecond(1024, 1, 4096, 100'000);
  const double one_client_sync = PutsPerSecond(1024, 1, 1, 10'000);
  std::printf(
      "grouped / single-row = %.1fx; burst (4096 in flight) = %.0f puts/s; one synchronous "
      "client = %.0f puts/s\n",
      grouped / single, burst, one_client_sync);
  EXPECT_GT(grouped, single);
}

}  // namespace
}  // namespace peat::store
