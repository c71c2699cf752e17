#include "rpc/http_exchange.h"

namespace peat::rpc {

std::optional<std::string_view> HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

void TransportExchange::ReadBody(BodyReader reader) {
  if (!body_streamed_) {
    reader(request_.body, true);
    return;
  }
  // The peer left (or the response ended) before the call read its body: nothing will come, and a
  // reader kept here would keep its call, and so this exchange, alive.
  if (!Writable()) return;
  body_reader_ = std::move(reader);
  if (body_pending_.empty() && !body_end_seen_) return;
  std::string pending = std::move(body_pending_);
  body_pending_.clear();
  DeliverBody(pending, body_end_seen_);
}

void TransportExchange::DeliverBody(std::string_view piece, bool end) {
  if (!Writable() || body_end_delivered_) return;
  if (!body_reader_) {
    body_pending_.append(piece);
    body_end_seen_ = body_end_seen_ || end;
    return;
  }
  // Moved out while it runs: the reader may end the response (MarkEnded releases the reader).
  BodyReader reader = std::move(body_reader_);
  body_reader_ = nullptr;
  if (end) body_end_delivered_ = true;
  reader(piece, end);
  if (!end && Writable()) body_reader_ = std::move(reader);
}

}  // namespace peat::rpc
