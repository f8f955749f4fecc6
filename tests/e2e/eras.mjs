// End to end across the MCP protocol eras: the official SDK 2.x client in each of its
// negotiation modes (legacy, auto, pinned to 2026-07-28), or the 1.x client, through
// `watchgate run` over stdio to one upstream: server-everything (session era), or the SDK 2.x
// era server (era_server.mjs) as a dual-era or a stateless-only server.
// Usage: node eras.mjs <watchgate binary> <gateway.yaml> <legacy|auto|2026-07-28|sdk1> <everything|dual|modern> [stdio|http]
// Each run checks tools, progress, resources, prompts, an elicitation round trip and a subscription.
// With http the config serves Streamable HTTP (transport: http, port 0) and the SDK 2.x client
// connects to the address the gateway logs: stateless requests, each a POST of its own.
import { startHttpGateway } from "./http_gateway.mjs";
import { Client as Client2, StreamableHTTPClientTransport as StreamableHTTPClientTransport2 } from "@modelcontextprotocol/client";
import { StdioClientTransport as StdioClientTransport2 } from "@modelcontextprotocol/client/stdio";
import { Client as Client1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as StdioClientTransport1 } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  ElicitRequestSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const [watchgate, config, clientKind, upstream, transportKind = "stdio"] = process.argv.slice(2);
const modernClient = clientKind === "auto" || clientKind === "2026-07-28";
const sdk1 = clientKind === "sdk1";

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}
async function until(condition, what, ms = 15000) {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  check(condition(), what);
}

const identity = { name: "watchgate-era-e2e", version: "1.0.0" };
const capabilities = { elicitation: { form: {} }, sampling: {} };
let client;
if (sdk1) {
  client = new Client1(identity, { capabilities });
} else {
  const versionNegotiation =
    clientKind === "legacy" ? { mode: "legacy" } : clientKind === "auto" ? { mode: "auto" } : { mode: { pin: clientKind } };
  client = new Client2(identity, { capabilities, versionNegotiation });
}
// Protocol errors the client reports. The SDK handles notifications a tick after answers, so a
// last progress notification read in one chunk with its answer finds its token gone: the SDK's
// own race (the gateway forwards progress before the answer: tests/integration/gateway_test.cpp).
const errors = [];
client.onerror = (error) => {
  const message = String(error?.message ?? error);
  if (!message.startsWith("Received a progress notification for an unknown token")) errors.push(message);
};

// The user's answer to every elicitation: accepted, with the field the asking tool wants.
let elicited = 0;
const onElicit = async (request) => {
  elicited += 1;
  const wanted = Object.keys(request.params.requestedSchema?.properties ?? {});
  const content = Object.fromEntries(wanted.map((key) => [key, key === "answer" ? "forty-two" : defaultFor(request, key)]));
  return { action: "accept", content };
};
function defaultFor(request, key) {
  const type = request.params.requestedSchema.properties[key].type;
  const options = request.params.requestedSchema.properties[key].enum;
  return options ? options[0] : type === "boolean" ? true : type === "number" || type === "integer" ? 1 : "forty-two";
}
const updated = [];
const listChanged = [];
if (sdk1) {
  client.setRequestHandler(ElicitRequestSchema, onElicit);
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updated.push(n.params));
  client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => listChanged.push(n.params ?? {}));
} else {
  client.setRequestHandler("elicitation/create", onElicit);
  client.setNotificationHandler("notifications/resources/updated", (n) => updated.push(n.params));
  client.setNotificationHandler("notifications/tools/list_changed", (n) => listChanged.push(n.params ?? {}));
}

const args = ["run", "--config", config];
// Over HTTP the gateway runs on its own; its address is in its log.
let gateway;
async function httpEndpoint() {
  const started = await startHttpGateway(watchgate, config);
  gateway = started.gateway;
  return started.endpoint;
}
const transport =
  transportKind === "http"
    ? new StreamableHTTPClientTransport2(await httpEndpoint())
    : sdk1
      ? new StdioClientTransport1({ command: watchgate, args, stderr: "inherit" })
      : new StdioClientTransport2({ command: watchgate, args, stderr: "inherit" });

const everything = upstream === "everything";
const text = (result) => JSON.stringify(result.content ?? result.contents ?? result.messages);

async function callTool(params, onprogress) {
  return sdk1 ? client.callTool(params, undefined, { onprogress }) : client.callTool(params, { onprogress });
}

let failed = 0;
try {
  await client.connect(transport);
  if (!sdk1) {
    const era = client.getProtocolEra();
    check(era === (modernClient ? "modern" : "legacy"), `the client speaks the ${modernClient ? "modern" : "legacy"} era (${era})`);
    if (modernClient) check(client.getNegotiatedProtocolVersion() === "2026-07-28", "2026-07-28 negotiated");
  }
  check(client.getServerVersion()?.name === "watchgate", `serverInfo is watchgate (${JSON.stringify(client.getServerVersion())})`);

  // Tools.
  const { tools } = await client.listTools();
  const names = tools.map((tool) => tool.name);
  check(names.includes("echo"), `echo is listed (${names})`);
  const echo = everything
    ? await callTool({ name: "echo", arguments: { message: "across the eras" } })
    : await callTool({ name: "echo", arguments: { text: "across the eras" } });
  check(text(echo).includes("across the eras"), `echo answers (${text(echo)})`);

  // Progress.
  const progress = [];
  if (everything)
    await callTool({ name: "trigger-long-running-operation", arguments: { duration: 1, steps: 3 } }, (p) => progress.push(p.progress));
  else await callTool({ name: "echo", arguments: { text: "with progress" } }, (p) => progress.push(p.progress));
  check(progress.length >= 2 && progress.every((value, i) => value === i + 1), `progress in order (${JSON.stringify(progress)})`);

  // Resources.
  const { resources } = await client.listResources();
  check(resources.length > 0, "resources are listed");
  const uri = everything ? resources[0].uri : "mem://hello";
  check(resources.some((resource) => resource.uri === uri), `${uri} is listed`);
  const read = await client.readResource({ uri });
  check(read.contents.length > 0 && read.contents[0].uri === uri, `${uri} reads (${text(read)})`);
  if (!everything) {
    const item = await client.readResource({ uri: "mem://items/7" });
    check(text(item).includes("item 7"), `a templated resource reads (${text(item)})`);
  }

  // Prompts.
  const prompt = everything
    ? await client.getPrompt({ name: "args-prompt", arguments: { city: "Lisbon" } })
    : await client.getPrompt({ name: "greet", arguments: { name: "Lisbon" } });
  check(text(prompt).includes("Lisbon"), `the prompt uses its argument (${text(prompt)})`);

  // An elicitation round trip: a server -> client request, or input_required and a retry.
  const asked = everything
    ? await callTool({ name: "trigger-elicitation-request", arguments: {} })
    : await callTool({ name: "ask", arguments: { question: "What is the answer?" } });
  check(elicited === 1, `the client was asked once (${elicited})`);
  check(!asked.isError && (everything ? /accept/i.test(text(asked)) : text(asked).includes("forty-two")),
        `the answer reached the tool (${text(asked)})`);

  // A subscription: subscriptions/listen in the stateless era, resources/subscribe in the session era.
  let subscription;
  if (modernClient) {
    subscription = await client.listen({ toolsListChanged: true, resourceSubscriptions: [uri] });
    check(JSON.stringify(subscription.honoredFilter.resourceSubscriptions) === JSON.stringify([uri]),
          `the subscription is acknowledged (${JSON.stringify(subscription.honoredFilter)})`);
  } else {
    await client.subscribeResource({ uri });
  }
  if (everything) await callTool({ name: "toggle-subscriber-updates", arguments: {} });
  else await callTool({ name: "touch", arguments: { uri } });
  await until(() => updated.some((params) => params.uri === uri), `resources/updated for ${uri} (${JSON.stringify(updated)})`);
  if (modernClient)
    check(updated.every((params) => params._meta?.["io.modelcontextprotocol/subscriptionId"] !== undefined),
          `updates carry their subscription (${JSON.stringify(updated)})`);
  if (!everything) {
    await callTool({ name: "bump", arguments: {} });
    await until(() => listChanged.length > 0, "tools/list_changed after a tool was added");
    const again = await client.listTools();
    check(again.tools.length === tools.length + 1, `the added tool is listed (${again.tools.length} after ${tools.length})`);
  }
  if (modernClient) {
    await subscription.close();
    check((await subscription.closed) === "local", "the subscription ends when the client ends it");
  } else {
    if (everything) await callTool({ name: "toggle-subscriber-updates", arguments: {} });
    await client.unsubscribeResource({ uri });
  }
  check(errors.length === 0, `no protocol errors at the client (${JSON.stringify(errors)})`);
  console.log(`ok - ${clientKind} client, ${upstream} upstream, ${transportKind}`);
} catch (error) {
  failed = 1;
  console.log(`not ok - ${clientKind} client, ${upstream} upstream, ${transportKind}: ${error.stack ?? error}`);
} finally {
  await client.close().catch(() => {});
  gateway?.kill("SIGTERM");
}
process.exit(failed);
