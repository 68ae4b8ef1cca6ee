"""How long a job will take: each worker's measured speed per model, estimates, refusing what can't finish."""
