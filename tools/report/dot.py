"""A small, deterministic writer of Graphviz DOT text and the call to ``dot`` that lays it out.

Graphviz (Debian's ``graphviz`` package, ``make diagram-deps``) does the layout: boxes nested in
clusters, edges routed around boxes. Same DOT text and same Graphviz version give the same SVG;
the only machine-dependent line, Graphviz's version comment, is kept so a reader (and the
currency test) can tell which layout engine drew the committed file.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape

INSTALL_HINT = "Graphviz `dot` is missing: run `make diagram-deps` (installs Debian's graphviz package)"


class GraphvizMissing(RuntimeError):
    pass


def html(title: str, lines: Iterable[str] = (), *, size: int = 10, color: str = "#3a4656") -> str:
    """An HTML-like label: a bold title and smaller detail lines (each one SVG <text>)."""
    parts = [f"<b>{escape(title)}</b>"]
    parts += [f'<font point-size="{size}" color="{color}">{escape(line)}</font>' for line in lines]
    return "<" + "<br/>".join(parts) + ">"


def attrs(values: dict[str, str]) -> str:
    out = []
    for key, value in values.items():
        if value.startswith("<") and value.endswith(">"):
            out.append(f"{key}={value}")
        else:
            out.append(f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"')
    return "[" + " ".join(out) + "]"


@dataclass
class Cluster:
    name: str
    label: str
    style: dict[str, str] = field(default_factory=dict)
    body: list[str] = field(default_factory=list)
    children: list[Cluster] = field(default_factory=list)

    def node(self, name: str, **values: str) -> str:
        self.body.append(f'"{name}" {attrs(values)}')
        return name

    def cluster(self, name: str, label: str, **style: str) -> Cluster:
        child = Cluster(name, label, style)
        self.children.append(child)
        return child

    def lines(self, indent: str = "  ") -> list[str]:
        out = [f'{indent}subgraph "cluster_{self.name}" {{', f'{indent}  id="{self.name}" label={self.label}']
        out += [f"{indent}  {k}={attrs({k: v})[1:-1].split('=', 1)[1]}" for k, v in self.style.items()]
        out += [f"{indent}  {line}" for line in self.body]
        for child in self.children:
            out += child.lines(indent + "  ")
        out.append(f"{indent}}}")
        return out


@dataclass
class Graph:
    graph: dict[str, str]
    node: dict[str, str]
    edge: dict[str, str]
    root: Cluster = field(default_factory=lambda: Cluster("root", "<>"))
    edges: list[str] = field(default_factory=list)

    def add_edge(self, tail: str, head: str, **values: str) -> None:
        self.edges.append(f'"{tail}" -> "{head}" {attrs(values)}')

    def source(self) -> str:
        out = ["digraph medivault {", f"  graph {attrs(self.graph)}", f"  node {attrs(self.node)}", f"  edge {attrs(self.edge)}"]
        out += [f"  {line}" for line in self.root.body]
        for child in self.root.children:
            out += child.lines()
        out += [f"  {line}" for line in self.edges]
        out.append("}")
        return "\n".join(out) + "\n"


def to_svg(source: str) -> str:
    binary = shutil.which("dot")
    if binary is None:
        raise GraphvizMissing(INSTALL_HINT)
    result = subprocess.run([binary, "-Tsvg"], input=source, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dot failed: {result.stderr.strip()}")
    return result.stdout
