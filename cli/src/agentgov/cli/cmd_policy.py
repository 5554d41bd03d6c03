"""``agentgov policy``: validate, test, publish, inspect and replay policy bundles."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import hashlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentgov.cli.connection import runtime_from
from agentgov.cli.output import error, note, table
from agentgov.cli.timeparse import format_ns

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

    from agentgov.contracts.events import PolicyPublished
    from agentgov.policy.cases import SuiteResult
    from agentgov.streaming.home import Runtime

POLICY_HELP = """\
Policy bundles are YAML files (apiVersion: agentgov/v1; reference: services/policy/docs/language.md).

  validate FILE...           report every problem at once, with file:line and suggestions (exit 1 on errors)
  test SUITE.yaml...         run table-driven cases (request -> expected verdict and rules); exit 1 on a
                             failure; lists the rules no case reached
  publish FILE               validate, sign with your operator key and append PolicyPublished; every
                             policy replica switches to the new revision as soon as it reads it
  history                    the published revisions
  diff REV REV               what changed between two revisions (rules added/removed, then the text)
  replay --bundle FILE       re-evaluate recorded decisions with a candidate bundle and report what it
                             would change, with examples
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``policy`` and its subcommands."""
    p = sub.add_parser(
        "policy",
        help="validate, test, publish, inspect and replay policy bundles",
        description=POLICY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = p.add_subparsers(dest="policy_command", metavar="ACTION", required=True)

    v = cmds.add_parser("validate", help="check bundles without publishing")
    v.add_argument("files", nargs="+", type=Path, metavar="FILE")
    v.add_argument("--json", action="store_true", help="diagnostics as JSON lines")
    v.set_defaults(handler=_validate)

    t = cmds.add_parser("test", help="run policy test suites")
    t.add_argument("suites", nargs="+", type=Path, metavar="SUITE")
    t.add_argument("--json", action="store_true", help="results as one JSON object")
    t.set_defaults(handler=_test)

    pub = cmds.add_parser("publish", parents=[common], help="sign and publish a bundle")
    pub.add_argument("file", type=Path, metavar="FILE")
    pub.add_argument("--note", default="", help="why this revision (recorded)")
    pub.set_defaults(handler=_async(_publish))

    h = cmds.add_parser("history", parents=[common], help="published revisions")
    h.add_argument("--scope", help="only this scope ('*' or 'org:<id>')")
    h.add_argument("--json", action="store_true")
    h.set_defaults(handler=_async(_history))

    d = cmds.add_parser("diff", parents=[common], help="compare two published revisions")
    d.add_argument("rev_a", type=int, metavar="REV")
    d.add_argument("rev_b", type=int, metavar="REV")
    d.add_argument("--scope", default=None, help="scope of the revisions (default: the only one, or '*')")
    d.set_defaults(handler=_async(_diff))

    r = cmds.add_parser("replay", parents=[common], help="what a candidate bundle would change")
    r.add_argument("--bundle", required=True, type=Path, metavar="CANDIDATE")
    r.add_argument("--since", default="24h", help="ISO time or age (15m, 2h, 7d); default 24h")
    r.add_argument("--agent", help="only this agent's decisions")
    r.add_argument("--examples", type=int, default=3, help="examples shown per change (default 3)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=_async(_replay))


def _async(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from agentgov.identity.errors import TrustError
        from agentgov.streaming.errors import StreamingError

        try:
            return int(asyncio.run(fn(args)))
        except (StreamingError, TrustError, OSError, ValueError) as exc:
            error(str(exc))
            return 1

    return run


# -- offline ----------------------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    from agentgov.policy.lang import check_bundle, compile_bundle, load_bundle

    failed = False
    for path in args.files:
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            error(f"{path}: {exc.strerror or exc}")
            failed = True
            continue
        diags = check_bundle(source, str(path))
        errors = [d for d in diags if d.severity == "error"]
        failed |= bool(errors)
        for d in diags:
            if args.json:
                print(
                    json.dumps(
                        {
                            "file": d.file,
                            "line": d.line,
                            "column": d.column,
                            "severity": d.severity,
                            "code": d.code,
                            "name": d.name,
                            "message": d.message,
                            "suggestion": d.suggestion,
                        }
                    )
                )
            else:
                print(str(d), file=sys.stderr if d.severity == "error" else sys.stdout)
        if not errors and not args.json:
            compiled = compile_bundle(load_bundle(source, str(path)))
            warn = f", {len(diags)} warning(s)" if diags else ""
            print(f"{path}: ok: bundle {compiled.name!r} for {compiled.scope}, {len(compiled.rule_ids)} rules{warn}")
    return 1 if failed else 0


def _test(args: argparse.Namespace) -> int:
    from agentgov.policy.cases import SuiteError, load_suite, run_suite
    from agentgov.policy.lang import BundleInvalid

    failed = False
    for suite_path in args.suites:
        try:
            suite = load_suite(suite_path)
            result = run_suite(suite)
        except (SuiteError, BundleInvalid, OSError, ValueError) as exc:
            error(f"{suite_path}: {exc}")
            failed = True
            continue
        failed |= not result.passed
        if args.json:
            print(json.dumps(_suite_json(str(suite_path), result)))
            continue
        print(f"{suite_path} (bundle {suite.bundle.name!r}, {len(suite.bundle.rule_ids)} rules)")
        for case in result.cases:
            mark = "ok  " if case.passed else "FAIL"
            print(
                f"  {mark} {case.name}: {case.outcome.verdict}"
                + (f" ({case.outcome.code})" if case.outcome.code else "")
            )
            for why in case.failures:
                print(f"         {why}")
        passed = sum(c.passed for c in result.cases)
        print(f"  {passed}/{len(result.cases)} passed")
        if result.unreached:
            print(f"  rules no case reached ({len(result.unreached)}): {', '.join(result.unreached)}")
        else:
            print("  every rule was reached by a case")
    return 1 if failed else 0


def _suite_json(path: str, result: SuiteResult) -> dict[str, Any]:
    return {
        "suite": path,
        "passed": result.passed,
        "cases": [
            {
                "name": c.name,
                "passed": c.passed,
                "verdict": c.outcome.verdict,
                "code": c.outcome.code,
                "rules": [r.id for r in c.outcome.rules],
                "failures": c.failures,
            }
            for c in result.cases
        ],
        "unreached": result.unreached,
    }


# -- against the stream -----------------------------------------------------------------------------------


async def published(js: JetStreamContext) -> list[tuple[int, PolicyPublished]]:
    """Every PolicyPublished on the stream with its sequence, in order."""
    from nats.js.errors import NotFoundError

    from agentgov.contracts import codec, subjects
    from agentgov.contracts.errors import DecodeError
    from agentgov.contracts.events import PolicyPublished
    from agentgov.contracts.streams import GOV
    from agentgov.streaming.reader import read_batches

    try:
        last = await js.get_last_msg(GOV, subjects.POLICY)
    except NotFoundError:
        return []
    out: list[tuple[int, PolicyPublished]] = []
    async for batch in read_batches(js, GOV, filter_subject=subjects.POLICY, until_seq=last.seq or 0):
        for m in batch:
            try:
                event = codec.decode_event(codec.split(m.data)[0])
            except DecodeError:
                continue
            if isinstance(event, PolicyPublished):
                out.append((m.seq, event))
        if batch and batch[-1].seq >= (last.seq or 0):
            break
    return out


async def publish_bundle(
    rt: Runtime, path: Path, note_text: str = "", *, base: Path | None = None
) -> tuple[str, int, int]:
    """Validate, sign and append a bundle as the next revision of its scope: (scope, revision, stream seq).

    Raises BundleInvalid, TrustError (the operator may not publish that scope) or PublishError (another
    revision was published at the same moment: the compare-and-set on ``gov.policy`` refused this one).
    """
    from agentgov.cli.operator import local_operator, operator_session
    from agentgov.contracts import crypto, subjects
    from agentgov.contracts.events import PolicyPublished
    from agentgov.identity.errors import TrustError
    from agentgov.identity.operators import Scope
    from agentgov.policy.lang import compile_bundle, load_bundle
    from agentgov.streaming.errors import PublishError
    from agentgov.streaming.producer import EXPECTED_LAST_SUBJECT_SEQ

    source = await asyncio.to_thread(path.read_text, "utf-8")
    compiled = compile_bundle(load_bundle(source, str(path)))
    identity = local_operator(base)
    scope = compiled.scope
    if not identity.operator.allows("policy", Scope.parse(scope).org):
        raise TrustError(f"operator {identity.operator.name!r} may not publish policy for {scope}")
    async with operator_session(rt, "agentgov-policy-publish") as (nc, producer):
        history = await published(nc.jetstream())
        revisions = [e.revision for _, e in history if e.scope == scope]
        revision = (max(revisions) if revisions else 0) + 1
        last_seq = history[-1][0] if history else 0
        sha = hashlib.sha256(source.encode()).hexdigest()
        event = PolicyPublished(
            scope=scope,
            revision=revision,
            name=compiled.name,
            source=source,
            sha256=sha,
            signer=identity.key_id,
            signer_name=identity.operator.name,
            signature=crypto.sign_policy(identity.key, scope, revision, sha),
            note=note_text,
        )
        ack = await producer.publish_once(
            subjects.POLICY,
            event,
            msg_id=f"policy:{scope}:{revision}",
            headers={EXPECTED_LAST_SUBJECT_SEQ: str(last_seq)},
        )
    if ack.duplicate:
        raise PublishError(subjects.POLICY, f"revision {revision} of {scope} was already published")
    return scope, revision, ack.seq


async def _publish(args: argparse.Namespace) -> int:
    from agentgov.policy.lang import BundleInvalid
    from agentgov.streaming.errors import PublishError

    path: Path = args.file
    try:
        scope, revision, seq = await publish_bundle(runtime_from(args), path, args.note)
    except BundleInvalid as exc:
        for d in exc.diagnostics:
            print(str(d), file=sys.stderr)
        error(f"{path} does not validate; nothing published")
        return 1
    except PublishError as exc:
        error(f"{exc} (was another revision published at the same time? run it again)")
        return 1
    print(f"published {path} as {scope} revision {revision} (stream seq {seq})")
    return 0


async def _history(args: argparse.Namespace) -> int:
    from agentgov.streaming.connect import connect

    nc = await connect(runtime_from(args), name="agentgov-policy-history")
    try:
        rows = [(seq, e) for seq, e in await published(nc.jetstream()) if args.scope in (None, e.scope)]
    finally:
        await nc.close()
    if args.json:
        for seq, e in rows:
            print(
                json.dumps(
                    {
                        "seq": seq,
                        "scope": e.scope,
                        "revision": e.revision,
                        "name": e.name,
                        "ts": e.ts,
                        "signer": e.signer,
                        "signer_name": e.signer_name,
                        "sha256": e.sha256,
                        "note": e.note,
                    }
                )
            )
        return 0
    if not rows:
        note("no policy has been published")
        return 0
    table(
        ["scope", "rev", "name", "published", "signer", "sha256", "note"],
        [
            (e.scope, e.revision, e.name, format_ns(e.ts), e.signer_name or e.signer, e.sha256[:12], e.note)
            for _, e in rows
        ],
    )
    return 0


async def _diff(args: argparse.Namespace) -> int:
    from agentgov.policy.lang import compile_bundle, load_bundle
    from agentgov.streaming.connect import connect

    nc = await connect(runtime_from(args), name="agentgov-policy-diff")
    try:
        history = [e for _, e in await published(nc.jetstream())]
    finally:
        await nc.close()
    scopes = sorted({e.scope for e in history})
    scope = args.scope or (scopes[0] if len(scopes) == 1 else "*")
    by_rev = {e.revision: e for e in history if e.scope == scope}
    for rev in (args.rev_a, args.rev_b):
        if rev not in by_rev:
            error(f"no revision {rev} for scope {scope}; published: {sorted(by_rev) or 'none'}")
            return 1
    a, b = by_rev[args.rev_a], by_rev[args.rev_b]
    rules_a = set(compile_bundle(load_bundle(a.source, f"{a.name}@{a.revision}")).rule_ids)
    rules_b = set(compile_bundle(load_bundle(b.source, f"{b.name}@{b.revision}")).rule_ids)
    print(f"{scope}: revision {a.revision} ({a.sha256[:12]}) -> {b.revision} ({b.sha256[:12]})")
    for rid in sorted(rules_b - rules_a):
        print(f"  + rule {rid}")
    for rid in sorted(rules_a - rules_b):
        print(f"  - rule {rid}")
    sys.stdout.writelines(
        difflib.unified_diff(
            a.source.splitlines(keepends=True),
            b.source.splitlines(keepends=True),
            f"{scope}@{a.revision}",
            f"{scope}@{b.revision}",
        )
    )
    return 0


async def _replay(args: argparse.Namespace) -> int:
    from agentgov.cli import policy_replay

    return await policy_replay.replay_cmd(args)
