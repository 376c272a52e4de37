"""The official Python SDK listening to a plan over `subscriptions/listen` (protocol 2026-07-28).

Usage:
    plan_listen.py PLAN_ID ORCHESTRATOR_BINARY ARG...

Opens a listen stream for the plan's resource and for a URI the server does not serve, records a
decision on the plan through the same client, and waits for the stream to say the plan changed.
Prints what it saw as one JSON object.
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters


async def main(argv: list[str]) -> dict:
    plan, target, *rest = argv
    server = StdioServerParameters(command=target, args=rest)
    uri = f"orchestrator://plans/{plan}"
    async with Client(server, read_timeout_seconds=30) as client:
        async with client.listen(resource_subscriptions=[uri, "https://example.com/elsewhere"]) as sub:
            honored = list(sub.honored.resource_subscriptions or [])
            decided = await client.call_tool(
                "plan_decide",
                {"plan_id": int(plan), "what": "Log every request", "why": "to debug production"},
            )
            event = await asyncio.wait_for(anext(sub), timeout=30)
        return {
            "protocol_version": client.protocol_version,
            "honored": honored,
            "decided_is_error": decided.is_error,
            "event": type(event).__name__,
            "event_uri": getattr(event, "uri", None),
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
