"""File paths as the ``files`` section sees them: absolute, normalized, and free of traversal tricks.

Evaluation does no I/O, so symlinks are not resolved here; the SDK passes ``args.resolved`` (the realpath it
computed) and both the path as written and the resolved one are checked (the stricter result wins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

_PROC_ESCAPE: Final = re.compile(r"/proc/[^/]+(?:/task/[^/]+)?/(?:root|cwd|fd|map_files)(?:/|$)|/dev/fd(?:/|$)")
"""Kernel links that lead to another process's root, cwd or open files."""

Problem = Literal["relative_path", "path_traversal"]


@dataclass(frozen=True, slots=True)
class CheckedPath:
    """A path ready for matching (``path``), or the problem that rules it out (``problem``, ``why``)."""

    path: str
    problem: Problem | None = None
    why: str = ""


def check_path(raw: str, cwd: object = None) -> CheckedPath:
    """Make ``raw`` absolute (against ``cwd`` when it is relative) and normalize it, or say why not.

    A relative path with no absolute ``cwd`` is a ``relative_path`` problem; a NUL byte, any ``..``
    segment (in the path or the cwd) or a ``/proc/<pid>/{root,cwd,fd}`` path is ``path_traversal``.
    ``//`` and ``/./`` collapse; a trailing ``/`` is dropped.
    """
    if "\x00" in raw or (isinstance(cwd, str) and "\x00" in cwd):
        return CheckedPath(raw, "path_traversal", "the path contains a NUL byte")
    path = raw
    if not path.startswith("/"):
        if not isinstance(cwd, str) or not cwd.startswith("/"):
            return CheckedPath(raw, "relative_path", f"{raw!r} is relative and there is no absolute cwd")
        path = f"{cwd}/{path}"
    segments = [s for s in path.split("/") if s not in ("", ".")]
    if ".." in segments:
        return CheckedPath(raw, "path_traversal", f"{path!r} has a '..' segment")
    norm = "/" + "/".join(segments)
    if _PROC_ESCAPE.match(norm):
        return CheckedPath(norm, "path_traversal", f"{norm!r} goes through another process's root, cwd or fds")
    return CheckedPath(norm)
