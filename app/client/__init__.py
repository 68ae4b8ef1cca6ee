"""The command-line client: `mindrender upscale` and `mindrender account` over the public HTTP API."""
