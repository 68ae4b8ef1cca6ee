"""Metric totals: counters in the database that jobs, credits and webhooks add to in their own units of
work, and /metrics (app/ops) reads. Below the domains that add to them."""
