"""``python -m agentgov.budget``: run the budget service with settings from the environment."""

import asyncio
import logging

from agentgov.budget.service import serve
from agentgov.budget.settings import BudgetSettings
from agentgov.streaming import home
from agentgov.streaming.lifecycle import run_until_stopped

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
settings = BudgetSettings.from_env()
runtime = home.resolve()


async def _main(stop: asyncio.Event) -> None:
    await serve(settings, runtime, stop)


asyncio.run(run_until_stopped(_main))
