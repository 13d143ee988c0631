#!/usr/bin/env python3
"""Prints the numbers issue 15 asks for: modules, public items, the largest
file, and the module import graph's strongly connected parts and longest cycle.

A module's dependencies are the `crate::a::b` paths its code names (comment
and doc lines are skipped), resolved to the longest module path that exists. Run from
the repository root: `python3 scripts/arch-metrics.py`; with `--check` it
exits 1 when src/ has an import cycle (the test command runs it so).
"""

import pathlib
import re
import sys

SRC = pathlib.Path("src")


def module_of(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts in (["lib"], ["main"]):
        return parts[0]
    return "::".join(parts)


def main() -> int:
    files = sorted(p for p in SRC.rglob("*.rs"))
    modules = {module_of(p): p for p in files}
    deps: dict[str, set[str]] = {}
    public = 0
    pub_re = re.compile(r"^\s*pub (?:async )?(?:unsafe )?(fn|struct|enum|const|static|type|trait|mod|use|union)\b")
    for name, path in modules.items():
        text = path.read_text()
        public += sum(1 for line in text.splitlines() if pub_re.match(line))
        out = set()
        code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))
        for m in re.finditer(r"crate::((?:[a-z_][a-z0-9_]*)(?:::[a-z_][a-z0-9_]*)*)", code):
            segs = m.group(1).split("::")
            while segs and "::".join(segs) not in modules:
                segs.pop()
            if segs:
                target = "::".join(segs)
                if target != name and not name.startswith(target + "::") and not target.startswith(name + "::"):
                    out.add(target)
        deps[name] = out
    largest = max(files, key=lambda p: len(p.read_text().splitlines()))
    print(f"modules: {len([m for m in modules if m not in ('main',)])} (files under src/, main.rs excluded)")
    print(f"public item lines (`pub` without a restriction): {public}")
    print(f"largest file: {largest} ({len(largest.read_text().splitlines())} lines)")

    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in deps.get(v, ()):
            if w not in index:
                strong(w)
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
            sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in deps:
        if v not in index:
            strong(v)
    cyclic = [sorted(c) for c in sccs if len(c) > 1]
    print(f"modules in import cycles: {sum(len(c) for c in cyclic)} in {len(cyclic)} group(s)")
    for c in cyclic:
        print("  cycle group:", ", ".join(c))

    # Longest simple cycle (the graph is small).
    best: list[str] = []
    for comp in cyclic:
        members = set(comp)
        for start in sorted(members):
            path = [start]
            seen = {start}

            def walk(v):
                nonlocal best
                for w in sorted(deps[v] & members):
                    if w == start and len(path) > len(best):
                        best = list(path)
                    elif w not in seen and w > start:
                        seen.add(w)
                        path.append(w)
                        walk(w)
                        path.pop()
                        seen.discard(w)

            walk(start)
    if best:
        print(f"longest import cycle: {len(best)} modules: {' -> '.join(best + [best[0]])}")
    else:
        print("longest import cycle: none")
    if "--check" in sys.argv and cyclic:
        print("arch-metrics: src/ has an import cycle (above); layers must point one way", file=sys.stderr)
        return 1
    # Folder-level edges, to check that dependencies point one way.
    folder = lambda m: m.split("::")[0]
    edges = sorted({(folder(a), folder(b)) for a, bs in deps.items() for b in bs if folder(a) != folder(b)})
    print("top-level edges:", ", ".join(f"{a}->{b}" for a, b in edges))
    return 0


if __name__ == "__main__":
    sys.exit(main())
