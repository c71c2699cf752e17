#include "crypto/sha256.h"

#include <gtest/gtest.h>

#include <string>

#include "common/hex.h"

namespace peat {
namespace {

std::string Hex(const Sha256Digest& d) { return HexEncode(d); }

TEST(Sha256Test, FipsVectors) {
  EXPECT_EQ(Hex(*Sha256Of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(*Sha256Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(*Sha256Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalEqualsOneShotAndResetsAfterFinish) {
  const std::string text(100000, 'a');
  Sha256 h;
  for (size_t i = 0; i < text.size(); i += 7) h.Update(std::string_view(text).substr(i, 7));
  EXPECT_EQ(*h.Finish(), *Sha256Of(text));
  h.Update("abc");
  EXPECT_EQ(*h.Finish(), *Sha256Of("abc"));
}

}  // namespace
}  // namespace peat
