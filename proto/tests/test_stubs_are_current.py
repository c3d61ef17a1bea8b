"""The committed stubs are exactly what grpcio-tools makes of logs.proto today."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent.parent


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("proto_generate", HERE / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["proto_generate"] = module
    spec.loader.exec_module(module)
    return module


def test_regenerated_stubs_match_committed(tmp_path: Path) -> None:
    _load_generator().generate(tmp_path)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("logs_pb2*"))
    assert [str(p) for p in fresh] == [
        "logs_proto/logs_pb2.py",
        "logs_proto/logs_pb2.pyi",
        "logs_proto/logs_pb2_grpc.py",
        "logs_proto/logs_pb2_grpc.pyi",
    ]
    for rel in fresh:
        committed = HERE / "src" / rel
        assert committed.read_text() == (tmp_path / rel).read_text(), (
            f"{rel} is stale: run `uv run python proto/generate.py`"
        )


def test_service_is_logs_logservice_writelog() -> None:
    from logs_proto import logs_pb2

    service = logs_pb2.DESCRIPTOR.services_by_name["LogService"]
    assert service.full_name == "logs.LogService"
    method = service.methods_by_name["WriteLog"]
    assert method.input_type.full_name == "logs.LogRequest"
    assert method.output_type.full_name == "logs.LogResponse"
    assert [f.name for f in logs_pb2.LogRequest.DESCRIPTOR.fields] == ["logEntry"]
