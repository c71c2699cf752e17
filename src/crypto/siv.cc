#include "crypto/siv.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "crypto/openssl_error.h"

namespace peat {
namespace {

constexpr size_t kBlock = 16;
using Block = std::array<uint8_t, kBlock>;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// Fetched once; never freed.
const EVP_CIPHER* Aes256Ecb() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr);
  return cipher;
}

CtxPtr KeyedEcb(const uint8_t* key32) {
  const EVP_CIPHER* cipher = Aes256Ecb();
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || !ctx ||
      EVP_EncryptInit_ex2(ctx.get(), cipher, key32, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) {
    return nullptr;
  }
  return ctx;
}

// One AES-256 block encryption (ECB, no padding: the context keeps no state between calls).
bool Encrypt(EVP_CIPHER_CTX* ctx, const Block& in, Block& out) {
  int len = 0;
  return EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(kBlock)) == 1 &&
         len == static_cast<int>(kBlock);
}

// Doubling in GF(2^128) (RFC 5297 dbl, RFC 4493 subkey generation).
Block Dbl(const Block& x) {
  Block r;
  for (size_t i = 0; i + 1 < kBlock; ++i) {
    r[i] = static_cast<uint8_t>((x[i] << 1) | (x[i + 1] >> 7));
  }
  r[kBlock - 1] = static_cast<uint8_t>(x[kBlock - 1] << 1);
  if (x[0] & 0x80) r[kBlock - 1] ^= 0x87;
  return r;
}

void XorInto(Block& x, const uint8_t* y) {
  for (size_t i = 0; i < kBlock; ++i) x[i] ^= y[i];
}

const uint8_t* U8(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

}  // namespace

struct Aes256SivKey::State {
  // Block-cipher contexts for the two key halves, taken by one caller at a time.
  struct Contexts {
    CtxPtr mac;  // K1: S2V / CMAC
    CtxPtr ctr;  // K2: CTR
  };

  SecureBytes key;
  Block cmac_k1{};  // CMAC subkeys of the MAC half (RFC 4493)
  Block cmac_k2{};
  Block s2v_d0{};  // CMAC(K, 0^128): where S2V starts
  std::mutex mu;
  std::vector<std::unique_ptr<Contexts>> free;

  ~State() {
    OPENSSL_cleanse(cmac_k1.data(), kBlock);
    OPENSSL_cleanse(cmac_k2.data(), kBlock);
    OPENSSL_cleanse(s2v_d0.data(), kBlock);
  }

  std::unique_ptr<Contexts> Acquire() {
    {
      std::lock_guard lock(mu);
      if (!free.empty()) {
        auto c = std::move(free.back());
        free.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<Contexts>();
    c->mac = KeyedEcb(key.data());
    c->ctr = KeyedEcb(key.data() + 32);
    if (!c->mac || !c->ctr) return nullptr;
    return c;
  }
  void Release(std::unique_ptr<Contexts> c) {
    std::lock_guard lock(mu);
    free.push_back(std::move(c));
  }

  // AES-CMAC (RFC 4493) of `data` under the MAC half.
  bool Cmac(EVP_CIPHER_CTX* mac, const uint8_t* data, size_t n, Block& out) const {
    Block x{};
    const size_t before_last = n == 0 ? 0 : (n - 1) / kBlock;
    for (size_t i = 0; i < before_last; ++i) {
      XorInto(x, data + i * kBlock);
      if (!Encrypt(mac, x, x)) return false;
    }
    const size_t rest = n - before_last * kBlock;  // 1..16, or 0 for empty input
    Block last{};
    std::memcpy(last.data(), data + before_last * kBlock, rest);
    if (rest == kBlock) {
      XorInto(last, cmac_k1.data());
    } else {
      last[rest] = 0x80;
      XorInto(last, cmac_k2.data());
    }
    XorInto(x, last.data());
    const bool ok = Encrypt(mac, x, out);
    OPENSSL_cleanse(last.data(), kBlock);
    OPENSSL_cleanse(x.data(), kBlock);
    return ok;
  }

  // S2V (RFC 5297 2.4) over the associated-data components and the plaintext.
  bool S2v(EVP_CIPHER_CTX* mac, std::span<const std::string_view> ad, std::string_view plaintext,
           Block& v) const {
    Block d = s2v_d0;
    Block c;
    for (std::string_view a : ad) {
      if (!Cmac(mac, U8(a), a.size(), c)) return false;
      d = Dbl(d);
      XorInto(d, c.data());
    }
    bool ok;
    if (plaintext.size() >= kBlock) {      // T = plaintext xorend D
      constexpr size_t kStackBytes = 256;  // names: one or two blocks
      std::array<uint8_t, kStackBytes> stack;
      std::string heap;
      uint8_t* t = stack.data();
      if (plaintext.size() > kStackBytes) {
        heap.resize(plaintext.size());
        t = reinterpret_cast<uint8_t*>(heap.data());
      }
      std::memcpy(t, plaintext.data(), plaintext.size());
      uint8_t* tail = t + plaintext.size() - kBlock;
      for (size_t i = 0; i < kBlock; ++i) tail[i] ^= d[i];
      ok = Cmac(mac, t, plaintext.size(), v);
      OPENSSL_cleanse(t, plaintext.size());
    } else {  // T = dbl(D) xor pad(plaintext)
      Block t = Dbl(d);
      Block padded{};
      std::memcpy(padded.data(), plaintext.data(), plaintext.size());
      padded[plaintext.size()] = 0x80;
      XorInto(t, padded.data());
      ok = Cmac(mac, t.data(), kBlock, v);
      OPENSSL_cleanse(padded.data(), kBlock);
      OPENSSL_cleanse(t.data(), kBlock);
    }
    OPENSSL_cleanse(d.data(), kBlock);
    return ok;
  }

  // CTR under the CTR half from Q = V with bits 63 and 31 of each 64-bit half cleared.
  static bool Ctr(EVP_CIPHER_CTX* ctr, const Block& v, const uint8_t* in, size_t n, uint8_t* out) {
    Block q = v;
    q[8] &= 0x7f;
    q[12] &= 0x7f;
    Block ks;
    bool ok = true;
    for (size_t off = 0; off < n && ok; off += kBlock) {
      ok = Encrypt(ctr, q, ks);
      const size_t m = std::min(kBlock, n - off);
      for (size_t i = 0; i < m; ++i) out[off + i] = in[off + i] ^ ks[i];
      for (size_t i = kBlock; i-- > 0;) {  // 128-bit big-endian increment
        if (++q[i] != 0) break;
      }
    }
    OPENSSL_cleanse(ks.data(), kBlock);
    return ok;
  }
};

Aes256SivKey::Aes256SivKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
Aes256SivKey::Aes256SivKey(Aes256SivKey&&) noexcept = default;
Aes256SivKey& Aes256SivKey::operator=(Aes256SivKey&&) noexcept = default;
Aes256SivKey::~Aes256SivKey() = default;

StatusOr<Aes256SivKey> Aes256SivKey::Create(SecureBytes key) {
  if (key.size() != kKeyBytes) {
    return InvalidArgumentError("AES-256-SIV key must be 64 bytes, got " +
                                std::to_string(key.size()));
  }
  auto state = std::make_unique<State>();
  state->key = std::move(key);
  auto contexts = state->Acquire();
  if (!contexts) return crypto_internal::OpenSslError("AES-256 key setup failed");
  Block l;
  const Block zero{};
  if (!Encrypt(contexts->mac.get(), zero, l)) {
    return crypto_internal::OpenSslError("AES-256 encryption failed");
  }
  state->cmac_k1 = Dbl(l);
  state->cmac_k2 = Dbl(state->cmac_k1);
  OPENSSL_cleanse(l.data(), kBlock);
  if (!state->Cmac(contexts->mac.get(), zero.data(), kBlock, state->s2v_d0)) {
    return crypto_internal::OpenSslError("AES-256 encryption failed");
  }
  state->Release(std::move(contexts));
  return Aes256SivKey(std::move(state));
}

StatusOr<std::string> Aes256SivKey::Seal(std::span<const std::string_view> ad,
                                         std::string_view plaintext) const {
  if (plaintext.empty()) return InvalidArgumentError("AES-256-SIV plaintext must not be empty");
  auto contexts = state_->Acquire();
  if (!contexts) return crypto_internal::OpenSslError("AES-256 key setup failed");
  std::string out(kTagBytes + plaintext.size(), '\0');
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  Block v;
  const bool ok =
      state_->S2v(contexts->mac.get(), ad, plaintext, v) &&
      State::Ctr(contexts->ctr.get(), v, U8(plaintext), plaintext.size(), o + kTagBytes);
  state_->Release(std::move(contexts));
  if (!ok) return crypto_internal::OpenSslError("AES-256-SIV encrypt failed");
  std::memcpy(o, v.data(), kTagBytes);
  return out;
}

StatusOr<std::string> Aes256SivKey::Open(std::span<const std::string_view> ad,
                                         std::string_view sealed) const {
  if (sealed.size() <= kTagBytes) {
    return FailedPreconditionError("cannot decrypt: ciphertext too short");
  }
  auto contexts = state_->Acquire();
  if (!contexts) return crypto_internal::OpenSslError("AES-256 key setup failed");
  Block v;
  std::memcpy(v.data(), sealed.data(), kTagBytes);
  std::string out(sealed.size() - kTagBytes, '\0');
  Block check;
  const bool ok = State::Ctr(contexts->ctr.get(), v, U8(sealed) + kTagBytes, out.size(),
                             reinterpret_cast<uint8_t*>(out.data())) &&
                  state_->S2v(contexts->mac.get(), ad, out, check);
  state_->Release(std::move(contexts));
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return crypto_internal::OpenSslError("AES-256-SIV decrypt failed");
  }
  if (CRYPTO_memcmp(check.data(), v.data(), kTagBytes) != 0) {
    OPENSSL_cleanse(out.data(), out.size());  // no unauthenticated plaintext left behind
    return FailedPreconditionError("cannot decrypt: authentication failed (wrong key or data)");
  }
  return out;
}

}  // namespace peat
