#include "rpc/server_call.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "rpc/rpc_metrics.h"
#include "rpc/stream_registry.h"

namespace peat::rpc {

namespace {
double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

ServerCall::ServerCall(std::shared_ptr<HttpExchange> exchange, std::unique_ptr<CallEncoder> encoder,
                       MethodMetrics* metrics, std::chrono::steady_clock::time_point deadline)
    : exchange_(std::move(exchange)),
      encoder_(std::move(encoder)),
      metrics_(metrics),
      start_(std::chrono::steady_clock::now()),
      deadline_(deadline) {}

ServerCall::~ServerCall() {
  if (finished_on_executor_) return;
  // The handler dropped the call without answering: answer for it rather than leave the client
  // hanging until its deadline. Runs on the exchange's executor since `this` is going away.
  if (stream_registry_) stream_registry_->Remove(this);
  if (metrics_) metrics_->Record(StatusCode::kInternal, SecondsSince(start_));
  auto exchange = exchange_;
  boost::asio::post(exchange->executor(),
                    [exchange, encoder = std::shared_ptr<CallEncoder>(std::move(encoder_))] {
                      if (!exchange->IsCancelled()) {
                        encoder->Finish(InternalError("handler returned without a response"));
                      }
                    });
}

void ServerCall::Reply(std::unique_ptr<google::protobuf::Message> response) {
  boost::asio::dispatch(exchange_->executor(),
                        [self = shared_from_this(), response = std::move(response)] {
                          if (self->finished_on_executor_) return;
                          self->encoder_->SendMessage(*response);
                          self->FinishOnExecutor(Status::Ok());
                        });
}

void ServerCall::Write(std::unique_ptr<google::protobuf::Message> message) {
  boost::asio::dispatch(exchange_->executor(),
                        [self = shared_from_this(), message = std::move(message)] {
                          if (self->finished_on_executor_ || self->exchange_->IsCancelled()) return;
                          self->encoder_->SendMessage(*message);
                        });
}

void ServerCall::Finish(Status status) {
  boost::asio::dispatch(
      exchange_->executor(),
      [self = shared_from_this(), status = std::move(status)] { self->FinishOnExecutor(status); });
}

void ServerCall::SetCancelHook(std::function<void()> hook) {
  // Already over (e.g. a stream that started while the server drains): tell the handler now.
  if (finished_on_executor_) {
    hook();
    return;
  }
  cancel_hook_ = std::move(hook);
}

void ServerCall::SendHeaders() {
  if (finished_on_executor_ || exchange_->IsCancelled()) return;
  encoder_->SendHeaders();
}

void ServerCall::ArmDeadline() {
  if (finished_on_executor_ || deadline_ == std::chrono::steady_clock::time_point::max()) return;
  timer_ = std::make_unique<boost::asio::steady_timer>(exchange_->executor(), deadline_);
  timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->Terminate(DeadlineExceededError("deadline exceeded"));
  });
}

void ServerCall::Terminate(Status status) {
  if (finished_on_executor_) return;
  RunCancelHook();
  FinishOnExecutor(status);
}

void ServerCall::OnPeerGone() {
  if (finished_on_executor_) return;
  finished_on_executor_ = true;
  done_.store(true, std::memory_order_release);
  if (timer_) timer_->cancel();
  RunCancelHook();
  if (metrics_) metrics_->Record(StatusCode::kCancelled, SecondsSince(start_));
  if (stream_registry_) stream_registry_->Remove(this);
}

void ServerCall::RegisterStream(StreamRegistry* registry) {
  stream_registry_ = registry;
  registry->Add(shared_from_this());
}

void ServerCall::FinishOnExecutor(const Status& status) {
  if (finished_on_executor_) return;
  finished_on_executor_ = true;
  done_.store(true, std::memory_order_release);
  if (timer_) timer_->cancel();
  if (!exchange_->IsCancelled()) encoder_->Finish(status);
  if (metrics_) metrics_->Record(status.code(), SecondsSince(start_));
  if (stream_registry_) stream_registry_->Remove(this);
}

void ServerCall::RunCancelHook() {
  if (!cancel_hook_) return;
  auto hook = std::move(cancel_hook_);
  cancel_hook_ = nullptr;
  hook();
}

}  // namespace peat::rpc
