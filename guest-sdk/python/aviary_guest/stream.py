"""Streamed answers: a card message whose text grows as the handler produces it, through the
host imports ``card-stream-set`` and ``card-stream-flush``.

:meth:`CardStream.reply` creates a CardKit card in streaming mode and replies with it;
:meth:`CardStream.push` appends text and returns at once: the host sends the whole text so
far, paced within Feishu's 10 updates per second per card, coalescing what arrives in between;
:meth:`CardStream.finish` waits until the final text has landed and turns streaming mode off.
Grants: ``openapi = ["POST /open-apis/im/v1/messages", "/open-apis/cardkit/v1/cards"]``::

    from aviary_guest.stream import CardStream

    answer = CardStream.reply(ev.message.message_id)
    for token in tokens:
        answer.push(token)
    answer.finish()
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Tuple

from . import feishu
from .feishu import FeishuError

__all__ = ["CardStream", "STREAM_ELEMENT", "streaming_card"]

#: The element_id of a stream's text.
STREAM_ELEMENT = "aviary_stream"

Answer = Tuple[bool, Any]


def _no_host(*_args: Any) -> Answer:
    raise RuntimeError("aviary_guest: no host functions; build the handler with `python -m aviary_guest build`")


class _Host:
    set: Callable[[str, str, str], Answer] = staticmethod(_no_host)
    flush: Callable[[str], Answer] = staticmethod(_no_host)


def _install(set_fn: Callable[[str, str, str], Answer], flush_fn: Callable[[str], Answer]) -> None:
    """Installs the host functions (the generated entry does; tests install stand-ins). Each
    answers ``(True, value)`` or ``(False, error message)``."""
    _Host.set = staticmethod(set_fn)
    _Host.flush = staticmethod(flush_fn)


def _unwrap(answer: Answer) -> Any:
    ok, value = answer
    if not ok:
        raise FeishuError(value)
    return value


def streaming_card() -> Dict[str, Any]:
    """The card JSON 2.0 a stream starts with: streaming mode on, one empty markdown element."""
    return {
        "schema": "2.0",
        "config": {"streaming_mode": True, "summary": {"content": ""}},
        "body": {"elements": [{"tag": "markdown", "content": "", "element_id": STREAM_ELEMENT}]},
    }


def _create_card() -> str:
    answer = feishu.request_json(
        "POST", "/open-apis/cardkit/v1/cards",
        {"type": "card_json", "data": json.dumps(streaming_card(), separators=(",", ":"))},
    )
    card_id = (answer.get("data") or {}).get("card_id") if isinstance(answer, dict) else None
    if not isinstance(card_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", card_id):
        raise FeishuError(f"the answer has no usable data.card_id: {json.dumps(answer)}")
    return card_id


def _content(card_id: str) -> Dict[str, Any]:
    return {"type": "card", "data": {"card_id": card_id}}


class CardStream:
    """A streamed card message."""

    def __init__(self, card_id: str, message_id: str) -> None:
        self.card_id = card_id
        self.message_id = message_id
        self.text = ""

    @classmethod
    def reply(cls, message_id: str) -> "CardStream":
        """Creates the card and replies with it to ``message_id``."""
        card_id = _create_card()
        return cls(card_id, feishu.reply(message_id, "interactive", _content(card_id)))

    @classmethod
    def send(cls, receive_id_type: str, receive_id: str) -> "CardStream":
        """Creates the card and sends it to ``receive_id``."""
        card_id = _create_card()
        return cls(card_id, feishu.send(receive_id_type, receive_id, "interactive", _content(card_id)))

    def push(self, chunk: str) -> None:
        """Appends ``chunk``; returns at once (the host sends it, paced)."""
        self.text += str(chunk)
        _unwrap(_Host.set(self.card_id, STREAM_ELEMENT, self.text))

    def set(self, text: str) -> None:
        """Replaces the whole text."""
        self.text = str(text)
        _unwrap(_Host.set(self.card_id, STREAM_ELEMENT, self.text))

    def finish(self) -> str:
        """Waits until the final text has landed, then turns streaming mode off; returns it."""
        _unwrap(_Host.set(self.card_id, STREAM_ELEMENT, self.text))
        sequence = _unwrap(_Host.flush(self.card_id))
        feishu.request_json(
            "PATCH", f"/open-apis/cardkit/v1/cards/{self.card_id}/settings",
            {"settings": json.dumps({"config": {"streaming_mode": False}}, separators=(",", ":")),
             "sequence": sequence + 1},
        )
        return self.text
