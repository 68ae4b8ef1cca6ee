"""Images and videos: what an upload is (by content), header reads and probes within limits, decoding within
a budget, encoding, metadata, and the worker's frame-by-frame video stream. Below the jobs domain."""
