"""aviary-guest: the Python SDK for Aviary handlers (world ``aviary:handler@0.1.0``).

A handler is a module with a function ``handle(event: Event) -> Outcome``; build it into a
WebAssembly component with ``python -m aviary_guest build app.py -o app.wasm`` (componentize-py).

With instance reuse on (the default for Python components), **module globals persist between
events** served by the same instance; never rely on them being present or absent.
"""

from __future__ import annotations

import json
import traceback  # imported at build time: componentize-py bundles only what is imported
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from . import events, feishu, http, kv, stream
from .events import EVENT_MODELS, TypedEvent

__all__ = [
    "Event",
    "Outcome",
    "TypedEvent",
    "EVENT_MODELS",
    "config",
    "done",
    "events",
    "feishu",
    "http",
    "kv",
    "log",
    "stream",
    "reject",
    "respond",
    "retry",
    "toast",
    "toast_error",
    "toast_info",
    "toast_success",
    "toast_warning",
    "raw_card",
    "template_card",
    "card_outcome",
    "url_preview",
]

# ---- host ---------------------------------------------------------------------------------

_LEVELS = ("trace", "debug", "info", "warn", "error")


class _Host:
    """The host functions; the generated entry installs the real ones (``_install``)."""

    log: Callable[[str, str], None]
    config_get: Callable[[str], Optional[str]]

    def __init__(self) -> None:
        self.log = _no_host_log
        self.config_get = _no_host_config


def _no_host_log(level: str, message: str) -> None:
    raise RuntimeError("aviary_guest: no host functions; build the handler with `python -m aviary_guest build`")


def _no_host_config(key: str) -> Optional[str]:
    return _no_host_log("", "")


_host = _Host()


def _install(log_fn: Callable[[str, str], None], config_fn: Callable[[str], Optional[str]]) -> None:
    _host.log = log_fn
    _host.config_get = config_fn


# ---- outcomes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What handling came to: ``tag`` is ``done``, ``respond``, ``retry`` or ``reject``."""

    tag: str
    value: Optional[str] = None


def done() -> Outcome:
    """Handled."""
    return Outcome("done")


def respond(body: Any) -> Outcome:
    """Handled; ``body`` is the callback's answer. A ``str`` must already be JSON (checked);
    anything else is serialized with ``json.dumps``. A body that is neither gives ``reject``."""
    if isinstance(body, str):
        try:
            json.loads(body)
        except ValueError as e:
            return reject(f"respond: the body string is not JSON: {e}")
        return Outcome("respond", body)
    try:
        return Outcome("respond", json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    except (TypeError, ValueError) as e:
        return reject(f"respond: the body cannot be serialized: {e}")


def retry(reason: str) -> Outcome:
    """Failed for now: acked 500 so Feishu redelivers; the reason is logged."""
    return Outcome("retry", str(reason))


def reject(reason: str) -> Outcome:
    """Will never succeed: not redelivered; the reason is logged."""
    return Outcome("reject", str(reason))


def toast(kind: str, content: str, i18n: Optional[Dict[str, str]] = None) -> Outcome:
    """Answers a card callback with a toast (``kind``: info, success, warning, error)."""
    t: Dict[str, Any] = {"type": kind, "content": str(content)}
    if i18n:
        t["i18n"] = dict(i18n)
    return respond({"toast": t})


def toast_info(content: str, i18n: Optional[Dict[str, str]] = None) -> Outcome:
    return toast("info", content, i18n)


def toast_success(content: str, i18n: Optional[Dict[str, str]] = None) -> Outcome:
    return toast("success", content, i18n)


def toast_warning(content: str, i18n: Optional[Dict[str, str]] = None) -> Outcome:
    return toast("warning", content, i18n)


def toast_error(content: str, i18n: Optional[Dict[str, str]] = None) -> Outcome:
    return toast("error", content, i18n)


def raw_card(card: Any) -> Dict[str, Any]:
    """A card update that replaces the card with this card JSON (for :func:`card_outcome`)."""
    return {"type": "raw", "data": card}


def template_card(template_id: str, variables: Any = None, version: Optional[str] = None) -> Dict[str, Any]:
    """A card update that replaces the card with a card template."""
    data: Dict[str, Any] = {"template_id": template_id}
    if version:
        data["template_version_name"] = version
    if variables is not None:
        data["template_variable"] = variables
    return {"type": "template", "data": data}


def card_outcome(card: Dict[str, Any], toast: Optional[Dict[str, Any]] = None) -> Outcome:
    """Answers a card callback by replacing the card (:func:`raw_card`, :func:`template_card`),
    with a toast (``{"type": "success", "content": "…"}``) when given. For work longer than the
    3 s a callback may take, answer (or let the runtime ack at ``dispatch.callback_deadline_ms``)
    and update the card later with ``feishu.update_card(token, card)``."""
    body: Dict[str, Any] = {}
    if toast:
        body["toast"] = toast
    body["card"] = card
    return respond(body)


def url_preview(title: str, image_key: Optional[str] = None, i18n_title: Optional[Dict[str, str]] = None,
                card: Optional[Dict[str, Any]] = None) -> Outcome:
    """Answers ``url.preview.get`` with an inline preview titled ``title`` (optionally an icon,
    titles per language and a card)."""
    inline: Dict[str, Any] = {"title": str(title)}
    if i18n_title:
        inline["i18n_title"] = dict(i18n_title)
    if image_key:
        inline["image_key"] = image_key
    body: Dict[str, Any] = {"inline": inline}
    if card:
        body["card"] = card
    return respond(body)


# ---- logs and config ----------------------------------------------------------------------


class _Log:
    """``log.info("…")`` and friends: lines in the runtime's log, tagged with handler, event
    and trace id. Extra arguments are joined with spaces (non-strings as JSON)."""

    @staticmethod
    def _write(level: str, args: tuple) -> None:
        parts = []
        for a in args:
            if isinstance(a, str):
                parts.append(a)
            else:
                try:
                    parts.append(json.dumps(a, ensure_ascii=False, default=str))
                except (TypeError, ValueError):
                    parts.append(str(a))
        _host.log(level, " ".join(parts))

    def trace(self, *args: Any) -> None:
        self._write("trace", args)

    def debug(self, *args: Any) -> None:
        self._write("debug", args)

    def info(self, *args: Any) -> None:
        self._write("info", args)

    def warn(self, *args: Any) -> None:
        self._write("warn", args)

    warning = warn

    def error(self, *args: Any) -> None:
        self._write("error", args)


log = _Log()


class _Config:
    """This handler's ``[handler.config]`` settings from the manifest."""

    @staticmethod
    def get(key: str, default: Optional[str] = None) -> Optional[str]:
        value = _host.config_get(str(key))
        return default if value is None else value


config = _Config()


# ---- events -------------------------------------------------------------------------------


@dataclass
class Event:
    """One Feishu event: the routing fields the runtime extracted and the raw envelope."""

    dedupe_id: str
    event_id: str
    event_type: str
    #: ``"event"`` or ``"callback"`` (a card callback, answered in the ack).
    kind: str
    app_id: str
    tenant_key: str
    #: Epoch milliseconds as a string, as Feishu sent it.
    create_time: str
    #: 1 for the first delivery, 2 for the first retry, …
    attempt: int
    #: The whole JSON envelope, as received.
    envelope: str

    def is_callback(self) -> bool:
        return self.kind == "callback"

    def json(self) -> Any:
        """The whole envelope, parsed (raises ``ValueError`` for invalid JSON)."""
        cached = self.__dict__.get("_json")
        if cached is None:
            cached = json.loads(self.envelope)
            self.__dict__["_json"] = cached
        return cached

    def body(self) -> Dict[str, Any]:
        """The envelope's ``event`` object (v2 and v1 envelopes), ``{}`` when absent."""
        e = self.json().get("event") if isinstance(self.json(), dict) else None
        return e if isinstance(e, dict) else {}

    def typed(self) -> Any:
        """The body as the dataclass of its event type (``events.EVENT_MODELS``), or
        ``events.Other`` for types without a model. Missing or null fields get defaults."""
        return events.parse(self.event_type, self.body())

    @staticmethod
    def from_envelope(envelope: str, attempt: int = 1) -> "Event":
        """An event built from an envelope JSON string the way the runtime does (for tests)."""
        v = json.loads(envelope)
        h = v.get("header") if isinstance(v.get("header"), dict) else None
        ev = v.get("event") if isinstance(v.get("event"), dict) else {}
        event_type = (h or {}).get("event_type") if h else ev.get("type", "")
        event_id = h.get("event_id", "") if h else v.get("uuid", "")
        message_id = (ev.get("message") or {}).get("message_id") if isinstance(ev.get("message"), dict) else None
        callback = event_type in ("card.action.trigger", "url.preview.get")
        return Event(
            dedupe_id=message_id if event_type.startswith("im.message.") and message_id else event_id,
            event_id=event_id,
            event_type=event_type,
            kind="callback" if callback else "event",
            app_id=(h or ev).get("app_id", ""),
            tenant_key=(h or ev).get("tenant_key", ""),
            create_time=str(h.get("create_time", "") if h else v.get("ts", "")),
            attempt=attempt,
            envelope=envelope,
        )


# ---- the export glue (used by the generated entry; not part of the API) -------------------


def _run(handle: Callable[[Event], Any], event: Event) -> Outcome:
    """Runs the user's handler. An exception is logged at error level with its traceback (the
    runtime reports that line as the panic message) and re-raised, so the instance traps and
    is discarded, like a Rust panic."""
    try:
        out = handle(event)
    except BaseException as e:
        try:
            _host.log("error", "handler raised " + "".join(traceback.format_exception(e)).rstrip())
        except BaseException:
            pass
        raise
    if out is None:
        return done()
    if isinstance(out, Outcome) and out.tag in ("done", "respond", "retry", "reject"):
        if out.tag != "done" and not isinstance(out.value, str):
            return reject(f"handler returned {out.tag} without a string value")
        return out
    return reject(f"handler returned {out!r}, not an Outcome (use done(), respond(), retry() or reject())")
