// CountingSocket: a TCP socket wrapper that counts the bytes its async reads and writes move, so
// a TLS stream layered on it (boost::asio::ssl::stream<CountingSocket>) can report real wire
// bytes (TLS records, handshake included) for GetSyncStats.
//
// It models Asio's AsyncReadStream / AsyncWriteStream (async_read_some / async_write_some with
// any completion token) and forwards the completion handler's associated executor and allocator.
// The counters live in the wrapper: the wrapper must outlive its pending operations, which holds
// when it is owned by the connection object those operations keep alive.
//
// Thread-safety: like the socket it wraps — use it from one executor (the mesh loop).
#pragma once

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace peat::mesh {

// Adds the bytes an operation transferred to `*counter`, then runs the wrapped handler.
template <typename Handler>
struct ByteCountingHandler {
  Handler handler;
  uint64_t* counter;

  void operator()(const boost::system::error_code& ec, std::size_t bytes) {
    *counter += bytes;
    std::move(handler)(ec, bytes);
  }
};

class CountingSocket {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using lowest_layer_type = socket_type::lowest_layer_type;

  explicit CountingSocket(socket_type socket) : socket_(std::move(socket)) {}
  CountingSocket(CountingSocket&&) = default;
  CountingSocket& operator=(CountingSocket&&) = delete;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return socket_.lowest_layer(); }
  socket_type& socket() { return socket_; }

  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t bytes_written() const { return bytes_written_; }

  template <typename MutableBufferSequence, typename ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          socket_.async_read_some(
              b, ByteCountingHandler<decltype(handler)>{std::move(handler), &bytes_read_});
        },
        token, buffers);
  }

  template <typename ConstBufferSequence, typename WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          socket_.async_write_some(
              b, ByteCountingHandler<decltype(handler)>{std::move(handler), &bytes_written_});
        },
        token, buffers);
  }

 private:
  socket_type socket_;
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
};

}  // namespace peat::mesh

namespace boost::asio {

template <typename Handler, typename Executor>
struct associated_executor<peat::mesh::ByteCountingHandler<Handler>, Executor> {
  using type = typename associated_executor<Handler, Executor>::type;
  static type get(const peat::mesh::ByteCountingHandler<Handler>& h,
                  const Executor& ex = Executor()) noexcept {
    return associated_executor<Handler, Executor>::get(h.handler, ex);
  }
};

template <typename Handler, typename Allocator>
struct associated_allocator<peat::mesh::ByteCountingHandler<Handler>, Allocator> {
  using type = typename associated_allocator<Handler, Allocator>::type;
  static type get(const peat::mesh::ByteCountingHandler<Handler>& h,
                  const Allocator& a = Allocator()) noexcept {
    return associated_allocator<Handler, Allocator>::get(h.handler, a);
  }
};

}  // namespace boost::asio
