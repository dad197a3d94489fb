"""Typed message content: the ``content`` JSON string of ``im.message.receive_v1``, one
dataclass per ``message_type``, and its plain-text rendering.

The rendering is the same in every Aviary SDK (checked against
``examples/events/messages/expected.json``): ``text`` as is; ``post``, ``todo`` and
``interactive`` as their title and one line per paragraph; other types as a tag such as
``[image]`` or ``[file: report.pdf]``; unknown types as ``""``. ``@_user_N`` placeholders are
kept (see ``Message.text_with_names`` and ``Message.text_without_mentions``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Union

from ._model import _from_dict

#: The placeholder Feishu puts in the text for an @all.
AT_ALL = "@_all"


@dataclass
class PostElement:
    """One element of a paragraph; which fields are set depends on ``tag`` (``text``, ``a``,
    ``at``, ``img``, ``media``, ``emotion``, ``code_block``, ``hr``, ``md``)."""

    tag: str = ""
    text: str = ""
    href: str = ""
    #: ``at``: a placeholder such as ``@_user_1`` (or ``@_all``), or an id.
    user_id: str = ""
    user_name: str = ""
    image_key: str = ""
    file_key: str = ""
    emoji_type: str = ""
    language: str = ""
    style: List[str] = field(default_factory=list)
    width: int = 0
    height: int = 0

    def plain_text(self) -> str:
        """``at`` as its placeholder (or ``@name``), ``img`` as ``[image]``, ``media`` as
        ``[video]``, ``emotion`` as ``[SMILE]``, ``hr`` as ``---``, the others as their text."""
        if self.tag == "a" and not self.text:
            return self.href
        if self.tag == "at":
            if self.user_id == "all":
                return AT_ALL
            if self.user_id.startswith("@_"):
                return self.user_id
            return "@" + (self.user_name or self.user_id)
        return {"img": "[image]", "media": "[video]", "emotion": f"[{self.emoji_type}]", "hr": "---"}.get(
            self.tag, self.text
        )


def _paragraphs_text(title: str, paragraphs: List[List[PostElement]]) -> str:
    lines = [title] if title else []
    lines += ["".join(e.plain_text() for e in p) for p in paragraphs]
    return "\n".join(lines)


@dataclass
class TextContent:
    """``text``; ``text`` holds ``@_user_N`` (and ``@_all``) placeholders for mentions."""

    KIND = "text"
    text: str = ""

    def plain_text(self) -> str:
        return self.text


@dataclass
class PostContent:
    """``post`` (rich text): a title and paragraphs of elements."""

    KIND = "post"
    title: str = ""
    content: List[List[PostElement]] = field(default_factory=list)

    def plain_text(self) -> str:
        return _paragraphs_text(self.title, self.content)


@dataclass
class ImageContent:
    KIND = "image"
    image_key: str = ""

    def plain_text(self) -> str:
        return "[image]"


@dataclass
class FileContent:
    KIND = "file"
    file_key: str = ""
    file_name: str = ""

    def plain_text(self) -> str:
        return f"[file: {self.file_name}]"


@dataclass
class AudioContent:
    KIND = "audio"
    file_key: str = ""
    #: Milliseconds.
    duration: int = 0

    def plain_text(self) -> str:
        return "[audio]"


@dataclass
class MediaContent:
    """``media``: a video with a cover image."""

    KIND = "media"
    file_key: str = ""
    image_key: str = ""
    file_name: str = ""
    #: Milliseconds.
    duration: int = 0

    def plain_text(self) -> str:
        return f"[video: {self.file_name}]"


@dataclass
class StickerContent:
    KIND = "sticker"
    file_key: str = ""

    def plain_text(self) -> str:
        return "[sticker]"


@dataclass
class InteractiveContent:
    """``interactive`` (a card), in the reduced form Feishu delivers."""

    KIND = "interactive"
    title: str = ""
    elements: List[List[PostElement]] = field(default_factory=list)

    def plain_text(self) -> str:
        return _paragraphs_text(self.title, self.elements)


@dataclass
class ShareChatContent:
    KIND = "share_chat"
    chat_id: str = ""

    def plain_text(self) -> str:
        return f"[chat: {self.chat_id}]"


@dataclass
class ShareUserContent:
    KIND = "share_user"
    user_id: str = ""

    def plain_text(self) -> str:
        return f"[user: {self.user_id}]"


@dataclass
class MergeForwardContent:
    """``merge_forward``: fetch the sub-messages through the OpenAPI."""

    KIND = "merge_forward"
    content: str = ""

    def plain_text(self) -> str:
        return "[merged messages]"


@dataclass
class LocationContent:
    KIND = "location"
    name: str = ""
    longitude: str = ""
    latitude: str = ""

    def plain_text(self) -> str:
        return f"[location: {self.name}]"


@dataclass
class TodoContent:
    KIND = "todo"
    task_id: str = ""
    summary: PostContent = field(default_factory=PostContent)
    #: Epoch milliseconds, as a string.
    due_time: str = ""

    def plain_text(self) -> str:
        return self.summary.plain_text()


@dataclass
class DividerText:
    text: str = ""
    i18n_text: Dict[str, str] = field(default_factory=dict)


@dataclass
class SystemContent:
    """``system``: a chat notice such as ``{from_user} invited {to_chatters} to this chat.``"""

    KIND = "system"
    template: str = ""
    from_user: List[str] = field(default_factory=list)
    to_chatters: List[str] = field(default_factory=list)
    divider_text: DividerText = field(default_factory=DividerText)

    def plain_text(self) -> str:
        if not self.template:
            return self.divider_text.text
        return self.template.replace("{from_user}", ", ".join(self.from_user)).replace(
            "{to_chatters}", ", ".join(self.to_chatters)
        )


@dataclass
class UnknownContent:
    """A ``message_type`` without a model: ``raw`` is the content JSON as received."""

    KIND = "unknown"
    message_type: str = ""
    raw: Any = None

    def plain_text(self) -> str:
        return ""


MessageContent = Union[
    TextContent,
    PostContent,
    ImageContent,
    FileContent,
    AudioContent,
    MediaContent,
    StickerContent,
    InteractiveContent,
    ShareChatContent,
    ShareUserContent,
    MergeForwardContent,
    LocationContent,
    TodoContent,
    SystemContent,
    UnknownContent,
]

#: message_type -> content dataclass.
CONTENT_MODELS: Dict[str, type] = {
    m.KIND: m
    for m in (
        TextContent,
        PostContent,
        ImageContent,
        FileContent,
        AudioContent,
        MediaContent,
        StickerContent,
        InteractiveContent,
        ShareChatContent,
        ShareUserContent,
        MergeForwardContent,
        LocationContent,
        TodoContent,
        SystemContent,
    )
}


def _unwrap_locale(v: Any) -> Any:
    """A post sent with locales (``{"zh_cn": {...}}``) becomes its first locale (``zh_cn``,
    ``en_us``, ``ja_jp``, then the first in key order); the received form has none."""
    if not isinstance(v, dict) or "content" in v or "title" in v:
        return v
    for key in ["zh_cn", "en_us", "ja_jp"] + sorted(v):
        if isinstance(v.get(key), dict):
            return v[key]
    return v


def parse_content(message_type: str, content: str) -> MessageContent:
    """``content`` (a JSON string) as the dataclass for ``message_type``; ``UnknownContent``
    for other types. Raises ``ValueError`` when ``content`` is not JSON."""
    v = json.loads(content)
    model = CONTENT_MODELS.get(message_type)
    if model is None:
        return UnknownContent(message_type=message_type, raw=v)
    if model is PostContent:
        v = _unwrap_locale(v)
    return _from_dict(model, v if isinstance(v, dict) else {})
