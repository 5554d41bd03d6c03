"""The SQL and Redis fixtures: the skip-or-fail rule, URL handling, and fresh state per run or test."""

from __future__ import annotations

import re
import secrets
from contextlib import AbstractContextManager
from pathlib import Path

import psycopg
import pytest
import redis

from agentgov.testing import sql as sql_fixtures
from agentgov.testing.redis import delete_prefixed, probe_redis
from agentgov.testing.sql import give_up, is_ci, plan_for, probe_postgres, with_search_path

UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/test"

# --------------------------------------------------------------------------------- skip-or-fail rule


@pytest.mark.parametrize("docker", [True, False])
@pytest.mark.parametrize("ci", [True, False])
def test_plan_uses_a_reachable_server(docker: bool, ci: bool) -> None:
    """A server that answers is used, whatever Docker and CI say."""
    assert plan_for(reachable=True, docker=docker, ci=ci) == "use"


@pytest.mark.parametrize("ci", [True, False])
def test_plan_starts_a_container_when_only_docker_answers(ci: bool) -> None:
    """No server but a Docker engine means a container."""
    assert plan_for(reachable=False, docker=True, ci=ci) == "container"


def test_plan_fails_under_ci_without_server_or_docker() -> None:
    """Unreachable, no Docker, CI=true: the run must fail, not skip."""
    assert plan_for(reachable=False, docker=False, ci=True) == "fail"


def test_plan_skips_outside_ci_without_server_or_docker() -> None:
    """Unreachable, no Docker, CI unset: the test is skipped."""
    assert plan_for(reachable=False, docker=False, ci=False) == "skip"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"CI": "true"}, True),
        ({"CI": "TRUE"}, True),
        ({"CI": "1"}, True),
        ({"CI": "false"}, False),
        ({}, False),
    ],
)
def test_is_ci_reads_the_ci_variable(environ: dict[str, str], expected: bool) -> None:
    """CI=true (or 1/yes) means CI; unset or false does not."""
    assert is_ci(environ) is expected


def test_give_up_fails_under_ci() -> None:
    """give_up under CI fails the test with the reason."""
    with pytest.raises(pytest.fail.Exception, match="POSTGRESQL UNAVAILABLE"):
        give_up("postgresql", "nothing answers", ci=True)


def test_give_up_skips_outside_ci() -> None:
    """give_up outside CI skips the test with the reason."""
    with pytest.raises(pytest.skip.Exception, match="POSTGRESQL UNAVAILABLE"):
        give_up("postgresql", "nothing answers", ci=False)


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), (None, pytest.skip.Exception)])
def test_external_server_applies_the_rule(
    monkeypatch: pytest.MonkeyPatch, ci: str | None, outcome: type[BaseException]
) -> None:
    """An unreachable server with no Docker fails under CI=true and skips with CI unset."""
    monkeypatch.setattr(sql_fixtures, "docker_reachable", lambda: False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)

    def no_container() -> AbstractContextManager[str]:
        raise AssertionError("no container may start without Docker")

    with (
        pytest.raises(outcome),
        sql_fixtures.external_server("postgresql", UNREACHABLE_PG, probe_postgres, no_container, "hint"),
    ):
        pass


def test_docker_unreachable_is_false_without_leaking(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """docker_reachable is False for an engine socket that is not there, and leaks no socket doing so."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'docker.sock'}")
    assert sql_fixtures.docker_reachable() is False
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    assert sql_fixtures.docker_reachable() is False


def test_probes_report_why_a_server_does_not_answer() -> None:
    """The probes return a reason for an unreachable server instead of raising."""
    assert probe_postgres(UNREACHABLE_PG)
    assert probe_redis("redis://127.0.0.1:1/0")


# ------------------------------------------------------------------------------------------ URLs


def test_with_search_path_sets_and_replaces_the_schema() -> None:
    """with_search_path adds the option, keeps other options and query parameters, and replaces an old one."""
    url = with_search_path("postgresql://u@h:5432/db?sslmode=disable&options=-cstatement_timeout%3D5s", "s1")
    again = with_search_path(url, "s2")
    conninfo = psycopg.conninfo.conninfo_to_dict(again)
    assert conninfo["options"] == "-cstatement_timeout=5s -csearch_path=s2"
    assert conninfo["sslmode"] == "disable"
    assert conninfo["dbname"] == "db"


# ------------------------------------------------------------------------------------ the fixtures


@pytest.mark.postgres
def test_pg_url_points_at_an_empty_schema_of_this_run(pg_url: str) -> None:
    """pg_url connects and its current schema is this run's own agentgov_t_ schema."""
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
        assert row is not None
        assert re.fullmatch(r"agentgov_t_[0-9a-f]{8}", row[0])


@pytest.mark.postgres
def test_pg_fresh_url_is_a_schema_of_its_own(pg_url: str, pg_fresh_url: str) -> None:
    """pg_fresh_url's schema differs from the session's and starts with no tables."""
    with psycopg.connect(pg_fresh_url) as conn:
        row = conn.execute(
            "SELECT current_schema(), (SELECT count(*) FROM pg_tables WHERE schemaname = current_schema())"
        ).fetchone()
    assert row is not None
    assert row[0] not in pg_url
    assert row[1] == 0


@pytest.mark.redis
def test_redis_url_connects(redis_url: str) -> None:
    """redis_url answers PING."""
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping()
    finally:
        client.close()


@pytest.mark.redis
def test_redis_prefix_is_fresh(redis_url: str, redis_prefix: str) -> None:
    """The session's key prefix is random and no key exists under it yet."""
    assert re.fullmatch(r"agentgov_t_[0-9a-f]{8}:", redis_prefix)
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match=f"{redis_prefix}*")) == []
    finally:
        client.close()


@pytest.mark.redis
def test_delete_prefixed_removes_only_keys_under_the_prefix(redis_url: str) -> None:
    """The cleanup that runs after a session deletes its own keys and leaves the rest."""
    mine, other = f"agentgov_t_{secrets.token_hex(4)}:", f"agentgov_t_{secrets.token_hex(4)}:"
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(f"{mine}a", 1)
        client.set(f"{mine}b", 2)
        client.set(f"{other}a", 3)
        assert delete_prefixed(client, mine) == 2
        assert client.exists(f"{mine}a", f"{mine}b") == 0
        assert client.get(f"{other}a") == b"3"
    finally:
        client.delete(f"{other}a")
        client.close()


def test_sqlite_path_is_a_fresh_file_in_tmp(sqlite_path: Path, tmp_path: Path) -> None:
    """sqlite_path names a file that does not exist yet, in this test's temp directory."""
    assert sqlite_path.parent == tmp_path
    assert not sqlite_path.exists()
