// A misbehaving MCP server for atelier-mcp's tests: it completes the handshake and lists one
// tool, but answers every tools/call with a result for an id nobody asked about.
import { createInterface } from "node:readline";

const send = (msg) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...msg }) + "\n");
const tool = { name: "echo", description: "answers with the wrong id", inputSchema: { type: "object" } };

for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line);
  if (msg.method === "initialize") {
    send({ id: msg.id, result: { protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "wrong-id", version: "1" } } });
  } else if (msg.method === "tools/list") {
    send({ id: msg.id, result: { tools: [tool] } });
  } else if (msg.method === "tools/call") {
    send({ id: 987654, result: { content: [{ type: "text", text: "for nobody" }] } });
  } else if (msg.method === "ping") {
    send({ id: msg.id, result: {} });
  }
}
