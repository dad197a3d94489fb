"""Key-value state whose writes are exactly-once with the event (the ``kv-*`` host imports).

The handler must be granted a namespace in the manifest (denied by default): ``kv = true``
(its own) or ``kv = "name"`` (shared by the handlers naming it). A run reads the committed
state plus its own writes; its writes take effect only when it returns ``done`` or
``respond``, in the same transaction that records the outcome, so a run that raises, times
out, returns ``retry`` or is cut off by a crash leaves nothing behind and its re-run starts
from the same state. :func:`increment` is added at commit time, so concurrent runs never lose
one. A refused call (a denial, a quota, a bad argument, the store) raises :class:`KvError`.

    from aviary_guest import kv

    seen = kv.increment(f"seen:{chat_id}")
    kv.set_json(f"last:{chat_id}", {"seen": seen})
"""

from __future__ import annotations

import json
from typing import Any, Callable, List, Optional


class KvError(Exception):
    """A key-value call the host refused; the message says why."""


class _Imports:
    """The host functions; the generated entry installs the real ones (``_install``), tests a
    stand-in. Each raises :class:`KvError` when the host refuses."""

    def __init__(self) -> None:
        self.get: Callable[[str], Optional[str]] = _no_host
        self.set: Callable[[str, str, int], None] = _no_host
        self.delete: Callable[[str], None] = _no_host
        self.increment: Callable[[str, int], str] = _no_host
        self.list: Callable[[str, str, int], List[str]] = _no_host


def _no_host(*_: Any) -> Any:
    raise RuntimeError("aviary_guest: no host functions; build the handler with `python -m aviary_guest build`")


_imports = _Imports()


def _install(get, set_, delete, increment, list_) -> None:
    _imports.get, _imports.set, _imports.delete = get, set_, delete
    _imports.increment, _imports.list = increment, list_


def get(key: str) -> Optional[str]:
    """The value of ``key`` as this run sees it, or ``None`` (absent or expired)."""
    return _imports.get(str(key))


def set(key: str, value: str, ttl_secs: int = 0) -> None:  # noqa: A001 (the operation's name)
    """Sets ``key`` to ``value``, expiring ``ttl_secs`` seconds after the run's commit (0: never)."""
    _imports.set(str(key), str(value), int(ttl_secs))


def delete(key: str) -> None:
    """Deletes ``key`` (absent: nothing to do)."""
    _imports.delete(str(key))


def increment(key: str, delta: int = 1) -> int:
    """Adds ``delta`` (a 32-bit integer) to the integer at ``key`` (absent: 0) and returns the
    value this run now sees. At commit the delta is added to whatever is committed then."""
    return int(_imports.increment(str(key), int(delta)))


def list(prefix: str = "", after: str = "", limit: int = 0) -> List[str]:  # noqa: A001
    """Up to ``limit`` keys (0: the most one call returns, 1,000) that start with ``prefix`` and
    sort after ``after`` (byte order; ``""`` for the first page: pass the last key to continue)."""
    return [str(k) for k in _imports.list(str(prefix), str(after), int(limit))]


def get_json(key: str, default: Any = None) -> Any:
    """The value of ``key`` parsed as JSON, or ``default`` when absent."""
    text = get(key)
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError as e:
        raise KvError(f"kv: the value of `{key}` is not JSON: {e}") from None


def set_json(key: str, value: Any, ttl_secs: int = 0) -> None:
    """Sets ``key`` to ``value`` encoded as JSON."""
    set(key, json.dumps(value, separators=(",", ":")), ttl_secs)
