"""agentgov anomaly service: per-agent baselines, explained anomalies and the auto-pause circuit breaker."""
