// Two network-namespace hosts joined by an emulated link, with a peat-node in each (tests/net,
// root only): the plumbing shared by the link benchmarks (bench/ddil/ddil.mjs: B7;
// bench/attach/attach.mjs: B11–B13). Host a = 10.77.0.1, b = 10.77.0.2; each node's mesh listens
// on tcp://<host>:MESH_PORT, its API on a unix socket (reached from the root namespace) and on
// tcp://127.0.0.1:API_PORT inside its host. Errors are thrown; every helper that builds something
// tears it down again when it fails.

import fs from "node:fs";
import { MeshNode, randomKey, waitFor } from "../../tests/integration/lib/mesh_cluster.mjs";
import { PeatNet } from "../../tests/net/net.mjs";

export const MESH_PORT = 4433;
export const API_PORT = 50051; // inside each host, e.g. for bench_put_flood
export const wallMs = () => performance.timeOrigin + performance.now();

/** The TCP congestion control of a host's namespace; sets it first unless cc is "default". */
export async function congestionControl(net, host, cc) {
  const file = "/proc/sys/net/ipv4/tcp_congestion_control";
  if (cc !== "default") {
    const r = await net.exec(host, "sh", ["-c", `echo ${cc} > ${file}`]);
    if (r.code !== 0) {
      // outside the root namespace only the algorithms of net.ipv4.tcp_allowed_congestion_control (set in the root namespace) may be chosen
      const allowed = fs.readFileSync("/proc/sys/net/ipv4/tcp_allowed_congestion_control", "utf8").trim();
      throw new Error(`${host}: cannot set TCP congestion control ${cc} in the namespace (allowed there: ${allowed}): ${r.stderr.trim()}`);
    }
  }
  return (await net.exec(host, "cat", [file])).stdout.trim();
}

/** Tcp counters of a host's namespace (/proc/net/snmp): {OutSegs, RetransSegs, ...}. */
export async function tcpCounters(net, host) {
  const lines = (await net.exec(host, "cat", ["/proc/net/snmp"])).stdout.split("\n").filter((l) => l.startsWith("Tcp:"));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
}

/** `ss -tim` of A's end of the mesh connection: send queue, unsent bytes, cwnd, rtt, retransmits, send buffer. */
export async function meshSocket(net) {
  const r = await net.exec("a", "ss", ["-timnH", "state", "established", `( sport = :${MESH_PORT} )`]);
  const text = r.stdout.replace(/\s+/g, " ").trim();
  if (!text) return null;
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : null;
  };
  return {
    send_q: num(/^\d+ (\d+) /), // with a state filter the columns start at Recv-Q Send-Q
    notsent: num(/notsent:(\d+)/) ?? 0,
    cwnd: num(/cwnd:(\d+)/),
    rtt_ms: num(/ rtt:([\d.]+)/),
    bytes_retrans: num(/bytes_retrans:(\d+)/) ?? 0,
    sndbuf: num(/tb(\d+)/),
    unacked: num(/unacked:(\d+)/) ?? 0,
  };
}

/** Counters of both directions of the link: {ab, ba} (in/out packets and bytes, drops). */
export async function linkCounters(net) {
  const pick = (l) => ({ in_pkts: l.in_pkts, in_bytes: l.in_bytes, out_pkts: l.out_pkts, out_bytes: l.out_bytes, drop_loss: l.drop_loss, drop_queue: l.drop_queue });
  return { ab: pick(await net.linkStats("a", "b")), ba: pick(await net.linkStats("b", "a")) };
}

/** Hosts a and b with the B7 link (TCP congestion control opt.cc in both): {net, info}. */
export async function hosts(opt) {
  const net = await PeatNet.create({ hosts: ["a", "b"], seed: opt.seed });
  try {
    const cc = { a: await congestionControl(net, "a", opt.cc), b: await congestionControl(net, "b", opt.cc) };
    const link = { rate_kbit: opt["rate-kbit"], delay_ms: opt["delay-ms"], loss: opt.loss };
    await net.set("a", "b", link);
    return { net, info: { cc, link_params: { ...link, queue_bytes: (await net.get("a", "b"))[0].queue_bytes } } };
  } catch (e) {
    await net.close();
    throw e;
  }
}

/**
 * hosts() with A and B running (B dials A), connected both ways. aArgs / bArgs: extra CLI args
 * of A / B; tag: prefix of the formation's app id.
 * Resolves {net, a, b, info}; close() stops it all.
 */
export async function pair(opt, { aArgs = [], bArgs = [], tag = "b7" } = {}) {
  const t0 = wallMs();
  const { net, info } = await hosts(opt);
  const formation = { sharedKey: randomKey(), appId: `${tag}-${process.pid}-${opt.seed}` };
  const node = (host, name, args) =>
    new MeshNode({
      name,
      nodeId: `ddil-${host}`,
      ...formation,
      meshHost: net.addr(host),
      meshPort: MESH_PORT,
      api: "unix",
      // The node asks for its own congestion control per socket (--mesh-congestion-control, bbr
      // by default): make it the one this run measures ("system" = the namespace's default).
      args: ["--listen", `tcp://127.0.0.1:${API_PORT}`, "--mesh-congestion-control", opt.cc && opt.cc !== "default" ? opt.cc : "system", ...args],
      spawnFn: (cmd, argv, o) => net.spawn(host, cmd, argv, o),
    });
  const a = node("a", "A", aArgs);
  const b = node("b", "B", bArgs);
  b.peers.push(a);
  const close = async () => {
    await Promise.all([a, b].map((x) => x.kill().catch(() => {})));
    await net.close();
  };
  try {
    await a.start();
    await b.start();
    const tStarted = wallMs();
    await waitFor(async () => (await b.isConnectedTo(a)) && (await a.isConnectedTo(b)), {
      timeoutMs: 120_000,
      intervalMs: 100,
      what: "A and B connected over the impaired link",
    });
    Object.assign(info, { startup_seconds: (tStarted - t0) / 1000, connect_seconds: (wallMs() - tStarted) / 1000 });
    return { net, a, b, info, close };
  } catch (e) {
    await close();
    throw e;
  }
}
