"""``python -m agentgov.approval``: run the approval service with settings from the environment."""

from __future__ import annotations

import asyncio
import logging

from agentgov.approval.service import serve
from agentgov.approval.settings import ApprovalSettings
from agentgov.streaming import home
from agentgov.streaming.lifecycle import run_until_stopped


def main() -> None:
    """Settings from the environment, the NATS server from ``agentgov up``'s record or AGENTGOV_NATS_*."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = ApprovalSettings.from_env()
    rt = home.resolve()

    async def _main(stop: asyncio.Event) -> None:
        await serve(settings, rt, stop)

    asyncio.run(run_until_stopped(_main))


if __name__ == "__main__":
    main()
