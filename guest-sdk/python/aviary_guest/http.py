"""Outbound HTTP for handlers, ``requests``-style, over the host import ``http-send``.

::

    from aviary_guest import config, http

    r = http.post("https://api.example.com/v1/chat",
                  json={"prompt": "hi"},
                  headers={"Authorization": f"Bearer {config.get('api_key')}"})
    r.raise_for_status()
    answer = r.json()

The host allows only what the manifest key ``allowed_outbound_hosts`` lists, follows redirects
(each hop checked), applies the ``[handler.http]`` limits and adds no credential of its own. An
answer with any status is a :class:`Response`; no answer (denied, timed out, too large,
connection failed) raises :class:`RequestException` with the host's reason.
"""

from __future__ import annotations

import json as _json
from typing import Any, Callable, Dict, Iterable, Iterator, Mapping, MutableMapping, Optional, Tuple, Union
from urllib.parse import urlencode

__all__ = [
    "CaseInsensitiveDict",
    "HTTPError",
    "RequestException",
    "Response",
    "delete",
    "get",
    "head",
    "patch",
    "post",
    "put",
    "request",
]

_Send = Callable[[str, str, str, bytes], Tuple[int, str, bytes]]
_send: Optional[_Send] = None


def _install(send: _Send) -> None:
    """Called by the generated entry with the ``http-send`` import."""
    global _send
    _send = send


class RequestException(Exception):
    """No answer: the host's reason (a denial names the handler and the manifest key)."""


class HTTPError(RequestException):
    """Raised by :meth:`Response.raise_for_status` for a 4xx or 5xx answer."""

    def __init__(self, message: str, response: "Response") -> None:
        super().__init__(message)
        self.response = response


class CaseInsensitiveDict(MutableMapping[str, str]):
    """Header names compared without case (values of repeated names joined by ``, ``)."""

    def __init__(self, data: Optional[Union[Mapping[str, str], Iterable[Tuple[str, str]]]] = None) -> None:
        self._d: Dict[str, Tuple[str, str]] = {}
        if data is not None:
            items = data.items() if isinstance(data, Mapping) else data
            for k, v in items:
                self[k] = v

    def __setitem__(self, key: str, value: str) -> None:
        self._d[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> str:
        return self._d[key.lower()][1]

    def __delitem__(self, key: str) -> None:
        del self._d[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._d.values())

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Response:
    """An answer, whatever its status (``requests.Response``'s common attributes)."""

    def __init__(self, status_code: int, headers: CaseInsensitiveDict, content: bytes, url: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def ok(self) -> bool:
        """True unless the status is 4xx or 5xx (as in requests)."""
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise HTTPError(f"HTTP {self.status_code}: {self.text[:200]}", self)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


def _block(headers: Optional[Mapping[str, str]]) -> str:
    lines = []
    for name, value in (headers or {}).items():
        name, value = str(name), str(value)
        if any(c in name for c in ":\r\n") or any(c in value for c in "\r\n"):
            raise RequestException(f"invalid header {name!r}: no line breaks (and no ':' in names)")
        lines.append(f"{name}: {value}\n")
    return "".join(lines)


def _parse(block: str) -> CaseInsensitiveDict:
    out = CaseInsensitiveDict()
    for line in block.split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            name, value = name.strip(), value.strip()
            out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _error_text(e: BaseException) -> str:
    value = getattr(e, "value", None)
    return value if isinstance(value, str) else str(e)


def request(
    method: str,
    url: str,
    *,
    params: Optional[Mapping[str, Any]] = None,
    data: Optional[Union[str, bytes, Mapping[str, Any]]] = None,
    json: Any = None,
    headers: Optional[Mapping[str, str]] = None,
) -> Response:
    """Sends one request and returns its :class:`Response`. ``params`` are appended to the
    query, ``data`` is the body (a mapping is form-encoded), ``json`` is serialized with
    ``Content-Type: application/json``."""
    if _send is None:
        raise RuntimeError("aviary_guest: no host functions; build the handler with `python -m aviary_guest build`")
    hdrs = dict(headers or {})
    lower = {k.lower() for k in hdrs}
    if params:
        url = url + ("&" if "?" in url else "?") + urlencode(params)
    body = b""
    if json is not None:
        body = _json.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
        if "content-type" not in lower:
            hdrs["Content-Type"] = "application/json"
    elif isinstance(data, Mapping):
        body = urlencode(data).encode()
        if "content-type" not in lower:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif isinstance(data, str):
        body = data.encode()
    elif isinstance(data, (bytes, bytearray)):
        body = bytes(data)
    elif data is not None:
        raise RequestException("data is a str, bytes or a mapping (pass json= for JSON)")
    try:
        status, block, content = _send(method.upper(), url, _block(hdrs), body)
    except RequestException:
        raise
    except Exception as e:  # the WIT `err` (componentize-py raises it as an exception)
        raise RequestException(_error_text(e)) from None
    return Response(status, _parse(block), bytes(content), url)


def get(url: str, **kwargs: Any) -> Response:
    return request("GET", url, **kwargs)


def head(url: str, **kwargs: Any) -> Response:
    return request("HEAD", url, **kwargs)


def post(url: str, **kwargs: Any) -> Response:
    return request("POST", url, **kwargs)


def put(url: str, **kwargs: Any) -> Response:
    return request("PUT", url, **kwargs)


def patch(url: str, **kwargs: Any) -> Response:
    return request("PATCH", url, **kwargs)


def delete(url: str, **kwargs: Any) -> Response:
    return request("DELETE", url, **kwargs)
