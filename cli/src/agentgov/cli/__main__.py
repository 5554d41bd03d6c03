"""``python -m agentgov.cli``."""

from agentgov.cli.main import main

raise SystemExit(main())
