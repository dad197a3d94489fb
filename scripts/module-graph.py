#!/usr/bin/env python3
"""Prints the dependency graph between the top-level modules of `runtime/src` and fails on a cycle;
then the same for the workspace's crates.

Modules: an edge `a -> b` means some non-test file of module `a` names a path `crate::b...` (or a
`super::` path that resolves into `b`). Test code is left out: `tests.rs` files, files of
`#[cfg(test)] mod x;` declarations and `#[cfg(test)]` items. Comments and string literals are
stripped first, so intra-doc links do not count.

Crates (from `cargo metadata`): an edge `a -> b` is a normal or build dependency between two
workspace crates (dev-dependencies may point back: the runtime's tests use `aviary-test-support`,
which depends on `aviary`). Also fails when a crate that can be published depends (not as a
dev-dependency) on one that cannot (`publish = false`): test doubles stay out of what ships.

Exit status: 0 when both graphs are acyclic and the publish rule holds, 1 otherwise (named).

Usage: python3 scripts/module-graph.py [SRC_DIR]   (default: runtime/src next to this script; the
crate graph is checked only for the default)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments_and_strings(text: str) -> str:
    """Replaces comments, string and char literals by spaces (keeps line structure)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append(" " + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{..}'); a lifetime ('a) is left alone.
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:])
            if m:
                out.append("' '")
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_item(text: str, i: int) -> int:
    """Returns the index just past the item starting at `i` (ends at `;` or a balanced `{...}`)."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == ";" and depth == 0:
            return i + 1
        i += 1
    return n


CFG_TEST = re.compile(r"#\[cfg\(test\)\]\s*")


def strip_test_items(text: str) -> tuple[str, set[str]]:
    """Removes `#[cfg(test)]` items; returns the rest and the names of `#[cfg(test)] mod x;` files."""
    test_mods: set[str] = set()
    out, pos = [], 0
    for m in CFG_TEST.finditer(text):
        if m.start() < pos:
            continue
        start = m.end()
        # Further attributes (e.g. #[allow(..)]) belong to the same item.
        while True:
            a = re.match(r"#\[[^\]]*\]\s*", text[start:])
            if not a:
                break
            start += len(a.group(0))
        d = re.match(r"(pub(\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", text[start:])
        if d:
            test_mods.add(d.group(3))
        end = skip_item(text, start)
        out.append(text[pos:m.start()])
        out.append("\n" * text.count("\n", m.start(), end))
        pos = end
    out.append(text[pos:])
    return "".join(out), test_mods


def module_path(src: Path, file: Path) -> list[str]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts.pop()
    return parts


def brace_group_heads(text: str, i: int) -> list[str]:
    """For `{a, b::c, self}` starting at `text[i] == '{'`, returns the first segment of each entry."""
    heads, depth, j, token = [], 0, i, ""
    start_entry = True
    while j < len(text):
        c = text[j]
        if c == "{":
            depth += 1
            if depth == 1:
                start_entry = True
                j += 1
                continue
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        elif c == "," and depth == 1:
            start_entry = True
            j += 1
            continue
        if depth == 1 and start_entry and not c.isspace():
            m = re.match(IDENT, text[j:])
            if m:
                heads.append(m.group(0))
                j += len(m.group(0))
            start_entry = False
            continue
        j += 1
    return heads


def resolve(segments: list[str]) -> str | None:
    """Top-level module named by an absolute path (crate-relative segments), if any."""
    return segments[0] if segments else None


PATH = re.compile(r"\b(crate|super)((?:\s*::\s*super)*)\s*::\s*(" + IDENT + r"|\{)")


INLINE_MOD = re.compile(r"\bmod\s+(" + IDENT + r")\s*\{")


def inline_modules(text: str) -> list[tuple[int, int, str]]:
    """The `mod name { ... }` blocks of a file as (start, end, name)."""
    return [(m.start(), skip_item(text, m.start()), m.group(1)) for m in INLINE_MOD.finditer(text)]


def edges_of_file(src: Path, file: Path, text: str) -> set[str]:
    file_mod = module_path(src, file)
    inline = inline_modules(text)
    found: set[str] = set()
    for m in PATH.finditer(text):
        kind, supers, head = m.group(1), m.group(2), m.group(3)
        here = file_mod + [name for (s, e, name) in inline if s < m.start() < e]
        if kind == "crate":
            base: list[str] = []
        else:
            ups = 1 + supers.count("super")
            # A file `a/b.rs` is module a::b; `super` from it is `a`.
            if ups > len(here):
                continue
            base = here[: len(here) - ups]
        if base:
            found.add(base[0])
            continue
        if head == "{":
            for h in brace_group_heads(text, m.end() - 1):
                if h not in ("self", "super", "crate"):
                    found.add(h)
        else:
            found.add(head)
    return found


def build_graph(src: Path) -> dict[str, set[str]]:
    tops = {p.stem for p in src.glob("*.rs") if p.stem not in ("lib", "main")}
    tops |= {p.name for p in src.iterdir() if p.is_dir()}
    graph: dict[str, set[str]] = {t: set() for t in sorted(tops)}
    files = sorted(src.rglob("*.rs"))
    excluded: set[Path] = set()
    cleaned: dict[Path, str] = {}
    for f in files:
        text, test_mods = strip_test_items(strip_comments_and_strings(f.read_text()))
        cleaned[f] = text
        owner = f.parent if f.name in ("mod.rs", "lib.rs", "main.rs") else f.with_suffix("")
        for name in test_mods:
            excluded.add(owner / f"{name}.rs")
            excluded.add(owner / name / "mod.rs")
    for f in files:
        if f.name == "tests.rs" or f in excluded or any(p in excluded for p in [f.parent / "mod.rs"]):
            continue
        rel = f.relative_to(src)
        if len(rel.parts) == 1 and rel.stem in ("lib", "main"):
            continue
        top = rel.parts[0].removesuffix(".rs")
        for dep in edges_of_file(src, f, cleaned[f]):
            if dep != top and dep in graph:
                graph[top].add(dep)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    sccs: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sccs


def one_cycle(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """A concrete cycle inside a strongly connected component (shortest back to its first module)."""
    start = comp[0]
    members = set(comp)
    prev: dict[str, str] = {}
    frontier = [start]
    seen = {start}
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if w not in seen:
                    seen.add(w)
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp


def layers(graph: dict[str, set[str]]) -> dict[str, int]:
    """Depth of each module: 0 for leaves, else 1 + the deepest dependency (acyclic graphs only)."""
    depth: dict[str, int] = {}

    def d(v: str) -> int:
        if v not in depth:
            depth[v] = 0
            depth[v] = 1 + max((d(w) for w in graph[v]), default=-1)
        return depth[v]

    for v in graph:
        d(v)
    return depth


def report(graph: dict[str, set[str]], what: str) -> bool:
    """Prints the graph by layer, or the cycles; whether it is acyclic."""
    cycles = find_cycles(graph)
    if cycles:
        for v in sorted(graph):
            print(f"{v} -> {', '.join(sorted(graph[v])) or '(none)'}")
        for comp in cycles:
            print(f"error: {len(comp)} {what} form a cycle: {', '.join(comp)}", file=sys.stderr)
            print(f"error: e.g. {' -> '.join(one_cycle(graph, comp))}", file=sys.stderr)
        return False
    depth = layers(graph)
    for v in sorted(graph, key=lambda v: (-depth[v], v)):
        print(f"[{depth[v]}] {v} -> {', '.join(sorted(graph[v])) or '(none)'}")
    print(f"ok: {len(graph)} {what}, no cycle")
    return True


def crate_graph(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """The workspace's crates and their normal/build dependencies on each other; and every
    publishable crate's dependency on a crate that is not (`publish = false`)."""
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["name"]: p for p in meta["packages"]}
    graph: dict[str, set[str]] = {name: set() for name in packages}
    unshippable = {name for name, p in packages.items() if p.get("publish") == []}
    problems = []
    for name, p in packages.items():
        for dep in p["dependencies"]:
            if dep["kind"] == "dev" or dep["name"] not in packages:
                continue
            graph[name].add(dep["name"])
            if name not in unshippable and dep["name"] in unshippable:
                problems.append(f"{name} depends on {dep['name']}, which is publish = false (a test crate)")
    return graph, problems


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "runtime" / "src"
    ok = report(build_graph(src), "top-level modules")
    if len(sys.argv) > 1:
        return 0 if ok else 1
    print()
    crates, problems = crate_graph(root)
    ok = report(crates, "workspace crates") and ok
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
