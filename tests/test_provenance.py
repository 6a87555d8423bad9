"""ModelInfo: streamed artifact digests, git code version, parameter hashes."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pydantic
import pytest

import infertel
from infertel import conventions as c
from infertel._provenance import artifact_digest, detect_git_revision, params_hash


def test_file_digest_is_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    artifact = tmp_path / "model.onnx"
    artifact.write_bytes(b"\x00weights" * 300_000)  # larger than one read chunk
    expected = hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert artifact_digest(artifact) == f"sha256:{expected}"


def test_directory_digest_is_stable_under_moves_and_changes_with_content(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    (model_dir / "sub").mkdir(parents=True)
    (model_dir / "weights.bin").write_bytes(b"abc")
    (model_dir / "sub" / "config.json").write_text("{}")
    first = artifact_digest(model_dir)
    moved = shutil.move(str(model_dir), tmp_path / "elsewhere")
    assert artifact_digest(moved) == first
    (Path(moved) / "sub" / "config.json").write_text('{"layers": 2}')
    assert artifact_digest(moved) != first
    # A rename inside the tree changes the digest too: names are part of the artifact.
    (Path(moved) / "sub" / "config.json").write_text("{}")
    (Path(moved) / "weights.bin").rename(Path(moved) / "weights2.bin")
    assert artifact_digest(moved) != first


def test_missing_artifact_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model artifact not found"):
        infertel.ModelInfo.from_artifact(tmp_path / "nope.pkl", name="m", version="1")


def test_code_version_is_detected_from_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    run = lambda *args: subprocess.run(  # noqa: E731
        ["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True)
    run("init", "-q")
    (tmp_path / "model.bin").write_bytes(b"w")
    run("add", "model.bin")
    run("-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "m")
    head = run("rev-parse", "HEAD").stdout.strip()
    assert detect_git_revision(tmp_path) == head
    monkeypatch.chdir(tmp_path)
    info = infertel.ModelInfo.from_artifact("model.bin", name="m", version="1")
    assert info.code_version == head
    assert info.resource_attributes()[c.VCS_REVISION] == head
    explicit = infertel.ModelInfo.from_artifact("model.bin", name="m", version="1",
                                                code_version="v9")
    assert explicit.code_version == "v9"


def test_outside_git_there_is_no_code_version(tmp_path: Path) -> None:
    assert detect_git_revision(tmp_path) is None


def test_params_hash_is_order_independent() -> None:
    assert params_hash({"a": 1, "b": [1, 2]}) == params_hash({"b": [1, 2], "a": 1})
    assert params_hash({"a": 1}) != params_hash({"a": 2})


def test_framework_version_is_read_from_installed_metadata(tmp_path: Path) -> None:
    artifact = tmp_path / "m.bin"
    artifact.write_bytes(b"x")
    info = infertel.ModelInfo.from_artifact(artifact, name="m", version="1",
                                            framework="pydantic", libraries=("structlog",))
    assert info.framework_version == pydantic.VERSION
    assert "structlog" in info.library_versions


def test_model_info_validates_its_fields() -> None:
    with pytest.raises(pydantic.ValidationError):
        infertel.ModelInfo(name="", version="1")
    with pytest.raises(pydantic.ValidationError, match="sha256"):
        infertel.ModelInfo(name="m", version="1", artifact_digest="abc")
