"""Outgoing webhooks: endpoints, signed messages (Standard Webhooks), retried delivery, an SSRF guard."""
