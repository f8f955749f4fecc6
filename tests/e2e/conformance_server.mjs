// A stdio MCP server with what the MCP conformance suite's server scenarios
// (@modelcontextprotocol/conformance, active suite) call: its tools, resources, prompts,
// completion, logging and subscriptions, with the shapes the scenarios check.
// conformance.sh puts it behind the gateway and points the suite at the gateway.
// Run it from the folder whose node_modules holds @modelcontextprotocol/sdk (and its zod).
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { completable } from "@modelcontextprotocol/sdk/server/completable.js";
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

// A 1x1 PNG, and a WAV of 8 silent 8 kHz mono samples.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
function silentWav(samples = 8, rate = 8000) {
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write("RIFF", 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write("WAVEfmt ", 8);
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write("data", 36);
  wav.writeUInt32LE(samples * 2, 40);
  return wav.toString("base64");
}
const WAV = silentWav();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value) => ({ content: [{ type: "text", text: value }] });

const server = new McpServer(
  { name: "watchgate-conformance-fixture", version: "1.0.0" },
  { capabilities: { logging: {}, completions: {}, resources: { subscribe: true } } },
);

// Tools
server.registerTool("test_simple_text", { description: "Returns simple text" }, async () =>
  text("This is a simple text response for testing."));

server.registerTool("test_image_content", { description: "Returns an image" }, async () => ({
  content: [{ type: "image", data: PNG, mimeType: "image/png" }],
}));

server.registerTool("test_audio_content", { description: "Returns audio" }, async () => ({
  content: [{ type: "audio", data: WAV, mimeType: "audio/wav" }],
}));

server.registerTool("test_embedded_resource", { description: "Returns an embedded resource" }, async () => ({
  content: [{
    type: "resource",
    resource: { uri: "test://embedded-resource", mimeType: "text/plain", text: "This is an embedded resource content." },
  }],
}));

server.registerTool("test_multiple_content_types", { description: "Returns text, an image and a resource" }, async () => ({
  content: [
    { type: "text", text: "Multiple content types test:" },
    { type: "image", data: PNG, mimeType: "image/png" },
    {
      type: "resource",
      resource: { uri: "test://mixed-content-resource", mimeType: "application/json", text: '{"test":"data","value":123}' },
    },
  ],
}));

server.registerTool("test_tool_with_logging", { description: "Logs three messages while it runs" }, async () => {
  for (const [index, data] of ["Tool execution started", "Tool processing data", "Tool execution completed"].entries()) {
    if (index > 0) await sleep(50);
    await server.sendLoggingMessage({ level: "info", data });
  }
  return text("Tool with logging executed successfully");
});

server.registerTool("test_error_handling", { description: "Always fails" }, async () => ({
  isError: true,
  content: [{ type: "text", text: "This tool intentionally returns an error for testing" }],
}));

server.registerTool("test_tool_with_progress", { description: "Reports progress 0, 50, 100 of 100" }, async (extra) => {
  const progressToken = extra._meta?.progressToken;
  for (const progress of [0, 50, 100]) {
    if (progress > 0) await sleep(50);
    if (progressToken !== undefined) {
      await extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress, total: 100 } });
    }
  }
  return text("Tool with progress executed successfully");
});

server.registerTool("test_sampling", {
  description: "Asks the client for an LLM completion",
  inputSchema: { prompt: z.string().describe("The prompt to send to the LLM") },
}, async ({ prompt }) => {
  const result = await server.server.createMessage({
    messages: [{ role: "user", content: { type: "text", text: prompt } }],
    maxTokens: 100,
  });
  return text(`LLM response: ${result.content.type === "text" ? result.content.text : JSON.stringify(result.content)}`);
});

server.registerTool("test_elicitation", {
  description: "Asks the user for a username and an email",
  inputSchema: { message: z.string().describe("The message to show the user") },
}, async ({ message }) => {
  const result = await server.server.elicitInput({
    message,
    requestedSchema: {
      type: "object",
      properties: {
        username: { type: "string", description: "User's response" },
        email: { type: "string", description: "User's email address" },
      },
      required: ["username", "email"],
    },
  });
  return text(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
});

// SEP-1034: a default for every primitive type.
server.registerTool("test_elicitation_sep1034_defaults", { description: "Elicitation with defaults" }, async () => {
  const result = await server.server.elicitInput({
    message: "Please review and update the form fields with defaults",
    requestedSchema: {
      type: "object",
      properties: {
        name: { type: "string", description: "User name", default: "John Doe" },
        age: { type: "integer", description: "User age", default: 30 },
        score: { type: "number", description: "User score", default: 95.5 },
        status: { type: "string", description: "User status", enum: ["active", "inactive", "pending"], default: "active" },
        verified: { type: "boolean", description: "Verification status", default: true },
      },
    },
  });
  return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
});

// SEP-1330: the five enum variants.
server.registerTool("test_elicitation_sep1330_enums", { description: "Elicitation with every enum variant" }, async () => {
  const titled = (prefix, titles) => titles.map((title, i) => ({ const: `value${i + 1}`, title: `${title} ${prefix}` }));
  const result = await server.server.elicitInput({
    message: "Please select options from the enum fields",
    requestedSchema: {
      type: "object",
      properties: {
        untitledSingle: { type: "string", description: "Untitled single-select", enum: ["option1", "option2", "option3"] },
        titledSingle: { type: "string", description: "Titled single-select", oneOf: titled("Option", ["First", "Second", "Third"]) },
        legacyEnum: {
          type: "string",
          description: "Legacy titled enum",
          enum: ["opt1", "opt2", "opt3"],
          enumNames: ["Option One", "Option Two", "Option Three"],
        },
        untitledMulti: {
          type: "array",
          description: "Untitled multi-select",
          items: { type: "string", enum: ["option1", "option2", "option3"] },
        },
        titledMulti: {
          type: "array",
          description: "Titled multi-select",
          items: { anyOf: titled("Choice", ["First", "Second", "Third"]) },
        },
      },
    },
  });
  return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
});

// Resources
const fixed = (uri, mimeType, body) => ({ contents: [{ uri, mimeType, ...body }] });
server.registerResource("static-text", "test://static-text", { description: "Static text", mimeType: "text/plain" },
  async (uri) => fixed(uri.href, "text/plain", { text: "This is the content of the static text resource." }));
server.registerResource("static-binary", "test://static-binary", { description: "Static binary", mimeType: "image/png" },
  async (uri) => fixed(uri.href, "image/png", { blob: PNG }));
server.registerResource("watched-resource", "test://watched-resource", { description: "Subscribable", mimeType: "text/plain" },
  async (uri) => fixed(uri.href, "text/plain", { text: "Watched resource content." }));
server.registerResource("example-resource", "test://example-resource", { description: "Embedded by a prompt", mimeType: "text/plain" },
  async (uri) => fixed(uri.href, "text/plain", { text: "Embedded resource content for testing." }));
server.registerResource("template-data", new ResourceTemplate("test://template/{id}/data", { list: undefined }),
  { description: "Data for an id", mimeType: "application/json" },
  async (uri, { id }) => fixed(uri.href, "application/json", {
    text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
  }));

// Subscriptions are only recorded: nothing here ever changes.
const subscribed = new Set();
server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
  subscribed.add(request.params.uri);
  return {};
});
server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
  subscribed.delete(request.params.uri);
  return {};
});

// Prompts
server.registerPrompt("test_simple_prompt", { description: "A simple prompt" }, async () => ({
  messages: [{ role: "user", content: { type: "text", text: "This is a simple prompt for testing." } }],
}));

server.registerPrompt("test_prompt_with_arguments", {
  description: "A prompt with two arguments",
  argsSchema: {
    arg1: completable(z.string().describe("First test argument"),
      (value) => ["paris", "park", "party", "test-value"].filter((word) => word.startsWith(value ?? ""))),
    arg2: z.string().describe("Second test argument"),
  },
}, async ({ arg1, arg2 }) => ({
  messages: [{ role: "user", content: { type: "text", text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
}));

server.registerPrompt("test_prompt_with_embedded_resource", {
  description: "A prompt embedding a resource",
  argsSchema: { resourceUri: z.string().describe("URI of the resource to embed") },
}, async ({ resourceUri }) => ({
  messages: [
    {
      role: "user",
      content: { type: "resource", resource: { uri: resourceUri, mimeType: "text/plain", text: "Embedded resource content for testing." } },
    },
    { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
  ],
}));

server.registerPrompt("test_prompt_with_image", { description: "A prompt with an image" }, async () => ({
  messages: [
    { role: "user", content: { type: "image", data: PNG, mimeType: "image/png" } },
    { role: "user", content: { type: "text", text: "Please analyze the image above." } },
  ],
}));

await server.connect(new StdioServerTransport());
