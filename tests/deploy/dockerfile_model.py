"""A small Dockerfile reader for rule checks: stages, their instructions and what a target inherits."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


@dataclass
class Instruction:
    keyword: str  # upper-case: FROM, RUN, COPY, ...
    args: str
    line: int


@dataclass
class Stage:
    name: str
    base: str  # image reference or the name of an earlier stage
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [ins for ins in self.instructions if ins.keyword == keyword]


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Instructions with backslash continuations joined and comments dropped, with 1-based line numbers."""
    lines, buffer, start = [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        lines.append((start, buffer + stripped))
        buffer = ""
    return lines


def parse(path: Path = DOCKERFILE) -> dict[str, Stage]:
    """Stages by name (unnamed stages get their index), in file order."""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for number, line in logical_lines(path.read_text()):
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = shlex.split(args)
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            current = stages[name] = Stage(name=name, base=words[0])
        elif current is not None:
            current.instructions.append(Instruction(keyword, args, number))
    return stages


def lineage(stages: dict[str, Stage], target: str) -> list[Stage]:
    """The target and the stages it is built on, nearest first."""
    chain = [stages[target]]
    while chain[-1].base in stages:
        chain.append(stages[chain[-1].base])
    return chain


def effective(stages: dict[str, Stage], target: str, keyword: str) -> Instruction | None:
    """The instruction (USER, CMD, HEALTHCHECK...) in force in ``target``: the last one in its lineage."""
    for stage in lineage(stages, target):
        found = stage.all(keyword)
        if found:
            return found[-1]
    return None
