"""Path normalization and traversal checks; command-line splitting."""

from __future__ import annotations

import pytest

from agentgov.policy.lang.paths import check_path
from agentgov.policy.lang.shell import parse_command


@pytest.mark.parametrize(
    ("raw", "cwd", "path", "problem"),
    [
        ("/etc/hosts", None, "/etc/hosts", None),
        ("//srv/./app/", None, "/srv/app", None),
        ("src/a.py", "/srv/app", "/srv/app/src/a.py", None),
        ("src/a.py", None, "src/a.py", "relative_path"),
        ("src/a.py", "relative/cwd", "src/a.py", "relative_path"),
        ("/srv/../etc/passwd", None, None, "path_traversal"),
        ("../x", "/srv", None, "path_traversal"),
        ("/proc/self/root/etc/shadow", None, None, "path_traversal"),
        ("/proc/1/task/2/cwd", None, None, "path_traversal"),
        ("/dev/fd/3", None, None, "path_traversal"),
        ("/srv/a\x00b", None, None, "path_traversal"),
        ("/proc/cpuinfo", None, "/proc/cpuinfo", None),
    ],
)
def test_check_path(raw: str, cwd: str | None, path: str | None, problem: str | None) -> None:
    """Paths become absolute and normalized, or name their problem."""
    got = check_path(raw, cwd)
    assert got.problem == problem
    if path is not None:
        assert got.path == path


@pytest.mark.parametrize(
    ("line", "parts", "subst"),
    [
        ("git   status", ("git status",), False),
        ("git status; rm -rf /", ("git status", "rm -rf /"), False),
        ("a && b || c | d & e", ("a", "b", "c", "d", "e"), False),
        ('echo "a;b" && ls', ('echo "a;b"', "ls"), False),
        ("echo 'x|y'", ("echo 'x|y'",), False),
        ("ls 2>&1 | tee out", ("ls 2>&1", "tee out"), False),
        ("echo $(id)", ("echo $(id)",), True),
        ("echo `id`", ("echo `id`",), True),
        ('echo "$(id)"', ('echo "$(id)"',), True),
        ("echo '$(id)'", ("echo '$(id)'",), False),
        ("diff <(ls a) <(ls b)", ("diff <(ls a) <(ls b)",), True),
        ("a\nb", ("a", "b"), False),
        ("", (), False),
    ],
)
def test_parse_command(line: str, parts: tuple[str, ...], subst: bool) -> None:
    """Command lines split at unquoted separators; substitutions are flagged."""
    got = parse_command(line)
    assert got.parts == parts
    assert got.substitution is subst
