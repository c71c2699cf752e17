#include "crdt/json_syntax_error.h"

#include <cmath>
#include <cstdlib>
#include <vector>

#include "common/hex.h"
#include "common/utf8.h"

namespace peat::crdt {
namespace {

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

class Scanner {
 public:
  Scanner(std::string_view s, int max_depth) : s_(s), max_depth_(max_depth) {}

  std::optional<JsonSyntaxError> Run() {
    enum class State { kValue, kKey, kAfterValue };
    State state = State::kValue;
    SkipWs();
    while (true) {
      switch (state) {
        case State::kValue: {
          if (AtEnd()) return Syntax("unexpected end of input, expected a value");
          const char c = s_[pos_];
          if (c == '{' || c == '[') {
            stack_.push_back(c);
            if (static_cast<int>(stack_.size()) > max_depth_) {
              return JsonSyntaxError{JsonSyntaxError::Kind::kDepth, pos_,
                                     "nesting depth exceeds " + std::to_string(max_depth_)};
            }
            ++pos_;
            SkipWs();
            const char close = c == '{' ? '}' : ']';
            if (!AtEnd() && s_[pos_] == close) {
              stack_.pop_back();
              ++pos_;
              state = State::kAfterValue;
            } else {
              state = c == '{' ? State::kKey : State::kValue;
            }
            continue;
          }
          std::optional<JsonSyntaxError> err;
          if (c == '"') {
            err = String();
          } else if (c == '-' || IsDigit(c)) {
            err = Number();
          } else if (c == 't' || c == 'f' || c == 'n') {
            err = Literal();
          } else if (static_cast<unsigned char>(c) >= 0x80 && Utf8SequenceLength(s_, pos_) == 0) {
            return Utf8Error();
          } else {
            return Syntax("unexpected character " + Describe(c) + ", expected a value");
          }
          if (err) return err;
          state = State::kAfterValue;
          continue;
        }
        case State::kKey: {
          if (AtEnd()) return Syntax("unexpected end of input, expected an object key");
          if (s_[pos_] != '"') {
            return Syntax("expected a string object key, got " + Describe(s_[pos_]));
          }
          if (auto err = String()) return err;
          SkipWs();
          if (AtEnd() || s_[pos_] != ':') return Syntax("expected ':' after object key");
          ++pos_;
          SkipWs();
          state = State::kValue;
          continue;
        }
        case State::kAfterValue: {
          SkipWs();
          if (stack_.empty()) {
            if (!AtEnd()) return Syntax("unexpected data after the top-level value");
            return std::nullopt;
          }
          const char open = stack_.back();
          const char close = open == '{' ? '}' : ']';
          if (AtEnd()) {
            return Syntax(std::string("unexpected end of input, expected ',' or '") + close + "'");
          }
          const char c = s_[pos_];
          if (c == close) {
            stack_.pop_back();
            ++pos_;
            continue;  // still kAfterValue
          }
          if (c != ',') {
            return Syntax(std::string("expected ',' or '") + close + "', got " + Describe(c));
          }
          ++pos_;
          SkipWs();
          state = open == '{' ? State::kKey : State::kValue;
          continue;
        }
      }
    }
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  void SkipWs() {
    while (!AtEnd() && IsWs(s_[pos_])) ++pos_;
  }
  JsonSyntaxError Syntax(std::string what) const {
    return JsonSyntaxError{JsonSyntaxError::Kind::kSyntax, pos_, std::move(what)};
  }
  JsonSyntaxError Utf8Error() const {
    return JsonSyntaxError{JsonSyntaxError::Kind::kUtf8, pos_, "invalid UTF-8"};
  }
  static std::string Describe(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) return std::string("'") + c + "'";
    return "byte 0x" + HexEncode({&u, 1});
  }

  // At '"'. Leaves pos_ after the closing quote.
  std::optional<JsonSyntaxError> String() {
    const size_t start = pos_;
    ++pos_;
    while (true) {
      if (AtEnd()) {
        pos_ = start;
        return Syntax("unterminated string");
      }
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return std::nullopt;
      }
      if (c < 0x20) return Syntax("control character in string (must be escaped)");
      if (c >= 0x80) {
        const size_t n = Utf8SequenceLength(s_, pos_);
        if (n == 0) return Utf8Error();
        pos_ += n;
        continue;
      }
      if (c != '\\') {
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= s_.size()) return Syntax("unterminated string");
      const char e = s_[pos_ + 1];
      if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
          e == 't') {
        pos_ += 2;
        continue;
      }
      if (e != 'u') return Syntax("invalid escape sequence in string");
      int unit = Hex4(pos_ + 2);
      if (unit < 0) return Syntax("invalid \\u escape in string (needs 4 hex digits)");
      if (unit >= 0xDC00 && unit <= 0xDFFF) {
        return Syntax("invalid \\u escape in string (lone low surrogate)");
      }
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        const size_t next = pos_ + 6;
        const int low =
            (next + 1 < s_.size() && s_[next] == '\\' && s_[next + 1] == 'u') ? Hex4(next + 2) : -1;
        if (low < 0xDC00 || low > 0xDFFF) {
          return Syntax("invalid \\u escape in string (high surrogate without low surrogate)");
        }
        pos_ += 12;
        continue;
      }
      pos_ += 6;
    }
  }

  int Hex4(size_t at) const {
    if (at + 4 > s_.size()) return -1;
    int v = 0;
    for (size_t i = 0; i < 4; ++i) {
      const int h = HexDigitValue(s_[at + i]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    return v;
  }

  std::optional<JsonSyntaxError> Number() {
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (AtEnd() || !IsDigit(s_[pos_])) return Syntax("invalid number: expected a digit");
    if (s_[pos_] == '0') {
      ++pos_;
      if (!AtEnd() && IsDigit(s_[pos_])) return Syntax("invalid number: leading zero");
    } else {
      while (!AtEnd() && IsDigit(s_[pos_])) ++pos_;
    }
    bool fractional = false;
    if (!AtEnd() && s_[pos_] == '.') {
      fractional = true;
      ++pos_;
      if (AtEnd() || !IsDigit(s_[pos_]))
        return Syntax("invalid number: expected a digit after '.'");
      while (!AtEnd() && IsDigit(s_[pos_])) ++pos_;
    }
    if (!AtEnd() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      fractional = true;
      ++pos_;
      if (!AtEnd() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (AtEnd() || !IsDigit(s_[pos_])) {
        return Syntax("invalid number: expected a digit in the exponent");
      }
      while (!AtEnd() && IsDigit(s_[pos_])) ++pos_;
    }
    if (fractional || pos_ - start > 19) {
      const std::string token(s_.substr(start, pos_ - start));
      const double v = std::strtod(token.c_str(), nullptr);
      if (std::isinf(v)) {
        pos_ = start;
        return Syntax("number out of range");
      }
    }
    return std::nullopt;
  }

  std::optional<JsonSyntaxError> Literal() {
    for (std::string_view lit : {"true", "false", "null"}) {
      if (s_.substr(pos_, lit.size()) == lit) {
        pos_ += lit.size();
        return std::nullopt;
      }
    }
    return Syntax("invalid literal (expected true, false or null)");
  }

  std::string_view s_;
  int max_depth_;
  size_t pos_ = 0;
  std::vector<char> stack_;
};

}  // namespace

std::optional<JsonSyntaxError> FindJsonSyntaxError(std::string_view json, int max_depth) {
  return Scanner(json, max_depth).Run();
}

}  // namespace peat::crdt
