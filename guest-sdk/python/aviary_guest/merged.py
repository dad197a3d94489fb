"""``aviary.message.merged_v1``: one turn of messages the runtime merged (burst merge per chat,
the handler's ``merge = { window_ms, max_events }`` in the manifest). The same model and
helpers as the Rust, Go and JavaScript SDKs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional

from .events import Message, MessageReceive, Sender

#: The event type of a merged turn.
MERGED_EVENT_TYPE = "aviary.message.merged_v1"


@dataclass
class MergedHeader:
    event_id: str = ""
    event_type: str = ""
    create_time: str = ""
    token: str = ""
    app_id: str = ""
    tenant_key: str = ""


@dataclass
class MergedEnvelope:
    """One original envelope of a turn."""

    schema: str = ""
    header: MergedHeader = field(default_factory=MergedHeader)
    event: MessageReceive = field(default_factory=MessageReceive)


@dataclass
class MergedMessages:
    """``aviary.message.merged_v1``: the ``im.message.receive_v1`` messages of one chat that
    arrived within the handler's merge window, in order. The event's ``dedupe_id`` is the first
    message's; the handler's outcome applies to every message of the turn."""

    EVENT_TYPE = MERGED_EVENT_TYPE
    chat_id: str = ""
    count: int = 0
    events: List[MergedEnvelope] = field(default_factory=list)

    def messages(self) -> List[MessageReceive]:
        """The messages, in order."""
        return [e.event for e in self.events]

    def message_ids(self) -> List[str]:
        """Their message ids, in order."""
        return [m.message.message_id for m in self.messages()]

    def sender(self) -> Optional[Sender]:
        """The first message's sender (``None`` for an empty turn)."""
        return self.events[0].event.sender if self.events else None

    def text(self) -> str:
        """Each message's ``text_without_mentions()`` (any type), the non-empty ones joined
        with a newline."""
        return self._join(lambda m: m.text_without_mentions())

    def text_with_names(self) -> str:
        """Each message's ``text_with_names()``, joined like ``text()``."""
        return self._join(lambda m: m.text_with_names())

    def mentions_bot(self, bot_open_id: str) -> bool:
        """Whether some message @-mentions the bot with this open_id."""
        return any(m.mentions_bot(bot_open_id) for m in self.messages())

    def _join(self, text: Callable[[Message], Optional[str]]) -> str:
        return "\n".join(t for t in (text(m.message) for m in self.messages()) if t)
