"""Globs for tool names, command lines and paths."""

from __future__ import annotations

import pytest

from agentgov.policy.lang.globs import GlobError, GlobSet, glob_regex


@pytest.mark.parametrize(
    ("pattern", "text", "hit"),
    [
        ("github.*", "github.create_issue", True),
        ("github.*", "gitlab.x", False),
        ("*.admin_*", "jira.admin_delete", True),
        ("read_?ile", "read_file", True),
        ("[rw]*_file", "write_file", True),
        ("[!rw]*_file", "write_file", False),
        ("llm", "llm", True),
        ("llm", "llm2", False),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
    ],
)
def test_name_globs(pattern: str, text: str, hit: bool) -> None:
    """Name globs: '*' spans anything, '?' one character, sets and escapes work, matches are whole."""
    assert (GlobSet([pattern], "name").match(text) is not None) is hit


@pytest.mark.parametrize(
    ("pattern", "text", "hit"),
    [
        ("/srv/*.py", "/srv/a.py", True),
        ("/srv/*.py", "/srv/x/a.py", False),
        ("/srv/**", "/srv/x/y/z", True),
        ("/srv/**", "/srv", True),
        ("/srv/**", "/srvx/a", False),
        ("/a/**/b", "/a/b", True),
        ("/a/**/b", "/a/x/y/b", True),
        ("**/.env", "/.env", True),
        ("**/.env", "/x/y/.env", True),
        ("**/.env", "/x/y/.envrc", False),
        ("~/.ssh/**", "/home/bob/.ssh/id_rsa", True),
        ("~/.ssh/**", "/root/.ssh/config", True),
        ("~/.ssh/**", "/home/bob/x/.ssh/id_rsa", False),
        ("/tmp/?", "/tmp//", False),
    ],
)
def test_path_globs(pattern: str, text: str, hit: bool) -> None:
    """Path globs: '*' stops at '/', '**' crosses directories, '~/' is any home."""
    assert (GlobSet([pattern], "path").match(text) is not None) is hit


def test_command_allow_star_does_not_swallow_redirections() -> None:
    """In command allow lists '*' does not match '<' or '>', so an allowed command cannot add a redirection."""
    allow = GlobSet(["echo *"], "command")
    assert allow.match("echo hi") == "echo *"
    assert allow.match("echo hi > /etc/passwd") is None
    assert GlobSet(["echo *"], "name").match("echo hi > /etc/passwd") == "echo *"


def test_a_globset_names_the_pattern_that_matched() -> None:
    """match() returns the matching pattern's text; exact names are found without a regex."""
    s = GlobSet(["read_file", "git*", "*"], "name")
    assert s.match("read_file") == "read_file"
    assert s.match("gitx") == "git*"
    assert s.match("zzz") == "*"
    assert not GlobSet([], "name")


@pytest.mark.parametrize("bad", ["[abc", "a\\", "", "[]"])
def test_bad_globs_are_rejected(bad: str) -> None:
    """Unclosed sets, trailing escapes, empty globs and empty sets do not compile."""
    with pytest.raises(GlobError):
        glob_regex(bad, "name")
