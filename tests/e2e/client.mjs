// End to end: the official MCP SDK client talks to `watchgate run`, which fronts the official
// server-everything. Usage: node client.mjs <watchgate binary> <gateway.yaml> <step>
// Steps: tools, resources, prompts, progress, sampling, elicitation, blocked.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [watchgate, config, step] = process.argv.slice(2);

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

const client = new Client(
  { name: "watchgate-e2e", version: "1.0.0" },
  { capabilities: { sampling: {}, elicitation: {} } },
);
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

const steps = {
  async tools() {
    const { tools } = await client.listTools();
    check(tools.some((tool) => tool.name === "echo"), "echo is listed");
    const result = await client.callTool({ name: "echo", arguments: { message: "through the gateway" } });
    check(JSON.stringify(result.content).includes("through the gateway"), "echo answers");
    const sum = await client.callTool({ name: "get-sum", arguments: { a: 2, b: 40 } });
    check(JSON.stringify(sum.content).includes("42"), "get-sum answers 42");
  },
  async resources() {
    const { resources } = await client.listResources();
    check(resources.length > 0, "resources are listed");
    const read = await client.readResource({ uri: resources[0].uri });
    check(read.contents.length > 0, "a resource reads");
    const { resourceTemplates } = await client.listResourceTemplates();
    check(resourceTemplates.length > 0, "templates are listed");
  },
  async prompts() {
    const { prompts } = await client.listPrompts();
    check(prompts.some((prompt) => prompt.name === "simple-prompt"), "simple-prompt is listed");
    const prompt = await client.getPrompt({ name: "args-prompt", arguments: { city: "Lisbon" } });
    check(JSON.stringify(prompt.messages).includes("Lisbon"), "args-prompt uses its argument");
  },
  async progress() {
    const updates = [];
    await client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 3 } },
      undefined,
      { onprogress: (progress) => updates.push(progress.progress) },
    );
    // The SDK runs notification handlers in a microtask but settles responses at once, so a last
    // progress notification read in the same chunk as the result is dropped by the client itself
    // (the gateway forwards all three, in order: tests/integration/gateway_test.cpp asserts that).
    check(updates.length >= 2 && updates.every((value, i) => value === i + 1), `progress 1, 2[, 3] (got ${JSON.stringify(updates)})`);
  },
  async sampling() {
    const result = await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 20 } });
    check(sampled === 1, "the client was asked to sample once");
    check(JSON.stringify(result.content).includes("sampled by the e2e client"), "the sample reached the tool");
  },
  async elicitation() {
    const result = await client.callTool({ name: "trigger-elicitation-request", arguments: {} });
    check(elicited === 1, "the client was asked once");
    check(JSON.stringify(result.content).toLowerCase().includes("decline"), "the decline reached the tool");
  },
  async blocked() {
    let error;
    try {
      await client.callTool({ name: "echo", arguments: { message: "the e2e-secret-word inside" } });
    } catch (e) {
      error = e;
    }
    check(error && /Request blocked: keyword_filter/.test(error.message), `blocked by the gateway (${error?.message})`);
  },
};

let failed = 0;
try {
  check(step in steps, `known step (${step})`);
  await client.connect(new StdioClientTransport({ command: watchgate, args: ["run", "--config", config], stderr: "inherit" }));
  const info = client.getServerVersion();
  check(info.name === "watchgate", `serverInfo is watchgate (${info.name})`);
  await steps[step]();
  console.log(`ok - ${step}`);
} catch (error) {
  failed = 1;
  console.log(`not ok - ${step}: ${error.stack ?? error}`);
} finally {
  await client.close().catch(() => {});
}
console.log(`${1 - failed} passed, ${failed} failed`);
process.exit(failed);
