"""The agentgov pytest plugin: real servers for tests (registered through the ``pytest11`` entry point).

Fixtures come from one module per kind of server; this module only gathers them.
"""

from __future__ import annotations

import pytest

from agentgov.testing.nats import *  # noqa: F403 - re-exported fixtures are how pytest plugins publish them
from agentgov.testing.nats import pytest_addoption as _nats_addoption
from agentgov.testing.redis import *  # noqa: F403
from agentgov.testing.sql import *  # noqa: F403


def pytest_addoption(parser: pytest.Parser) -> None:
    _nats_addoption(parser)
