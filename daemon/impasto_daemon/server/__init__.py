"""The ZeroMQ service around the engine: socket loop, job queue, workers, security, assembly."""
