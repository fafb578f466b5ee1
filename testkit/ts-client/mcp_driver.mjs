// A line-oriented driver around the official TypeScript MCP client (npm @modelcontextprotocol/sdk),
// speaking the same protocol as ../mcp_driver.py so the Rust tests drive either client:
//
//     node mcp_driver.mjs http URL [BEARER_TOKEN]
//
// Requests:  {"op": "list_tools"} | {"op": "call", "name": "...", "args": {...}} | {"op": "quit"}
// Answers:   {"ok": true, ...} or {"ok": false, "exception": "..."}
//
// The SDK's callTool validates a result's structured content against the tool's output schema
// (after tools/list, as hosts do), error results included: a server whose error results do not
// match shows up here as an exception instead of its message.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import readline from "node:readline";

const [mode, url, token] = process.argv.slice(2);
if (mode !== "http") {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
const client = new Client({ name: "bas-ts-test", version: "1.0.0" });
await client.connect(transport);
// Hosts list the tools first; the SDK keeps their output schemas to validate results with.
await client.listTools();
const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");
out({ ok: true, ready: true, server_name: client.getServerVersion()?.name ?? "" });

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  try {
    if (req.op === "quit") {
      out({ ok: true });
      break;
    } else if (req.op === "list_tools") {
      const tools = await client.listTools();
      out({
        ok: true,
        tools: tools.tools.map((t) => ({ name: t.name, input_schema: t.inputSchema, output_schema: t.outputSchema ?? null })),
      });
    } else if (req.op === "call") {
      const r = await client.callTool({ name: req.name, arguments: req.args ?? {} });
      out({
        ok: true,
        is_error: Boolean(r.isError),
        structured: r.structuredContent ?? null,
        texts: (r.content ?? []).filter((c) => c.type === "text").map((c) => c.text),
        images: (r.content ?? []).filter((c) => c.type === "image").map((c) => c.mimeType),
      });
    } else {
      out({ ok: false, exception: `unknown op ${req.op}` });
    }
  } catch (e) {
    out({ ok: false, exception: `${e?.name ?? "Error"}: ${e?.message ?? e}` });
  }
}
await client.close();
process.exit(0);
