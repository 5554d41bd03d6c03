"""Turning the connection flags into a Runtime, with an error the user can act on."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentgov.streaming.home import Runtime


def runtime_from(args: argparse.Namespace) -> Runtime:
    """Flags, then environment, then the record `agentgov up` left (NotConfiguredError when none)."""
    from agentgov.streaming import home  # noqa: PLC0415 - msgspec and friends stay out of `agentgov --help`

    return home.resolve(args.nats_url, args.nats_user, args.nats_password)
