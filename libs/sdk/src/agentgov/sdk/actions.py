"""Typed builders of the :class:`~agentgov.contracts.Action` an agent asks about.

The policy language reads actions in exactly these shapes, so build them here rather than by hand:

============  ==========  ==============  ==========================  ============================================
builder       kind        tool (default)  target                      args (``None`` values left out)
============  ==========  ==============  ==========================  ============================================
``shell``     shell       ``shell``       the command line            ``cwd``
``file``      file        --              the path as given           ``op``, ``cwd`` (relative paths),
                                                                      ``resolved`` (real path, when it differs)
``http``      http        --              the URL                     ``method`` (upper case), ``body``
``mcp_tool``  mcp_tool    the tool        --                          ``server``, ``arguments``
``llm_call``  llm_call    ``llm``         ``provider/model``          ``provider``, ``model``, ``max_tokens``
``k8s``       k8s         ``kubectl``     ``namespace/resource/name`` ``verb``, ``resource``, ``namespace``,
                                                                      ``name``, ``cluster``
``aws``       aws         ``aws``         ``service:operation``       ``service``, ``operation``, ``region``,
                                                                      ``resource``
``spawn``     spawn       --              the child agent's id        ``scopes``
============  ==========  ==============  ==========================  ============================================

``tool`` is the name of the agent's tool that performs the action, which a bundle's ``tools`` section
matches (``tools.allow: [run_shell, read_file]``): every builder takes ``tool=`` to name it as the bundle
does; ``tool=None`` leaves it out, and a bundle's ``tools`` section then does not vote on the action.

Values are sent as given: secrets in arguments are found and redacted by the policy service, which records
only the sanitized action.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from agentgov.contracts.events import Action, ActionKind
from agentgov.contracts.ids import check_token

__all__ = ["aws", "file", "http", "k8s", "llm_call", "mcp_tool", "shell", "spawn", "tool_result"]


def _args(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def shell(command: str, cwd: str | os.PathLike[str] | None = None, *, tool: str | None = "shell") -> Action:
    """A shell command line, as the shell would receive it (``curl … | sh`` is one action)."""
    return Action(kind="shell", tool=tool, target=command, args=_args(cwd=_path(cwd)))


def file(
    path: str | os.PathLike[str],
    op: str = "read",
    *,
    cwd: str | os.PathLike[str] | None = None,
    tool: str | None = None,
) -> Action:
    """A file operation (``op``: ``read``, ``write``, ``append``, ``delete``, ``list``…).

    ``target`` is the path as given. A relative path carries ``args.cwd``, the directory it is relative to
    (``cwd``, default the process's working directory), since a policy cannot judge a relative path alone.
    ``args.resolved`` is the real path (``~`` expanded, ``..`` and symlinks resolved) when it differs from
    the target, so a rule on ``~/.ssh/**`` also catches ``link/../.ssh/id_rsa``; policies check both.
    """
    given = os.fspath(path)
    base: str | None = None
    if not os.path.isabs(given) and not given.startswith("~"):
        base = _path(cwd) or os.getcwd()
    resolved = os.path.realpath(os.path.join(base or "", os.path.expanduser(given)))
    return Action(
        kind="file",
        tool=tool,
        target=given,
        args=_args(op=op, cwd=base, resolved=resolved if resolved != given else None),
    )


def http(method: str, url: str, body: Any = None, *, tool: str | None = None) -> Action:
    """An HTTP request; ``body`` is any JSON value (bytes are decoded as UTF-8)."""
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", errors="replace")
    return Action(kind="http", tool=tool, target=url, args=_args(method=method.upper(), body=body))


def mcp_tool(server: str, tool: str, arguments: Mapping[str, Any] | None = None) -> Action:
    """A call of ``tool`` on the MCP server ``server`` with its JSON ``arguments``."""
    return Action(kind="mcp_tool", tool=tool, args={"server": server, "arguments": dict(arguments or {})})


def llm_call(provider: str, model: str, max_tokens: int | None = None, *, tool: str | None = "llm") -> Action:
    """A call of an LLM (pass ``estimated_usd_micros`` to ``check`` for budget rules)."""
    return Action(
        kind="llm_call",
        tool=tool,
        target=f"{provider}/{model}",
        args=_args(provider=provider, model=model, max_tokens=max_tokens),
    )


def k8s(
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    cluster: str | None = None,
    *,
    tool: str | None = "kubectl",
) -> Action:
    """A Kubernetes API call; the target always has three parts, empty where unknown (``/nodes/n1``)."""
    return Action(
        kind="k8s",
        tool=tool,
        target=f"{namespace or ''}/{resource}/{name or ''}",
        args=_args(verb=verb, resource=resource, namespace=namespace, name=name, cluster=cluster),
    )


def aws(
    service: str, operation: str, region: str | None = None, resource: str | None = None, *, tool: str | None = "aws"
) -> Action:
    """An AWS API call (``aws("s3", "DeleteBucket", resource="arn:aws:s3:::b")``)."""
    return Action(
        kind="aws",
        tool=tool,
        target=f"{service}:{operation}",
        args=_args(service=service, operation=operation, region=region, resource=resource),
    )


def spawn(child_agent: str, scopes: Sequence[str] | None = None, *, tool: str | None = None) -> Action:
    """Starting a child agent with (narrower) scopes; the child id must be subject-safe."""
    return Action(
        kind="spawn",
        tool=tool,
        target=check_token("agent", child_agent),
        args=_args(scopes=list(scopes) if scopes is not None else None),
    )


def _path(p: str | os.PathLike[str] | None) -> str | None:
    return os.fspath(p) if p is not None else None


def tool_result(tool: str, content: str, *, source: str | None = None, kind: ActionKind = "mcp_tool") -> Action:
    """What a tool returned, handed in *before* the model sees it: the policy scans it for prompt injection,
    secrets and personal data, and the session remembers it (untrusted content, or internal data when
    ``source`` is an internal host), so a later command built from it, or data sent out after it, is caught.
    ``source`` is where the content came from (the URL of a fetched page, a file path)."""
    return Action(kind=kind, tool=tool, target=source, args={"result": content})
