// Remote upstream benchmark against the official peers: the MCP SDK client straight to
// server-everything over Streamable HTTP, against the same client over stdio through watchgate,
// whose upstream is that server by url:, in the same run. 1 KB echo calls one at a time and 16
// in flight: calls/s and p50 of each, and the ratios.
//
//   node everything_bench.mjs <watchgate binary> [calls]   (after npm ci here; default 2000 calls)
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

// The SDK's HTTP client warns about its own abort listeners after a thousand calls: not ours to fix.
process.removeAllListeners("warning");

const [watchgate, callsText = "2000"] = process.argv.slice(2);
const calls = Number(callsText);
const here = new URL(".", import.meta.url).pathname;
const message = "x".repeat(1000);

const port = await new Promise((resolve) => {
  const probe = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const server = spawn(
  process.execPath,
  ["--import", `${here}loopback.mjs`, `${here}node_modules/@modelcontextprotocol/server-everything/dist/index.js`, "streamableHttp"],
  { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "ignore"] },
);
const url = `http://127.0.0.1:${port}/mcp`;
for (let open = false; !open; ) {
  open = await new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket.end() && true));
    socket.on("error", () => resolve(false));
  });
  if (!open) await new Promise((resolve) => setTimeout(resolve, 50));
}

const dir = mkdtempSync(join(tmpdir(), "watchgate-everything-bench-"));
writeFileSync(
  join(dir, "gateway.yaml"),
  `proxy:\n  concurrency: {max_in_flight: 1000}\n  upstreams:\n    - name: everything\n      url: ${url}\nlogging: {level: warning}\n`,
);

async function measure(client, window) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < calls) {
      next += 1;
      const sent = performance.now();
      await client.callTool({ name: "echo", arguments: { message } });
      latencies.push(performance.now() - sent);
    }
  }
  await Promise.all(Array.from({ length: window }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: calls / seconds, p50: latencies[Math.floor(latencies.length / 2)] * 1000 };
}

async function connect(transport) {
  const client = new Client({ name: "bench", version: "1" });
  await client.connect(transport);
  for (let i = 0; i < 100; i += 1) await client.callTool({ name: "echo", arguments: { message } });  // warm up
  return client;
}

const direct = await connect(new StreamableHTTPClientTransport(new URL(url)));
const through = await connect(
  new StdioClientTransport({ command: watchgate, args: ["run", "--config", join(dir, "gateway.yaml")], stderr: "ignore" }),
);
console.log(`server-everything over Streamable HTTP, 1 KB echo calls, ${calls} per level\n`);
console.log("in flight   SDK direct/s  direct p50   via watchgate/s  watchgate p50  watchgate/direct  p50 added");
for (const window of [1, 16]) {
  const theirs = await measure(direct, window);
  const ours = await measure(through, window);
  console.log(
    `${String(window).padEnd(11)} ${theirs.perSecond.toFixed(0).padStart(12)} ${theirs.p50.toFixed(0).padStart(8)} us ` +
      `${ours.perSecond.toFixed(0).padStart(17)} ${ours.p50.toFixed(0).padStart(11)} us ` +
      `${(ours.perSecond / theirs.perSecond).toFixed(2).padStart(16)}x ${(ours.p50 - theirs.p50).toFixed(0).padStart(7)} us`,
  );
}
await direct.close();
await through.close();
server.kill("SIGTERM");
