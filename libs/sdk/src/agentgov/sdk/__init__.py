"""agentgov Python SDK."""
