"""Rate limits: per IP, per account, on sign-ups, logins and job submissions."""
