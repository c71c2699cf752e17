// IoContextPool: N io_contexts, each run by one thread. Connections are spread round-robin and
// live on a single thread for their whole life, so connection state needs no locks.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace peat::rpc {

class IoContextPool {
 public:
  explicit IoContextPool(size_t threads);
  ~IoContextPool();
  void Start();
  // Stops every io_context and joins the threads. Idempotent.
  void Stop();
  boost::asio::io_context& Next();
  boost::asio::io_context& First() { return *contexts_.front(); }

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace peat::rpc
