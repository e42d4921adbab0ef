"""``mlv.toml``: what a person declares (artifacts, stages, remotes, settings).

Reading uses the standard TOML parser and validates into frozen records. Editing goes through
tomlkit so that a person's comments and layout survive ``mlv track`` and ``mlv untrack``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from mlv.errors import ManifestError, MlvError
from mlv.model.kinds import default_kind
from mlv.model.manifest import KINDS, Kind
from mlv.model.paths import check_artifact_path, find_collision, find_nested, same_file_message
from mlv.model.remotes import RemoteDecl, decode_remotes
from mlv.model.secrets import looks_secret
from mlv.model.stages import StageDecl, decode_stage, validate_pipeline
from mlv.model.table_config import TableConfig, decode_table_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DECLARATIONS_FILE = "mlv.toml"
LINK_TYPES = ("copy", "hardlink")

_TEMPLATE = """\
# mlv declarations: tracked artifacts, pipeline stages and settings.
# Edit by hand or with `mlv track`, `mlv untrack`, `mlv stage add`; mlv keeps your comments.

[settings]
# How checkout materialises files from the store: "copy" (reflink where the filesystem can,
# otherwise a real copy) or "hardlink" (fast, read-only files that share the store's inode).
link = "copy"

[env]
# Environment variables whose values are recorded in mlv.lock. Names that look like secrets
# (TOKEN, SECRET, PASSWORD, KEY, CREDENTIAL, ...) are refused: mlv.lock is committed to git.
variables = []

[artifacts]
"""


@dataclass(frozen=True, slots=True)
class Settings:
    """Settings that may come from mlv.toml, .mlv/config.toml or .mlv/config.local.toml."""

    cache_dir: str | None = None
    link: str = "copy"
    jobs: int | None = None


@dataclass(frozen=True, slots=True)
class ArtifactDecl:
    path: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Declarations:
    artifacts: dict[str, ArtifactDecl] = field(default_factory=dict)
    env_variables: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    stages: dict[str, StageDecl] = field(default_factory=dict)
    remotes: dict[str, RemoteDecl] = field(default_factory=dict)
    tables: TableConfig = field(default_factory=TableConfig)


def template() -> str:
    return _TEMPLATE


def parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(
            f"{source} is not valid TOML: {exc}", f"fix the syntax in {source}"
        ) from None
    except RecursionError:  # arrays or tables nested thousands deep
        raise ManifestError(
            f"{source} is not valid TOML: nested too deeply", f"fix the syntax in {source}"
        ) from None


def decode_declarations(text: str, source: str = DECLARATIONS_FILE) -> Declarations:
    """Parse and validate mlv.toml."""
    data = parse_toml(text, source)
    artifacts_raw = data.get("artifacts", {})
    if not isinstance(artifacts_raw, dict):
        raise ManifestError(f"{source}: [artifacts] must be a table")
    artifacts: dict[str, ArtifactDecl] = {}
    for path, spec in artifacts_raw.items():
        if not isinstance(spec, dict):
            raise ManifestError(
                f"{source}: artifacts.{path!r} must be a table",
                f'write it as [artifacts."{path}"] with kind = "data"',
            )
        kind = spec.get("kind", "data")
        if kind not in KINDS:
            raise ManifestError(
                f"{source}: artifact {path!r} has unknown kind {kind!r}",
                f"kinds are: {', '.join(KINDS)}",
            )
        unknown = set(spec) - {"kind"}
        if unknown:
            raise ManifestError(f"{source}: artifact {path!r} has unknown keys: {sorted(unknown)}")
        try:
            check_artifact_path(path)
        except MlvError as exc:
            raise ManifestError(f"{source}: {exc.message}", exc.hint) from None
        artifacts[path] = ArtifactDecl(path, cast(Kind, kind))
    stages_raw = data.get("stages", {})
    if not isinstance(stages_raw, dict):
        raise ManifestError(f"{source}: [stages] must be a table")
    stages = {name: decode_stage(name, spec, source) for name, spec in stages_raw.items()}
    validate_pipeline(stages)
    for stage in stages.values():
        # A stage's outputs are artifacts even when only the stage declares them.
        for out in stage.outputs:
            if out not in artifacts:
                artifacts[out] = ArtifactDecl(out, stage.kinds.get(out) or default_kind(out))
    nested = find_nested(list(artifacts))
    if nested is not None:
        raise ManifestError(
            f"{source}: artifact {nested[1]!r} lies inside artifact {nested[0]!r}",
            "track the outer directory or the inner path, not both",
        )
    collision = find_collision(artifacts)
    if collision is not None:
        raise ManifestError(
            f"{source}: {same_file_message('artifacts', collision)}",
            "rename one of them and declare it again; mlv keeps snapshots portable",
        )
    env = data.get("env", {})
    variables = env.get("variables", []) if isinstance(env, dict) else None
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        raise ManifestError(f"{source}: env.variables must be a list of variable names")
    for name in variables:
        check_variable(name, source)
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise ManifestError(f"{source}: [settings] must be a table")
    remotes = decode_remotes(data.get("remotes", {}), source)
    tables = decode_table_config(data.get("tables"), source)
    return Declarations(artifacts, tuple(variables), settings, stages, remotes, tables)


def check_variable(name: str, source: str = DECLARATIONS_FILE) -> str:
    """``name`` if its value may be recorded in mlv.lock; a ManifestError for a secret's name.

    mlv.lock is committed, and git history cannot forget, so a name that looks like a credential
    (``*_TOKEN``, ``*PASSWORD*``, ``AWS_SECRET_ACCESS_KEY``, ...) is refused outright.
    """
    if not name or "=" in name or "\0" in name:
        raise ManifestError(f"{source}: env.variables holds an invalid variable name {name!r}")
    if looks_secret(name):
        raise ManifestError(
            f"{source}: env.variables lists {name}, which looks like a secret;"
            " mlv never records secrets in mlv.lock (it is committed to git)",
            f"remove {name} from [env] variables in {source}; record a non-secret setting"
            " instead (names containing TOKEN, SECRET, PASSWORD, KEY, CREDENTIAL... are refused)",
        )
    return name


def merge_settings(*layers: Mapping[str, Any], source: str) -> Settings:
    """Later layers override earlier ones; unknown keys and bad values are errors."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    unknown = set(merged) - {"cache_dir", "link", "jobs"}
    if unknown:
        raise ManifestError(f"unknown setting(s) {sorted(unknown)} in {source}")
    link = merged.get("link", "copy")
    if link not in LINK_TYPES:
        raise ManifestError(
            f"setting link = {link!r} is not one of {', '.join(LINK_TYPES)}", f"fix it in {source}"
        )
    jobs = merged.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ManifestError(f"setting jobs = {jobs!r} must be a positive integer")
    cache_dir = merged.get("cache_dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise ManifestError("setting cache_dir must be a string path")
    return Settings(cache_dir=cache_dir, link=link, jobs=jobs)


def _with_entry(
    text: str, section: str, name: str, values: Mapping[str, Any], *, only_default: bool = False
) -> str:
    """mlv.toml text with ``[section.name]`` set to ``values`` (comments preserved).

    ``only_default`` removes ``default`` from the section's other entries first.
    """
    import tomlkit

    doc = tomlkit.parse(text)
    if section not in doc:
        doc[section] = tomlkit.table(is_super_table=section != "artifacts")
    entries = doc[section]
    if only_default:
        for other in entries.values():
            if "default" in other:
                del other["default"]
    table = tomlkit.table()
    for key, value in values.items():
        table[key] = value
    entries[name] = table
    return tomlkit.dumps(doc)


def _without_entry(text: str, section: str, name: str) -> str:
    """mlv.toml text without ``[section.name]`` (comments preserved)."""
    import tomlkit

    doc = tomlkit.parse(text)
    entries = doc.get(section)
    if entries is not None and name in entries:
        del entries[name]
    return tomlkit.dumps(doc)


def with_artifact(text: str, path: str, kind: str) -> str:
    """mlv.toml text with ``path`` declared as an artifact of ``kind``."""
    return _with_entry(text, "artifacts", path, {"kind": kind})


def without_artifact(text: str, path: str) -> str:
    return _without_entry(text, "artifacts", path)


def with_setting(text: str, key: str, value: str) -> str:
    import tomlkit

    doc = tomlkit.parse(text) if text.strip() else tomlkit.document()
    doc[key] = value
    return tomlkit.dumps(doc)


def with_stage(text: str, stage: StageDecl, kinds: Mapping[str, str]) -> str:
    """mlv.toml text with ``stage`` declared (replacing one of the same name) and its outputs
    declared as artifacts of the given kinds."""
    updated = _with_entry(text, "stages", stage.name, stage.to_toml())
    for out in stage.outputs:
        updated = with_artifact(updated, out, kinds[out])
    return updated


def with_remote(text: str, remote: RemoteDecl) -> str:
    """mlv.toml text with ``remote`` declared; when it is the default, no other one is."""
    return _with_entry(text, "remotes", remote.name, remote.to_toml(), only_default=remote.default)


def without_remote(text: str, name: str) -> str:
    return _without_entry(text, "remotes", name)
