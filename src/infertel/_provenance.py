"""Model provenance: who the model is, where it came from, what code and data made it."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from infertel import conventions as c

_CHUNK = 1 << 20
_GIT_TIMEOUT_S = 2.0


class ModelInfo(BaseModel):
    """Provenance of one model version; becomes resource (or span) attributes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=100)
    artifact_digest: str | None = None
    dataset_version: str | None = None
    code_version: str | None = None
    params_hash: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    library_versions: dict[str, str] = Field(default_factory=dict)

    @field_validator("artifact_digest")
    @classmethod
    def _digest_has_algorithm(cls, value: str | None) -> str | None:
        if value is not None and ":" not in value:
            raise ValueError("artifact_digest must look like 'sha256:<hex>'")
        return value

    @classmethod
    def from_artifact(
        cls,
        path: str | os.PathLike[str],
        *,
        name: str,
        version: str,
        dataset_version: str | None = None,
        code_version: str | None = None,
        params: Mapping[str, Any] | None = None,
        framework: str | None = None,
        libraries: tuple[str, ...] = (),
    ) -> ModelInfo:
        """Describe a model stored at ``path`` (a file or a directory).

        The digest is a streamed sha256 over the file, or over every file of a directory in
        sorted order (relative names included), so moving the directory keeps its digest.
        ``code_version`` defaults to the git commit of the working directory, when there is one.
        """
        return cls(
            name=name,
            version=version,
            artifact_digest=artifact_digest(path),
            dataset_version=dataset_version,
            code_version=code_version if code_version is not None else detect_git_revision(),
            params_hash=params_hash(params) if params is not None else None,
            framework=framework,
            framework_version=_package_version(framework) if framework else None,
            library_versions={lib: v for lib in libraries if (v := _package_version(lib))},
        )

    def resource_attributes(self) -> dict[str, str]:
        """The provenance as OpenTelemetry attributes (absent values are left out)."""
        attributes = {
            c.MODEL_NAME: self.name,
            c.MODEL_VERSION: self.version,
            c.MODEL_ARTIFACT_DIGEST: self.artifact_digest,
            c.ARTIFACT_HASH: self.artifact_digest,
            c.DATASET_VERSION: self.dataset_version,
            c.CODE_VERSION: self.code_version,
            c.VCS_REVISION: self.code_version,
            c.MODEL_PARAMS_HASH: self.params_hash,
            c.MODEL_FRAMEWORK: self.framework,
            c.MODEL_FRAMEWORK_VERSION: self.framework_version,
        }
        return {key: value for key, value in attributes.items() if value}


def artifact_digest(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a file, or of a directory tree (names and contents, sorted)."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"model artifact not found: {root}")
    digest = hashlib.sha256()
    if root.is_file():
        _feed_file(digest, root)
    else:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            _feed_file(digest, file)
    return f"sha256:{digest.hexdigest()}"


def params_hash(params: Mapping[str, Any]) -> str:
    """A stable digest of training parameters (canonical JSON; unknown types by repr)."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=repr)
    return f"sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"


def detect_git_revision(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The HEAD commit of the git checkout around ``cwd``, or None (no git, not a checkout)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and revision else None


def _feed_file(digest: Any, file: Path) -> None:
    with file.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)


def _package_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
