#include "bridge/nats_config.h"

#include <cctype>
#include <set>

namespace peat::bridge {
namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool IsCollectionChar(char c, bool first) {
  const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return first ? alnum : alnum || c == '.' || c == '_' || c == '-';
}

void ReplaceAll(std::string& text, const std::string& what) {
  if (what.empty()) return;
  for (size_t p = 0; (p = text.find(what, p)) != std::string::npos; p += 3) {
    text.replace(p, what.size(), "***");
  }
}

}  // namespace

std::string NatsUrl::ToClientUrl() const {
  std::string out = tls ? "tls://" : "nats://";
  if (has_credentials) out += user + (password.empty() ? "" : ":" + password) + "@";
  return out + host + ":" + std::to_string(port);
}

std::string NatsUrl::Redacted() const {
  return std::string(tls ? "tls://" : "nats://") + (has_credentials ? "***@" : "") + host + ":" +
         std::to_string(port);
}

std::string NatsUrl::Scrub(std::string text) const {
  // The longer secret first, so a user that is a prefix of the password cannot expose the rest.
  if (password.size() >= user.size()) {
    ReplaceAll(text, password);
    ReplaceAll(text, user);
  } else {
    ReplaceAll(text, user);
    ReplaceAll(text, password);
  }
  return text;
}

StatusOr<NatsUrl> ParseNatsUrl(std::string_view text) {
  NatsUrl url;
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return InvalidArgumentError("expected nats://HOST[:PORT] or tls://HOST[:PORT]");
  }
  const std::string scheme = LowerAscii(text.substr(0, sep));
  if (scheme == "tls") {
    url.tls = true;
  } else if (scheme != "nats") {
    return InvalidArgumentError("the scheme must be nats:// or tls://");
  }
  std::string_view rest = text.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return InvalidArgumentError("a NATS URL has no path, query or fragment");
  }
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    url.user = std::string(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) url.password = std::string(userinfo.substr(colon + 1));
    if (url.user.empty()) return InvalidArgumentError("the user before '@' is empty");
    url.has_credentials = true;
    rest = rest.substr(at + 1);
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || close == 1) {
      return InvalidArgumentError("an IPv6 host is written [ADDRESS]");
    }
    for (char c : rest.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return InvalidArgumentError("the IPv6 host has an invalid character");
      }
    }
    url.host = std::string(rest.substr(0, close + 1));
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return InvalidArgumentError("expected ':PORT' after the host");
      port_text = rest.substr(1);
      if (port_text.empty()) return InvalidArgumentError("the port after ':' is empty");
    }
  } else {
    const size_t colon = rest.find(':');
    url.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return InvalidArgumentError("the port after ':' is empty");
    }
    if (url.host.empty()) return InvalidArgumentError("the host is empty");
    for (char c : url.host) {
      if (!IsHostChar(c)) return InvalidArgumentError("the host has an invalid character");
    }
  }
  if (!port_text.empty()) {
    uint32_t port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        return InvalidArgumentError("the port must be a number in 1..65535");
      }
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) {
      return InvalidArgumentError("the port must be a number in 1..65535");
    }
    url.port = static_cast<uint16_t>(port);
  }
  return url;
}

std::string RedactNatsUrl(std::string_view text) {
  auto url = ParseNatsUrl(text);
  return url.ok() ? url->Redacted() : std::string("<invalid>");
}

StatusOr<NatsMapping> ParseNatsMapping(std::string_view text) {
  const size_t eq = text.rfind('=');
  if (eq == std::string_view::npos) {
    return InvalidArgumentError("expected SUBJECT=COLLECTION, got '" + std::string(text) + "'");
  }
  NatsMapping m{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
  const std::string quoted = "'" + m.subject + "'";
  if (m.subject.empty()) return InvalidArgumentError("the subject before '=' is empty");
  size_t token_start = 0;
  for (size_t i = 0; i <= m.subject.size(); ++i) {
    if (i == m.subject.size() || m.subject[i] == '.') {
      if (i == token_start) {
        return InvalidArgumentError("subject " + quoted + " has an empty token");
      }
      if (token_start == 0 && m.subject.substr(0, i) == kReservedSubjectToken) {
        return InvalidArgumentError("subject " + quoted + " is reserved (_PEAT.* is the bridge's)");
      }
      token_start = i + 1;
      continue;
    }
    const char c = m.subject[i];
    if (c == '*' || c == '>') {
      return InvalidArgumentError("subject " + quoted +
                                  " has a wildcard; only literal subjects are bridged");
    }
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return InvalidArgumentError("subject " + quoted + " has whitespace or a control character");
    }
  }
  const std::string qc = "'" + m.collection + "'";
  if (m.collection.empty()) return InvalidArgumentError("the collection after '=' is empty");
  if (m.collection.size() > 1024) {
    return InvalidArgumentError("the collection is longer than 1024 bytes");
  }
  for (size_t i = 0; i < m.collection.size(); ++i) {
    if (!IsCollectionChar(m.collection[i], i == 0)) {
      return InvalidArgumentError("collection " + qc + " must match [A-Za-z0-9][A-Za-z0-9._-]*");
    }
  }
  if (m.collection == "file_distributions") {
    return InvalidArgumentError("collection 'file_distributions' is reserved for attachments");
  }
  return m;
}

StatusOr<std::vector<NatsMapping>> ParseNatsMappings(const std::vector<std::string>& items) {
  std::vector<NatsMapping> out;
  std::set<std::string> subjects, collections;
  for (const auto& item : items) {
    PEAT_ASSIGN_OR_RETURN(NatsMapping m, ParseNatsMapping(item));
    if (!subjects.insert(m.subject).second) {
      return InvalidArgumentError("subject '" + m.subject + "' is mapped twice");
    }
    if (!collections.insert(m.collection).second) {
      return InvalidArgumentError("collection '" + m.collection + "' is mapped twice");
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace peat::bridge
