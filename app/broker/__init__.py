"""The task broker as the API and the workers both see it: queue and task names, the Celery app's
configuration (`make_celery`), and publishing after commit. Below every domain; imports no workers/."""
