"""The logger service: stores log entries in MongoDB through three doors (HTTP, RPC, gRPC)."""
