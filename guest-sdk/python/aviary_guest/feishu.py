"""The Feishu/Lark OpenAPI as the app, through the host's ``feishu-request`` and
``feishu-upload`` imports.

The handler must be granted the paths in the manifest (``openapi =
["/open-apis/im/v1/messages"]``). The host adds the token, paces sends under Feishu's rate
limits, and gives send and reply an idempotency ``uuid`` derived from the app, the handler, the
event and the index of the call in the run, so a re-run of the same event sends nothing twice
(keep the calls of a run in a deterministic order). Every function raises :class:`FeishuError`
when the call is refused or fails::

    from aviary_guest import feishu, retry

    try:
        feishu.reply_text(ev.message.message_id, "got it")
    except feishu.FeishuError as e:
        return retry(f"reply failed: {e}")   # the retry sends the same uuid
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Optional, Tuple

__all__ = [
    "FeishuError",
    "RECEIVE_ID_TYPES",
    "reply",
    "reply_text",
    "request",
    "request_json",
    "send",
    "send_text",
    "update_card",
    "upload",
    "upload_file",
    "upload_image",
]

RECEIVE_ID_TYPES = ("open_id", "union_id", "user_id", "email", "chat_id")

Answer = Tuple[bool, str]


class FeishuError(Exception):
    """A refused or failed OpenAPI call; the message names the call and why (a denial,
    Feishu's code, ``rate limited``, a timeout, …)."""


def _no_host(*_args: Any) -> Answer:
    raise RuntimeError("aviary_guest: no host functions; build the handler with `python -m aviary_guest build`")


class _Host:
    request: Callable[[str, str, str], Answer] = staticmethod(_no_host)
    upload: Callable[[str, str, str, str, bytes], Answer] = staticmethod(_no_host)


def _install(request_fn: Callable[[str, str, str], Answer], upload_fn: Callable[..., Answer]) -> None:
    """Installs the host functions (the generated entry does; tests install stand-ins). Each
    answers ``(True, body)`` or ``(False, error message)``."""
    _Host.request = staticmethod(request_fn)
    _Host.upload = staticmethod(upload_fn)


def _unwrap(answer: Answer) -> str:
    ok, value = answer
    if not ok:
        raise FeishuError(value)
    return value


def request(method: str, path: str, body: str = "") -> str:
    """``method path`` (query included; starts with ``/open-apis/``) with ``body`` (JSON text,
    ``""`` for none): the answer's body (JSON text) of a 2xx answer with code 0."""
    return _unwrap(_Host.request(str(method), str(path), str(body)))


def _parse(method: str, path: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise FeishuError(f"{method} {path}: the answer is not JSON: {e}") from None


def request_json(method: str, path: str, body: Any = None) -> Any:
    """:func:`request` with a JSON body (``None``: no body), answering the parsed JSON."""
    text = "" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return _parse(method, path, request(method, path, text))


_ID = re.compile(r"[A-Za-z0-9_-]+")


def _check_id(what: str, value: str) -> None:
    if not value:
        raise FeishuError(f"the {what} is empty")
    if not _ID.fullmatch(value):
        bad = next(c for c in value if not _ID.fullmatch(c))
        raise FeishuError(f"the {what} {value!r} holds {bad!r}: only letters, digits, '_' and '-' are taken")


def _content(content: Any) -> str:
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def _data(answer: Any, key: str) -> str:
    data = answer.get("data") if isinstance(answer, dict) else None
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, str) and value:
        return value
    raise FeishuError(f"the answer has no data.{key}: {json.dumps(answer)}")


def reply(message_id: str, msg_type: str, content: Any) -> str:
    """Replies to ``message_id`` with ``msg_type`` and ``content`` (the content object, e.g.
    ``{"text": "hi"}``); returns the new message's id."""
    _check_id("message id", message_id)
    path = f"/open-apis/im/v1/messages/{message_id}/reply"
    return _data(request_json("POST", path, {"msg_type": msg_type, "content": _content(content)}), "message_id")


def reply_text(message_id: str, text: str) -> str:
    """Replies to ``message_id`` with plain text; returns the new message's id."""
    return reply(message_id, "text", {"text": str(text)})


def send(receive_id_type: str, receive_id: str, msg_type: str, content: Any) -> str:
    """Sends to ``receive_id`` of type ``receive_id_type`` (open_id, union_id, user_id, email,
    chat_id); returns the new message's id."""
    if receive_id_type not in RECEIVE_ID_TYPES:
        raise FeishuError(f"receive_id_type {receive_id_type!r} is not one of {', '.join(RECEIVE_ID_TYPES)}")
    path = f"/open-apis/im/v1/messages?receive_id_type={receive_id_type}"
    body = {"receive_id": str(receive_id), "msg_type": msg_type, "content": _content(content)}
    return _data(request_json("POST", path, body), "message_id")


def send_text(receive_id_type: str, receive_id: str, text: str) -> str:
    """Sends plain text (see :func:`send`); returns the new message's id."""
    return send(receive_id_type, receive_id, "text", {"text": str(text)})


def update_card(token: str, card: Any) -> None:
    """Updates a card after its callback was answered (Feishu's deferred update,
    ``POST /open-apis/interactive/v1/card/update``): ``token`` is the callback's
    (``CardAction.token``; valid 30 minutes, for two updates), ``card`` the whole new card JSON."""
    if not token:
        raise FeishuError("the callback token is empty")
    request_json("POST", "/open-apis/interactive/v1/card/update", {"token": token, "card": card})


def upload(path: str, form: Optional[Dict[str, str]], file_field: str, file_name: str, data: bytes) -> str:
    """A multipart POST to ``path``: the text fields of ``form`` and one file part
    ``file_field`` holding ``data`` as ``file_name``; the answer's body (JSON text). At most
    30 MiB."""
    fields = json.dumps(dict(form or {}), ensure_ascii=False, separators=(",", ":"))
    return _unwrap(_Host.upload(str(path), fields, str(file_field), str(file_name), bytes(data)))


def upload_image(data: bytes, image_type: str = "message") -> str:
    """Uploads an image (at most 10 MB) for messages (``"message"``) or avatars
    (``"avatar"``); returns its image_key. Granted by ``POST /open-apis/im/v1/images``."""
    path = "/open-apis/im/v1/images"
    return _data(_parse("POST", path, upload(path, {"image_type": image_type}, "image", "image", data)), "image_key")


def upload_file(data: bytes, file_type: str, file_name: str) -> str:
    """Uploads a file (at most 30 MB) of ``file_type`` (opus, mp4, pdf, doc, xls, ppt, stream)
    named ``file_name``; returns its file_key. Granted by ``POST /open-apis/im/v1/files``."""
    path = "/open-apis/im/v1/files"
    form = {"file_type": file_type, "file_name": file_name}
    return _data(_parse("POST", path, upload(path, form, "file", file_name, data)), "file_key")
