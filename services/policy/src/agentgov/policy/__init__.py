"""agentgov policy service: the policy language and the decision path."""
