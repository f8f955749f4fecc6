// A server of the official MCP SDK 2.x for the era tests: `dual` answers initialize and the
// stateless era's requests alike; `modern` speaks only 2026-07-28 and refuses initialize.
// Usage: node era_server.mjs dual|modern
// Tools: echo {text} (progress when asked), ask {question} (elicitation: input_required in the
// stateless era), bump (adds a tool: tools/list_changed), touch {uri} (resources/updated).
// Resources: mem://hello and the template mem://items/{id}. Prompt: greet {name}.
import { McpServer, ResourceTemplate, acceptedContent, inputRequired, inputResponse } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import * as z from "zod";

const mode = process.argv[2];
if (mode !== "dual" && mode !== "modern") throw new Error("usage: era_server.mjs dual|modern");

function makeServer() {
  const server = new McpServer(
    { name: `era-server-${mode}`, version: "1.0.0" },
    { capabilities: { tools: {}, resources: { subscribe: true }, prompts: {} }, instructions: `the ${mode} era server` },
  );
  server.registerTool(
    "echo",
    { description: "Echoes its text", inputSchema: z.object({ text: z.string() }) },
    async ({ text }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      if (progressToken !== undefined) {
        for (const progress of [1, 2])
          await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken, progress, total: 2 } });
        // The SDK client handles notifications a tick after answers: let the progress go first.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { content: [{ type: "text", text }] };
    },
  );
  const answer = z.object({ answer: z.string() });
  server.registerTool(
    "ask",
    { description: "Asks the user a question", inputSchema: z.object({ question: z.string() }) },
    async ({ question }, ctx) => {
      const got = acceptedContent(ctx.mcpReq.inputResponses, "q1", answer);
      if (got) return { content: [{ type: "text", text: `the answer: ${got.answer}` }] };
      const seen = inputResponse(ctx.mcpReq.inputResponses, "q1");
      if (seen.kind === "elicit") return { content: [{ type: "text", text: `the user chose ${seen.action}` }], isError: true };
      return inputRequired({
        inputRequests: { q1: inputRequired.elicit({ message: question, requestedSchema: answer }) },
        requestState: JSON.stringify({ question }),
      });
    },
  );
  server.registerTool("bump", { description: "Adds a tool" }, async () => {
    server.registerTool(`added_${Date.now()}`, { description: "added by bump" }, async () => ({ content: [] }));
    return { content: [{ type: "text", text: "bumped" }] };
  });
  server.registerTool(
    "touch",
    { description: "Says a resource changed", inputSchema: z.object({ uri: z.string() }) },
    async ({ uri }) => {
      await server.server.sendResourceUpdated({ uri });
      return { content: [{ type: "text", text: `touched ${uri}` }] };
    },
  );
  server.registerResource("hello", "mem://hello", { mimeType: "text/plain" }, async (uri) => ({
    contents: [{ uri: uri.href, text: "hello from the era server" }],
  }));
  server.registerResource(
    "item",
    new ResourceTemplate("mem://items/{id}", { list: undefined }),
    { mimeType: "text/plain" },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, text: `item ${id}` }] }),
  );
  server.registerPrompt("greet", { argsSchema: z.object({ name: z.string() }) }, async ({ name }) => ({
    messages: [{ role: "user", content: { type: "text", text: `Say hello to ${name}` } }],
  }));
  return server;
}

serveStdio(() => makeServer(), {
  legacy: mode === "dual" ? "serve" : "reject",
  onerror: (error) => process.stderr.write(`[era-server] ${error.message}\n`),
});
