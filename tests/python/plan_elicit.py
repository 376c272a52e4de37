"""The official Python SDK as a client that can show forms (elicitation), running a planning
interview through them.

Usage:
    plan_elicit.py MODE stdio ORCHESTRATOR_BINARY ARG...
    plan_elicit.py MODE http URL

MODE is "legacy" (initialize handshake: the server sends elicitation/create requests) or "auto"
(2026-07-28: the tool answers input_required and the SDK retries with the answers). The "user"
answers each form from its message: vaguely once for the features (to get a follow-up), and
declines the first form of a second session. Prints what it saw as one JSON object.
"""

import asyncio
import json
import sys

from mcp import Client, types
from mcp.client.stdio import StdioServerParameters

ANSWERS = {
    "Who will use this": "2",
    "If it could do only one thing": "Add a note; List notes; Delete a note",
    "What must it do?": "idk",
    "How will you judge that it is done?": "Notes survive a restart",
    "Where should the new code live": "src/notes/ for the code, tests/ for the tests",
}


async def main(argv: list[str]) -> dict:
    mode, transport, target, *rest = argv
    if transport == "stdio":
        server = StdioServerParameters(command=target, args=rest)
    else:
        server = target

    forms: list[str] = []
    decline = {"on": False}

    async def answer(context, params: types.ElicitRequestParams) -> types.ElicitResult:
        message = params.message
        forms.append(message.split("\n", 1)[0])
        default = params.requested_schema["properties"]["answer"].get("default")
        if default is not None and "Found in the project" in message:
            return types.ElicitResult(action="accept", content={"answer": default})
        if decline["on"]:
            return types.ElicitResult(action="decline")
        for start, reply in ANSWERS.items():
            if message.startswith(start):
                return types.ElicitResult(action="accept", content={"answer": reply})
        return types.ElicitResult(action="accept", content={"answer": "1"})

    async with Client(server, mode=mode, read_timeout_seconds=30, elicitation_callback=answer) as client:
        started = await client.call_tool("plan_start", {"goal": "A note keeper"})
        session = started.structured_content["session"]["id"]
        offer = started.structured_content["next_step"]
        asked = await client.call_tool("plan_answer", {"session_id": session, "ask_user": True})
        report = asked.structured_content
        # The whole session, with every topic, is one call away.
        whole = await client.call_tool("plan_get", {"session_id": session})
        topics = whole.structured_content["session"]["topics"]

        decline["on"] = True
        second = await client.call_tool("plan_start", {"goal": "Something else"})
        declined = await client.call_tool(
            "plan_answer", {"session_id": second.structured_content["session"]["id"], "ask_user": True}
        )
        return {
            "protocol_version": client.protocol_version,
            "offered": "ask_user" in offer,
            "is_error": asked.is_error,
            "status": report["session"]["session"]["status"],
            "forms": forms,
            "features": next(t["answer"] for t in topics if t["topic"] == "requirements.features"),
            "users": next(t["answer"] for t in topics if t["topic"] == "requirements.users"),
            "tests": next(t["answer"] for t in topics if t["topic"] == "verification.tests"),
            "unanswered": [t["topic"] for t in topics if t["answer"] is None and t["assumed"] is None],
            "declined_status": declined.structured_content["session"]["session"]["status"],
            "declined_next_step": declined.structured_content["session"]["next_step"],
            "declined_recorded": len(declined.structured_content["recorded"]),
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
