"""Conformance peer: the official, unmodified Feishu Python SDK (lark-oapi) pointed at the Aviary
emulator. Used by tests/tests/official_sdks.rs.

Usage: python_peer.py DOMAIN   (or AVIARY_EMULATOR_DOMAIN), app id / secret from
AVIARY_APP_ID / AVIARY_APP_SECRET (defaults match the emulator's).

Stdout carries one JSON line per handled event or callback, nothing else: the SDK's log handler
(which writes to stdout) is pointed at stderr. That is configuration, not a change to the SDK. The process never exits by itself: lark_oapi.ws.Client.start() blocks forever and has
no stop method, so the test kills it.
"""

import json
import os
import sys

# The endpoint request goes through `requests`, which honours proxy variables.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

import lark_oapi as lark  # noqa: E402
from lark_oapi.event.callback.model.p2_card_action_trigger import (  # noqa: E402
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)


def route_sdk_logs_to_stderr():
    from lark_oapi.core.log import handler

    handler.setStream(sys.stderr)


# Benchmarks set AVIARY_PEER_QUIET=1: a trivial handler that prints nothing, SDK logs at ERROR.
QUIET = bool(os.environ.get("AVIARY_PEER_QUIET"))


def emit(record):
    if QUIET:
        return
    record["peer"] = "python"
    print(json.dumps(record), flush=True)


def on_message(data: lark.im.v1.P2ImMessageReceiveV1) -> None:
    emit(
        {
            "event_type": "im.message.receive_v1",
            "event_id": data.header.event_id,
            "message_id": data.event.message.message_id,
            "text": data.event.message.content,
        }
    )


def on_card(data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
    emit({"event_type": "card.action.trigger", "event_id": data.header.event_id})
    return P2CardActionTriggerResponse({"toast": {"type": "info", "content": "ok"}})


def main():
    route_sdk_logs_to_stderr()
    domain = sys.argv[1] if len(sys.argv) > 1 else os.environ["AVIARY_EMULATOR_DOMAIN"]
    app_id = os.environ.get("AVIARY_APP_ID", "cli_0123456789abcdef")
    app_secret = os.environ.get("AVIARY_APP_SECRET", "emulator-secret")
    handler = (
        lark.EventDispatcherHandler.builder("", "")
        .register_p2_im_message_receive_v1(on_message)
        .register_p2_card_action_trigger(on_card)
        .build()
    )
    client = lark.ws.Client(
        app_id,
        app_secret,
        event_handler=handler,
        domain=domain,
        log_level=lark.LogLevel.ERROR if QUIET else lark.LogLevel.DEBUG,
    )
    client.start()


if __name__ == "__main__":
    main()
