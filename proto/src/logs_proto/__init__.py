"""Stubs generated from proto/logs.proto (package `logs`); regenerate with proto/generate.py."""

from logs_proto import logs_pb2, logs_pb2_grpc

__all__ = ["logs_pb2", "logs_pb2_grpc"]
