"""An independent MCP client (the official Python SDK) driving orchestrator.

Usage:
    mcp_client.py stdio ORCHESTRATOR_BINARY ARG...   # launches the server itself
    mcp_client.py http URL

Connects in the SDK's default "auto" mode (it probes with server/discover, then falls back to
initialize), lists the tools, calls plan_get without and with a plan id, makes one bad call, and
prints what it saw as one JSON object for the Rust test to check.
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters


async def main(argv: list[str]) -> dict:
    mode, target, *rest = argv
    if mode == "stdio":
        server = StdioServerParameters(command=target, args=rest)
    elif mode == "http":
        server = target
    else:
        raise SystemExit(f"unknown mode {mode!r}: expected stdio or http")

    async with Client(server, read_timeout_seconds=30) as client:
        tools = await client.list_tools()
        listed = await client.call_tool("plan_get", {})
        plans = listed.structured_content["plans"]
        one = await client.call_tool("plan_get", {"plan_id": plans[0]["id"], "version": 1})
        bad = await client.call_tool("plan_get", {"plan_id": "not a number"})
        return {
            "protocol_version": client.protocol_version,
            "server_name": client.server_info.name if client.server_info else None,
            "tools": sorted(tool.name for tool in tools.tools),
            "plan_ids": [plan["id"] for plan in plans],
            "goal_v1": one.structured_content["plan"]["version"]["content"]["goal"],
            "bad_call_is_error": bad.is_error,
            "bad_call_text": bad.content[0].text if bad.content else "",
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
