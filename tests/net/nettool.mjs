#!/usr/bin/env node
// Tiny traffic tools for the tests/net self-test (no iperf on this machine). Run each side inside a
// host: `ip netns exec peatnet-h2 node tests/net/nettool.mjs tcp-recv --bind 10.77.0.2 ...`.
//
//   tcp-recv --bind ADDR --port P [--seconds 8] [--warmup 0]
//       Accepts one connection, counts bytes, and `seconds` after the first byte prints
//       {"bytes":..,"window_bytes":..,"window_s":..,"kbit":..} (goodput from the first read after
//       `warmup` to the last read), then closes the connection (which ends the sender).
//   tcp-send --to ADDR --port P [--seconds 30]
//       Connects (retrying for 5 s) and writes as fast as the connection takes it.
//   udp-recv --bind ADDR --port P [--idle-ms 1500]
//       Receives datagrams carrying a 32-bit sequence number until idle for idle-ms; prints
//       {"received":..,"inversions":..,"max_seq":..} (inversions = datagrams older than one seen before).
//   udp-send --to ADDR --port P [--count 500] [--interval-ms 2] [--size 200]
//
// Receivers print "READY" on stdout once listening; results are one JSON line on stdout.

import dgram from "node:dgram";
import net from "node:net";

const [mode, ...rest] = process.argv.slice(2);
const opt = {};
for (let i = 0; i < rest.length; i += 2) {
  if (!rest[i].startsWith("--")) throw new Error(`bad argument ${rest[i]}`);
  opt[rest[i].slice(2)] = rest[i + 1];
}
const num = (k, d) => (opt[k] === undefined ? d : Number(opt[k]));
const now = () => Number(process.hrtime.bigint()) / 1e9;

function tcpRecv() {
  const seconds = num("seconds", 8);
  const warmup = num("warmup", 0);
  const server = net.createServer((sock) => {
    server.close();
    let total = 0;
    let t0 = null;
    let mark = null; // [time, total] at the first read after the warm-up
    let last = null; // [time, total] at the latest read
    sock.on("data", (d) => {
      const t = now();
      if (t0 === null) {
        t0 = t;
        setTimeout(finish, seconds * 1000);
      }
      if (mark === null && t - t0 >= warmup) mark = [t, total];
      total += d.length;
      last = [t, total];
    });
    sock.on("error", () => {});
    // Goodput between the reads themselves (not the timer), so a late timer cannot skew it.
    function finish() {
      const windowS = mark ? last[0] - mark[0] : 0;
      const windowBytes = mark ? last[1] - mark[1] : 0;
      const kbit = windowS > 0 ? (windowBytes * 8) / windowS / 1000 : 0;
      console.log(JSON.stringify({ bytes: total, window_bytes: windowBytes, window_s: windowS, kbit }));
      sock.destroy();
      process.exit(0);
    }
  });
  server.listen(num("port"), opt.bind, () => console.log("READY"));
}

function tcpSend() {
  const deadline = now() + num("seconds", 30);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const tryUntil = now() + 5;
  const attempt = () => {
    const sock = net.connect(num("port"), opt.to);
    let connected = false;
    sock.on("error", () => {
      if (connected || now() > tryUntil) process.exit(0); // the receiver closed: done
      setTimeout(attempt, 100);
    });
    sock.on("connect", () => {
      connected = true;
      const pump = () => {
        while (now() < deadline) if (!sock.write(chunk)) return;
        sock.destroy();
        process.exit(0);
      };
      sock.on("drain", pump);
      sock.on("close", () => process.exit(0));
      pump();
    });
  };
  attempt();
}

function udpRecv() {
  const idleMs = num("idle-ms", 1500);
  const s = dgram.createSocket("udp4");
  let received = 0;
  let inversions = 0;
  let maxSeq = -1;
  let timer = null;
  const done = () => {
    console.log(JSON.stringify({ received, inversions, max_seq: maxSeq }));
    s.close();
  };
  s.on("message", (m) => {
    const seq = m.readUInt32BE(0);
    received++;
    if (seq < maxSeq) inversions++;
    else maxSeq = seq;
    clearTimeout(timer);
    timer = setTimeout(done, idleMs);
  });
  s.bind(num("port"), opt.bind, () => console.log("READY"));
}

function udpSend() {
  const count = num("count", 500);
  const interval = num("interval-ms", 2);
  const size = num("size", 200);
  const s = dgram.createSocket("udp4");
  let i = 0;
  const t0 = now();
  const tick = () => {
    // Paced against the start time, so timer drift does not stretch the stream.
    while (i < count && (now() - t0) * 1000 >= i * interval) {
      const b = Buffer.alloc(size);
      b.writeUInt32BE(i++, 0);
      s.send(b, num("port"), opt.to);
    }
    if (i < count) setTimeout(tick, Math.max(1, interval / 2));
    else setTimeout(() => s.close(), 50);
  };
  tick();
}

const modes = { "tcp-recv": tcpRecv, "tcp-send": tcpSend, "udp-recv": udpRecv, "udp-send": udpSend };
if (!modes[mode]) {
  console.error(`usage: nettool.mjs ${Object.keys(modes).join("|")} [--options]`);
  process.exit(2);
}
modes[mode]();
