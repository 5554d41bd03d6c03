"""agentgov budget service: prices spend, projects it per window, alerts, keeps the caps replicas reserve against."""
