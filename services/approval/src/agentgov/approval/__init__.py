"""agentgov approval service: approval requests from review verdicts, expiry, notifiers and the approval history."""
