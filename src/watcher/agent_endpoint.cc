#include "watcher/agent_endpoint.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace peat::watcher {
namespace {

Status AddrError(std::string_view addr, std::string_view why) {
  return InvalidArgumentError("must be http://host[:port] or https://host[:port]; \"" +
                              std::string(addr) + "\" " + std::string(why));
}

bool ValidHostChar(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '-' || ch == '.' || ch == '_';
}

StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgumentError(flag + ": cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InvalidArgumentError(flag + ": cannot read " + path);
  return ss.str();
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> MemBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The certificates of a PEM bundle (≥ 1), or an error naming the flag.
StatusOr<std::unique_ptr<X509, X509Free>> FirstCert(const std::string& flag,
                                                    const std::string& path,
                                                    const std::string& pem) {
  auto bio = MemBio(pem);
  std::unique_ptr<X509, X509Free> first;
  int n = 0;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (n++ == 0) {
      first.reset(x);
    } else {
      X509_free(x);
    }
  }
  ERR_clear_error();
  if (n == 0) return InvalidArgumentError(flag + ": " + path + ": no PEM certificate");
  return first;
}

}  // namespace

StatusOr<AgentEndpoint> ParseAgentAddr(std::string_view addr) {
  AgentEndpoint ep;
  std::string_view rest;
  if (addr.rfind("http://", 0) == 0) {
    rest = addr.substr(7);
  } else if (addr.rfind("https://", 0) == 0) {
    ep.tls = true;
    rest = addr.substr(8);
  } else {
    return AddrError(addr, "has no http:// or https:// scheme");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return AddrError(addr, "has an unclosed '['");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return AddrError(addr, "has text after the host");
      port = after.substr(1);
      if (port.empty()) return AddrError(addr, "has an empty port");
    }
    if (host.empty()) return AddrError(addr, "has an empty host");
    for (char ch : host) {
      if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
            ch == ':' || ch == '.')) {
        return AddrError(addr, "has an invalid IPv6 address");
      }
    }
  } else {
    const size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return AddrError(addr, "has an empty port");
    }
    if (host.empty()) return AddrError(addr, "has an empty host");
    for (char ch : host) {
      if (!ValidHostChar(ch)) {
        return AddrError(addr, "has a path, query, user info or invalid host character");
      }
    }
  }
  ep.port = ep.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      return AddrError(addr, "has an invalid port (1..65535, nothing after it)");
    }
    ep.port = static_cast<uint16_t>(value);
  }
  ep.host = std::string(host);
  ep.addr = std::string(addr);
  if (ep.addr.back() == '/') ep.addr.pop_back();
  return ep;
}

StatusOr<AgentTlsMaterial> LoadAgentTlsMaterial(const AgentTlsFiles& files) {
  AgentTlsMaterial m;
  std::unique_ptr<X509, X509Free> leaf;
  if (!files.cert.empty()) {
    PEAT_ASSIGN_OR_RETURN(m.cert_pem, ReadFile("--agent-tls-cert", files.cert));
    PEAT_ASSIGN_OR_RETURN(leaf, FirstCert("--agent-tls-cert", files.cert, m.cert_pem));
  }
  if (!files.key.empty()) {
    PEAT_ASSIGN_OR_RETURN(m.key_pem, ReadFile("--agent-tls-key", files.key));
    auto bio = MemBio(m.key_pem);
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    if (!key) {
      return InvalidArgumentError("--agent-tls-key: " + files.key +
                                  ": no PEM private key (or an encrypted one)");
    }
    if (leaf && X509_check_private_key(leaf.get(), key.get()) != 1) {
      ERR_clear_error();
      return InvalidArgumentError("--agent-tls-key: " + files.key +
                                  ": does not match the certificate of --agent-tls-cert");
    }
  }
  if (!files.ca.empty()) {
    PEAT_ASSIGN_OR_RETURN(m.ca_pem, ReadFile("--agent-tls-ca", files.ca));
    PEAT_RETURN_IF_ERROR(FirstCert("--agent-tls-ca", files.ca, m.ca_pem).status());
  }
  return m;
}

}  // namespace peat::watcher
