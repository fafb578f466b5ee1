"""A line-oriented driver around the reference MCP client (the `mcp` package from PyPI).

The Rust end-to-end tests start this script and talk to it over stdin/stdout, one JSON object a
line, so that every tool call in those tests goes through a real, independent MCP client:

    python3 mcp_driver.py http  URL [BEARER_TOKEN]
    python3 mcp_driver.py stdio BINARY [ARG ...]     (environment is passed through)

Requests:  {"op": "list_tools"} | {"op": "call", "name": "...", "args": {...}} | {"op": "quit"}
Answers:   {"ok": true, ...} or {"ok": false, "exception": "..."}
"""

import json
import os
import sys

import anyio
from mcp import ClientSession


def tool_result(result):
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    images = [c.mime_type for c in result.content if getattr(c, "type", None) == "image"]
    return {
        "ok": True,
        "is_error": bool(result.is_error),
        "structured": result.structured_content,
        "texts": texts,
        "images": images,
    }


async def serve(session, server_name):
    stdin = anyio.wrap_file(sys.stdin)
    print(json.dumps({"ok": True, "ready": True, "server_name": server_name}), flush=True)
    async for line in stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            if req["op"] == "quit":
                print(json.dumps({"ok": True}), flush=True)
                return
            if req["op"] == "list_tools":
                tools = await session.list_tools()
                answer = {
                    "ok": True,
                    "tools": [
                        {"name": t.name, "input_schema": t.input_schema, "output_schema": t.output_schema}
                        for t in tools.tools
                    ],
                }
            elif req["op"] == "call":
                result = await session.call_tool(req["name"], req.get("args") or {})
                answer = tool_result(result)
            else:
                answer = {"ok": False, "exception": f"unknown op {req['op']}"}
        except Exception as e:  # reported to the test, which decides
            answer = {"ok": False, "exception": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)


async def main():
    mode = sys.argv[1]
    if mode == "http":
        import httpx2 as httpx
        from mcp.client.streamable_http import streamable_http_client

        headers = {"Authorization": f"Bearer {sys.argv[3]}"} if len(sys.argv) > 3 else None
        async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(120.0)) as http:
            async with streamable_http_client(sys.argv[2], http_client=http) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    await serve(session, init.server_info.name)
    elif mode == "stdio":
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=sys.argv[2], args=sys.argv[3:], env=dict(os.environ))
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                await serve(session, init.server_info.name)
    else:
        raise SystemExit(f"unknown mode {mode}")


anyio.run(main)
