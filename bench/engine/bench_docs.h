// The B2 documents (bench/engine): deterministic ~300-byte JSON documents of typical fields, four
// shapes (sensor, UAV track, deployment, order). Every one has a top-level integer "seq" (the
// field updates change) and a string "status" (the second writer's field in merges). Shared by
// bench_engine (the CRDT engine) and bench_store (the store's Put/Get/merge paths with and
// without --encryption-key), so both measure the same documents.
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <random>
#include <string>

namespace peat::bench {

inline std::string MakeDoc(std::mt19937_64& rng, size_t i, uint64_t seq) {
  auto pick = [&](std::initializer_list<const char*> xs) {
    return std::string(*(xs.begin() + static_cast<ptrdiff_t>(rng() % xs.size())));
  };
  auto num = [&](int lo, int hi) {
    return std::to_string(lo + static_cast<int>(rng() % (hi - lo + 1)));
  };
  auto coord = [&](double base) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6f", base + static_cast<double>(rng() % 1000000) / 1e6);
    return std::string(buf);
  };
  const std::string id = std::to_string(1000 + i);
  switch (i % 4) {
    case 0:
      return R"({"id":"sensor-)" + id + R"(","type":")" +
             pick({"temperature", "humidity", "pressure"}) + R"(","status":")" +
             pick({"ok", "degraded"}) + R"(","seq":)" + std::to_string(seq) +
             R"(,"location":{"lat":)" + coord(37) + R"(,"lon":)" + coord(-122) +
             R"(,"site":"warehouse-)" + num(1, 9) + R"(","floor":)" + num(0, 5) +
             R"(},"reading":{"value":)" + num(10, 30) + ".5" +
             R"(,"unit":"celsius","quality":"good"},"battery":)" + num(5, 100) +
             R"(,"online":true,"tags":["roof","north"],"updated_at":"2026-11-28T21:30:)" +
             num(10, 59) + R"(Z","firmware":"v2.4.)" + num(0, 9) + R"("})";
    case 1:
      return R"({"callsign":"RAVEN-)" + id + R"(","platform":"uav","status":")" +
             pick({"on-station", "transit", "rtb"}) + R"(","seq":)" + std::to_string(seq) +
             R"(,"position":{"lat":)" + coord(34) + R"(,"lon":)" + coord(-118) + R"(,"alt_m":)" +
             num(100, 3000) + R"(,"heading":)" + num(0, 359) + R"(,"speed_kts":)" + num(40, 120) +
             R"(},"fuel_pct":)" + num(10, 100) +
             R"(,"payload":{"eo":"active","ir":"standby"},"mission_id":"M-2026-1128-)" +
             num(10, 99) + R"(","last_contact":"2026-11-28T21:29:)" + num(10, 59) +
             R"(Z","priority":)" + num(1, 5) + "}";
    case 2:
      return R"({"name":"alpha-agent:svc-)" + id +
             R"(","kind":"deployment","namespace":"edge","status":")" +
             pick({"healthy", "progressing"}) + R"(","seq":)" + std::to_string(seq) +
             R"(,"replicas":{"desired":3,"ready":)" + num(0, 3) + R"(,"available":)" + num(0, 3) +
             R"(},"image":"registry.local/nginx:1.25.)" + num(0, 9) +
             R"(","labels":{"app":"nginx","tier":"frontend","team":"ops"},"restarts":)" +
             num(0, 9) + R"(,"cpu_millis":)" + num(50, 900) + R"(,"memory_mb":)" + num(16, 512) +
             "}";
    default:
      return R"({"order":"PO-)" + id + R"(","customer":{"name":"Harbor Supply Co.","account":"C-)" +
             num(1000, 9999) + R"(","contact":"ops@harbor.example"},"status":")" +
             pick({"packed", "shipped", "open"}) + R"(","seq":)" + std::to_string(seq) +
             R"(,"items":[{"sku":"A-1","qty":)" + num(1, 9) + R"(},{"sku":"B-22","qty":)" +
             num(1, 9) + R"(}],"total":)" + num(10, 2000) +
             R"(.95,"currency":"USD","notes":"deliver to dock )" + num(1, 9) +
             R"(","created":"2026-11-27T08:00:00Z"})";
  }
}

}  // namespace peat::bench
