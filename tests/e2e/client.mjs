// End to end: the official MCP SDK client talks to `watchgate run`, which fronts the official
// server-everything (as `everything__*`) and server-filesystem (as `fs__*`, serving <folder>).
// Usage: node client.mjs <watchgate binary> <gateway.yaml> <folder> <step> [stdio|http|https|sse]
// Steps: tools, resources, prompts, progress, sampling, elicitation, blocked, filesystem, roots,
// cancel, big-argument, subscribe; over HTTP also sessions (50 at once) and delete.
// With E2E_REMOTE_EVERYTHING=streamableHttp or sse, server-everything runs as a remote server of
// its own (that transport, on a free port of 127.0.0.1) and the config (gateway-remote.yaml) names
// its URL in place of @EVERYTHING_URL@ and the transport in place of @EVERYTHING_TRANSPORT@.
// With http or sse the gateway serves Streamable HTTP (the config says transport: http, port 0)
// and the client connects with StreamableHTTPClientTransport or the old SSEClientTransport; with
// https the config adds tls: and NODE_EXTRA_CA_CERTS names the certificate the client trusts.
import { spawn } from "node:child_process";
import { startHttpGateway as startHttpGatewayProcess } from "./http_gateway.mjs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";

const [watchgate, givenConfig, folder, step, transportKind = "stdio"] = process.argv.slice(2);
let config = givenConfig;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

function newClient() {
  const made = new Client(
    { name: "watchgate-e2e", version: "1.0.0" },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  made.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: `file://${folder}`, name: "e2e-root" }] }));
  return made;
}
const client = newClient();
let sampled = 0;
let elicited = 0;
client.setRequestHandler(CreateMessageRequestSchema, async () => {
  sampled += 1;
  return {
    role: "assistant",
    content: { type: "text", text: "sampled by the e2e client" },
    model: "e2e-model",
    stopReason: "endTurn",
  };
});
client.setRequestHandler(ElicitRequestSchema, async () => {
  elicited += 1;
  return { action: "decline" };
});

let updates = [];
client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => updates.push(notification.params.uri));

const steps = {
  async subscribe() {
    const { resources } = await client.listResources();
    const uri = resources[0].uri;
    await client.subscribeResource({ uri });
    await client.callTool({ name: "everything__toggle-subscriber-updates", arguments: {} });
    const deadline = Date.now() + 15000;
    while (!updates.includes(uri) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    check(updates.includes(uri), `resources/updated for ${uri} arrives (${JSON.stringify(updates)})`);
    await client.unsubscribeResource({ uri });
  },
  async tools() {
    const { tools } = await client.listTools();
    check(tools.some((tool) => tool.name === "everything__echo"), "everything__echo is listed");
    check(tools.some((tool) => tool.name === "fs__read_text_file"), "fs__read_text_file is listed");
    const names = tools.map((tool) => tool.name);
    check(JSON.stringify(names) === JSON.stringify([...names].sort()), "tools are sorted");
    const result = await client.callTool({ name: "everything__echo", arguments: { message: "through the gateway" } });
    check(JSON.stringify(result.content).includes("through the gateway"), "echo answers");
    const sum = await client.callTool({ name: "everything__get-sum", arguments: { a: 2, b: 40 } });
    check(JSON.stringify(sum.content).includes("42"), "get-sum answers 42");
  },
  async resources() {
    const { resources } = await client.listResources();
    check(resources.length > 0, "resources are listed");
    check(resources.every((resource) => resource.uri.startsWith("everything__")), "resource URIs carry the prefix");
    const read = await client.readResource({ uri: resources[0].uri });
    check(read.contents.length > 0, "a resource reads");
    const { resourceTemplates } = await client.listResourceTemplates();
    check(resourceTemplates.length > 0, "templates are listed");
    check(read.contents[0].uri === resources[0].uri, "the read contents name the prefixed URI");
  },
  async prompts() {
    const { prompts } = await client.listPrompts();
    check(prompts.some((prompt) => prompt.name === "everything__simple-prompt"), "simple-prompt is listed");
    const prompt = await client.getPrompt({ name: "everything__args-prompt", arguments: { city: "Lisbon" } });
    check(JSON.stringify(prompt.messages).includes("Lisbon"), "args-prompt uses its argument");
  },
  async progress() {
    const updates = [];
    await client.callTool(
      { name: "everything__trigger-long-running-operation", arguments: { duration: 1, steps: 3 } },
      undefined,
      { onprogress: (progress) => updates.push(progress.progress) },
    );
    // The SDK runs notification handlers in a microtask but settles responses at once, so a last
    // progress notification read in the same chunk as the result is dropped by the client itself
    // (the gateway forwards all three, in order: tests/integration/gateway_test.cpp asserts that).
    check(updates.length >= 2 && updates.every((value, i) => value === i + 1), `progress 1, 2[, 3] (got ${JSON.stringify(updates)})`);
  },
  async sampling() {
    const result = await client.callTool({ name: "everything__trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 20 } });
    check(sampled === 1, "the client was asked to sample once");
    check(JSON.stringify(result.content).includes("sampled by the e2e client"), "the sample reached the tool");
  },
  async elicitation() {
    const result = await client.callTool({ name: "everything__trigger-elicitation-request", arguments: {} });
    check(elicited === 1, "the client was asked once");
    check(JSON.stringify(result.content).toLowerCase().includes("decline"), "the decline reached the tool");
  },
  async blocked() {
    let error;
    try {
      await client.callTool({ name: "everything__echo", arguments: { message: "the e2e-secret-word inside" } });
    } catch (e) {
      error = e;
    }
    check(error && /Request blocked: keyword_filter/.test(error.message), `blocked by the gateway (${error?.message})`);
  },
  async filesystem() {
    const path = `${folder}/note-${process.pid}.txt`;
    const written = await client.callTool({ name: "fs__write_file", arguments: { path, content: "written through watchgate" } });
    check(!written.isError, `fs__write_file succeeds (${JSON.stringify(written.content)})`);
    const read = await client.callTool({ name: "fs__read_text_file", arguments: { path } });
    check(JSON.stringify(read.content).includes("written through watchgate"), "fs__read_text_file reads it back");
    const outside = await client.callTool({ name: "fs__read_text_file", arguments: { path: "/etc/hostname" } });
    check(outside.isError, "server-filesystem still refuses paths outside its folder");
    const echo = await client.callTool({ name: "everything__echo", arguments: { message: "side by side" } });
    check(JSON.stringify(echo.content).includes("side by side"), "server-everything answers alongside");
  },
};

// Over HTTP: the gateway runs as a server of its own; its address is in its log.
let gateway;
let endpoint;
async function startHttpGateway() {
  ({ gateway, endpoint } = await startHttpGatewayProcess(watchgate, config));
}
function transportFor() {
  if (transportKind === "stdio")
    return new StdioClientTransport({ command: watchgate, args: ["run", "--config", config], stderr: "inherit" });
  if (transportKind === "sse") return new SSEClientTransport(new URL("/sse", endpoint));
  return new StreamableHTTPClientTransport(endpoint);
}

Object.assign(steps, {
  async roots() {
    const result = await client.callTool({ name: "everything__get-roots-list", arguments: {} });
    check(JSON.stringify(result.content).includes("e2e-root"), `the client's roots reach the tool (${JSON.stringify(result.content)})`);
  },
  async cancel() {
    const controller = new AbortController();
    const started = Date.now();
    const call = client.callTool(
      { name: "everything__trigger-long-running-operation", arguments: { duration: 30, steps: 30 } },
      undefined,
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort("enough"), 300);
    let error;
    try {
      await call;
    } catch (e) {
      error = e;
    }
    check(error && Date.now() - started < 10000, `the call ends when cancelled (${error?.message})`);
    const echo = await client.callTool({ name: "everything__echo", arguments: { message: "after the cancel" } });
    check(JSON.stringify(echo.content).includes("after the cancel"), "the session serves the next call");
  },
  async "big-argument"() {
    const message = "x".repeat(1 << 20);
    const echo = await client.callTool({ name: "everything__echo", arguments: { message } });
    check(JSON.stringify(echo.content).includes(message), "a 1 MiB argument comes back whole");
  },
  async sessions() {
    // 50 clients at once, each a session of its own; their request ids collide (each starts at 0).
    const clients = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const other = newClient();
        await other.connect(transportFor());
        return other;
      }),
    );
    const answers = await Promise.all(
      clients.map((other, i) => other.callTool({ name: "everything__echo", arguments: { message: `session ${i} speaks` } })),
    );
    answers.forEach((answer, i) => check(JSON.stringify(answer.content).includes(`session ${i} speaks`), `session ${i} gets its own answer`));
    await Promise.all(clients.map((other) => other.close()));
  },
  async delete() {
    const transport = client.transport;
    const session = transport.sessionId;
    check(typeof session === "string" && session.length >= 32, `a session id of 128 bits or more (${session})`);
    await transport.terminateSession();
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": session },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    check(response.status === 404, `an ended session is 404 (${response.status})`);
  },
});

// server-everything as a remote server: started on a free port, its URL written into the config.
let remote;
async function startRemoteEverything(mode) {
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const here = new URL(".", import.meta.url).pathname;
  remote = spawn(
    process.execPath,
    ["--import", `${here}loopback.mjs`, `${here}node_modules/@modelcontextprotocol/server-everything/dist/index.js`, mode],
    { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "inherit"] },
  );
  for (let attempt = 0; ; attempt += 1) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(socket.end() && true));
      socket.on("error", () => resolve(false));
    });
    if (open) break;
    if (attempt > 200) throw new Error(`server-everything (${mode}) did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = mode === "sse" ? `http://127.0.0.1:${port}/sse` : `http://127.0.0.1:${port}/mcp`;
  const transport = mode === "sse" ? "sse" : "streamable_http";
  config = `${here}gateway-remote-${process.pid}.yaml`;
  writeFileSync(
    config,
    readFileSync(givenConfig, "utf8").replace("@EVERYTHING_URL@", url).replace("@EVERYTHING_TRANSPORT@", transport),
  );
}

let failed = 0;
try {
  check(step in steps, `known step (${step})`);
  if (process.env.E2E_REMOTE_EVERYTHING) await startRemoteEverything(process.env.E2E_REMOTE_EVERYTHING);
  if (transportKind !== "stdio") await startHttpGateway();
  await client.connect(transportFor());
  const info = client.getServerVersion();
  check(info.name === "watchgate", `serverInfo is watchgate (${info.name})`);
  await steps[step]();
  console.log(`ok - ${step}`);
} catch (error) {
  failed = 1;
  console.log(`not ok - ${step}: ${error.stack ?? error}`);
} finally {
  await client.close().catch(() => {});
  gateway?.kill("SIGTERM");
  remote?.kill("SIGTERM");
}
console.log(`${1 - failed} passed, ${failed} failed`);
process.exit(failed);
