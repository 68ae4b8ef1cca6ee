"""Billing through Stripe: monthly plans and one-time credit packs, granted from signed Stripe events."""
