"""The agentgov pytest plugin: real servers for tests (registered through the ``pytest11`` entry point).

Fixtures come from one module per kind of server; this module only gathers them.
"""

from __future__ import annotations

from agentgov.testing.nats import *  # noqa: F403 - re-exported fixtures are how pytest plugins publish them
from agentgov.testing.nats import pytest_addoption  # noqa: F401 - the hook adding --nats-url
from agentgov.testing.redis import *  # noqa: F403
from agentgov.testing.sql import *  # noqa: F403
