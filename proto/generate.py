"""Regenerate the committed stubs from logs.proto: `uv run python proto/generate.py [OUT]`.

The proto folder is mapped to the import path `logs_proto`, so the generated gRPC module
imports `from logs_proto import logs_pb2` and the stubs work as an installed package. Types
come from mypy-protobuf: `logs_pb2.pyi` for the messages and `logs_pb2_grpc.pyi` for the
stub, servicer and registration function (grpcio-tools' own `.pyi` covers only messages).
"""

import sys
from pathlib import Path

from grpc_tools import protoc

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "src"
# mypy-protobuf's plugins, installed beside this interpreter (the workspace's dev group).
BIN = Path(sys.executable).parent


def generate(out: Path = DEFAULT_OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-Ilogs_proto={HERE}",
        f"--plugin=protoc-gen-mypy={BIN / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={BIN / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--mypy_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_grpc_out={out}",
        str(HERE / "logs.proto"),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
