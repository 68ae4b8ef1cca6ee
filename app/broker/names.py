"""Queue and task names, the one place a publisher and a worker agree on them."""

from __future__ import annotations

# Jobs go to gpu or cpu; sweeps and webhook deliveries to maintenance, served by `mindrender beat`'s own
# worker, so retention and deliveries never wait behind a long upscale (nor stop with no CPU worker alive).
JOB_QUEUES = ("gpu", "cpu")
MAINTENANCE_QUEUE = "maintenance"
QUEUES = (*JOB_QUEUES, MAINTENANCE_QUEUE)

UPSCALE_TASK = "mindrender.upscale"
SWEEP_TASK = "mindrender.sweep"
DELIVER_WEBHOOK_TASK = "mindrender.deliver_webhook"
WEBHOOKS_DUE_TASK = "mindrender.webhooks_due"
