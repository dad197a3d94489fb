"""``python -m aviary_guest build app.py -o app.wasm``: builds a handler module into a
WebAssembly component of world ``aviary:handler@0.1.0`` with componentize-py, and marks it
with an ``aviary:guest`` custom section (language ``python``; the runtime reuses instances of
such components by default)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

ENTRY = '''\
import wit_world
from wit_world.imports import types as _t
import aviary_guest as _sdk
import {module} as _user

_LEVELS = {{
    "trace": _t.Level.TRACE,
    "debug": _t.Level.DEBUG,
    "info": _t.Level.INFO,
    "warn": _t.Level.WARN,
    "error": _t.Level.ERROR,
}}
_sdk._install(lambda level, message: wit_world.log(_LEVELS.get(level, _t.Level.INFO), message), wit_world.config_get)
# Outbound HTTP (aviary_guest/http.py).
from aviary_guest import http as _http
_http._install(wit_world.http_send)

from componentize_py_types import Err as _Err
from aviary_guest import kv as _kv


def _refused(f):
    def call(*args):
        try:
            return f(*args)
        except _Err as e:
            raise _kv.KvError(e.value) from None
    return call


_kv._install(*(_refused(f) for f in (wit_world.kv_get, wit_world.kv_set, wit_world.kv_delete, wit_world.kv_increment, wit_world.kv_list)))

# The OpenAPI imports (sdk): answered as (ok, value), so the SDK never imports wit_world.


def _answer(f):
    def call(*args):
        try:
            return True, f(*args)
        except _Err as e:
            return False, e.value
    return call


_sdk.feishu._install(_answer(wit_world.feishu_request), _answer(wit_world.feishu_upload))
_sdk.stream._install(_answer(wit_world.card_stream_set), _answer(wit_world.card_stream_flush))

_handle = getattr(_user, "handle", None)
if not callable(_handle):
    raise RuntimeError("{file} must define a function handle(event)")


class WitWorld(wit_world.WitWorld):
    def handle(self, event):
        ev = _sdk.Event(
            dedupe_id=event.dedupe_id,
            event_id=event.event_id,
            event_type=event.event_type,
            kind="callback" if event.kind == _t.EventKind.CALLBACK else "event",
            app_id=event.app_id,
            tenant_key=event.tenant_key,
            create_time=event.create_time,
            attempt=event.attempt,
            envelope=event.envelope,
        )
        out = _sdk._run(_handle, ev)
        if out.tag == "respond":
            return _t.Outcome_Respond(out.value)
        if out.tag == "retry":
            return _t.Outcome_Retry(out.value)
        if out.tag == "reject":
            return _t.Outcome_Reject(out.value)
        return _t.Outcome_Done()
'''


class BuildError(Exception):
    pass


def find_wit(explicit: str | None) -> Path:
    # The package's own copy (installed wheels), else the repository's wit/ next to the SDK.
    candidates = [Path(explicit)] if explicit else (
        [Path(os.environ["AVIARY_WIT"])] if os.environ.get("AVIARY_WIT")
        else [Path(__file__).resolve().parent / "wit", SDK_DIR.parent.parent / "wit"]
    )
    for c in candidates:
        if (c / "handler.wit").is_file() or (c.is_file() and c.suffix == ".wit"):
            return c
    raise BuildError(
        f"cannot find wit/handler.wit (looked in {', '.join(map(str, candidates))}); pass --wit <dir> or set AVIARY_WIT"
    )


def find_componentize_py() -> str:
    here = Path(sys.executable).parent / "componentize-py"
    if here.exists():
        return str(here)
    found = shutil.which("componentize-py")
    if found:
        return found
    raise BuildError("componentize-py not found: pip install componentize-py==0.25.1")


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def custom_section(name: str, payload: str) -> bytes:
    """A component-level custom section (id 0)."""
    n = name.encode()
    body = _leb128(len(n)) + n + payload.encode()
    return b"\x00" + _leb128(len(body)) + body


def marker() -> str:
    return json.dumps({"language": "python", "engine": "componentize-py", "sdk": f"aviary-guest {VERSION}"})


def build(source: str, output: str, wit: str | None = None) -> dict:
    started = time.monotonic()
    src = Path(source).resolve()
    if not src.is_file():
        raise BuildError(f"{source}: no such file")
    if src.suffix != ".py":
        raise BuildError(f"{source}: expected a .py module")
    module = src.stem
    if not module.isidentifier() or module in ("wit_world", "aviary_guest", "aviary_app"):
        raise BuildError(f"{source}: `{module}` cannot be a module name; rename the file")
    wit_dir = find_wit(wit)
    tool = find_componentize_py()
    with tempfile.TemporaryDirectory(prefix="aviary-py-") as tmp:
        (Path(tmp) / "aviary_app.py").write_text(ENTRY.format(module=module, file=src.name))
        # Only the SDK package itself, wherever it is installed (not its site-packages).
        shutil.copytree(Path(__file__).resolve().parent, Path(tmp) / "aviary_guest",
                        ignore=shutil.ignore_patterns("__pycache__", "build.py", "__main__.py", "wit"))
        out_tmp = Path(tmp) / "out.wasm"
        cmd = [
            tool, "-d", str(wit_dir), "-w", "handler", "componentize", "aviary_app",
            "-p", tmp, "-p", str(src.parent), "-o", str(out_tmp),
        ]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise BuildError(f"componentize-py failed:\n{(run.stderr or run.stdout).strip()}")
        data = out_tmp.read_bytes() + custom_section("aviary:guest", marker())
    Path(output).write_bytes(data)
    return {"output": output, "bytes": len(data), "seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="aviary-py", description="Build Aviary handlers written in Python.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a handler module into a component")
    b.add_argument("source", help="the handler module (app.py), defining handle(event)")
    b.add_argument("-o", "--output", required=True, help="the component to write (app.wasm)")
    b.add_argument("--wit", help="the directory holding handler.wit (default: the repository's wit/)")
    args = p.parse_args(argv)
    try:
        r = build(args.source, args.output, args.wit)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"built {r['output']} ({r['bytes'] / 1e6:.2f} MB, python) in {r['seconds']:.1f} s")
    return 0
