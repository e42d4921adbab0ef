"""Hand-written mlv.toml: stage, remote and table specs that are malformed are refused with a
message naming the place (``mlv.toml: stages.NAME...``), and what is left out gets its default."""

from __future__ import annotations

import pytest

from mlv.errors import ManifestError, UsageError
from mlv.model.declarations import decode_declarations
from mlv.model.remotes import check_url, decode_remotes
from mlv.model.stages import ParamSpec, decode_stage


def refusal(text: str) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        decode_declarations(text)
    return info.value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("artifacts = 3\n", "mlv.toml: [artifacts] must be a table"),
        ("stages = []\n", "mlv.toml: [stages] must be a table"),
        ("settings = 1\n", "mlv.toml: [settings] must be a table"),
        ('remotes = "dir"\n', "mlv.toml: [remotes] must be a table"),
    ],
)
def test_a_section_that_is_not_a_table(text: str, message: str) -> None:
    assert refusal(text).message == message


def test_toml_nested_too_deeply_is_a_clear_error() -> None:
    error = refusal("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert error.message == "mlv.toml is not valid TOML: nested too deeply"
    assert error.hint == "fix the syntax in mlv.toml"


STAGE = '[stages.s]\ncmd = "python s.py"\nouts = ["out"]\n'


@pytest.mark.parametrize(
    ("extra", "message", "hint"),
    [
        ('stages.s = "python s.py"\n', "mlv.toml: stages.s must be a table", None),
        (
            STAGE + "colour = 1\n",
            "mlv.toml: stages.s has unknown keys: ['colour']",
            "stage keys are: cmd, deps, kinds, metrics, outs, params",
        ),
        (
            '[stages.s]\ncmd = "  "\nouts = ["out"]\n',
            "mlv.toml: stages.s has no command",
            'give it one: cmd = "python train.py"',
        ),
        ('[stages.s]\nouts = ["out"]\n', "mlv.toml: stages.s has no command", None),
        (STAGE + 'deps = "in.csv"\n', "mlv.toml: stages.s.deps must be a list of strings", None),
        (STAGE + "metrics = [1]\n", "mlv.toml: stages.s.metrics must be a list of strings", None),
        (
            STAGE + 'params = ["p.json:"]\n',
            "params 'p.json:' names no key",
            "write FILE or FILE:key1,key2",
        ),
        (
            STAGE + 'deps = ["../in.csv"]\n',
            "mlv.toml: stages.s: dependency '../in.csv' is not normalised or leaves the repository",
            "use a plain relative path without '.', '..' or empty components",
        ),
        (
            STAGE + 'params = ["/etc/p.json"]\n',
            "mlv.toml: stages.s: params file '/etc/p.json' is absolute",
            "paths are relative to the repository root",
        ),
        (STAGE + "kinds = 3\n", "mlv.toml: stages.s.kinds must be a table of output = kind", None),
        (
            STAGE + 'kinds = {other = "model"}\n',
            "mlv.toml: stages.s.kinds names 'other', which is not an output",
            None,
        ),
        (
            STAGE + 'kinds = {out = "weights"}\n',
            "mlv.toml: stages.s: unknown kind 'weights'",
            "kinds are: data, features, model, env, metrics, other",
        ),
    ],
)
def test_a_malformed_stage(extra: str, message: str, hint: str | None) -> None:
    error = refusal(extra)
    assert error.message == message
    if hint is not None:
        assert error.hint == hint
    assert isinstance(error, UsageError) and error.exit_code == 2


def test_a_stage_output_not_under_artifacts_is_an_artifact_of_its_declared_or_default_kind() -> (
    None
):
    decl = decode_declarations(
        '[stages.s]\ncmd = "python s.py"\nouts = ["m.txt", "data/x"]\nmetrics = ["metrics.json"]\n'
        'kinds = {"m.txt" = "model"}\n'
    )
    kinds = {path: a.kind for path, a in decl.artifacts.items()}
    assert kinds == {"m.txt": "model", "data/x": "data", "metrics.json": "metrics"}


def test_decode_stage_keeps_what_is_declared() -> None:
    stage = decode_stage(
        "train",
        {
            "cmd": "python t.py",
            "deps": ["d"],
            "outs": ["m"],
            "params": ["p.yaml:lr, seed", "q.json"],
        },
        "mlv.toml",
    )
    assert (stage.cmd, stage.deps, stage.outputs) == ("python t.py", ("d",), ("m",))
    assert stage.params == (ParamSpec("p.yaml", ("lr", "seed")), ParamSpec("q.json", ()))


TYPES = (
    "mlv.toml: remotes.r: url (string), default (true/false), endpoint_url (string),"
    " packs (true/false) expected"
)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"r": "/mnt/store"}, 'mlv.toml: remotes.r must be a table with url = "..."'),
        ({"r": {"url": "/x", "region": "eu"}}, "mlv.toml: remotes.r has unknown keys: ['region']"),
        (
            {"r": {"url": 3}},
            TYPES,
        ),
        (
            {"r": {"url": "/x", "default": "yes"}},
            TYPES,
        ),
        (
            {"r": {"url": "s3://b", "endpoint_url": 9000}},
            TYPES,
        ),
        ({"r": {"url": "s3://b", "packs": "no"}}, TYPES),
        ({"r": {"url": " "}}, "mlv.toml: remotes.r: the remote URL is empty"),
        (
            {"r": {"url": "s3://b", "endpoint_url": ""}},
            "mlv.toml: remotes.r: the endpoint URL is empty",
        ),
        (
            {"a": {"url": "/a", "default": True}, "b": {"url": "/b", "default": True}},
            "mlv.toml: more than one remote has default = true",
        ),
    ],
)
def test_a_malformed_remote(raw: object, message: str) -> None:
    with pytest.raises(ManifestError) as info:
        decode_remotes(raw, "mlv.toml")
    assert info.value.message == message


def test_one_default_remote_decodes() -> None:
    remotes = decode_remotes(
        {
            "a": {"url": "/a", "default": True},
            "b": {"url": "s3://b/p", "endpoint_url": "http://h:9000"},
        },
        "mlv.toml",
    )
    assert [(r.name, r.default, r.endpoint_url) for r in remotes.values()] == [
        ("a", True, None),
        ("b", False, "http://h:9000"),
    ]


def test_an_empty_url_is_bad_input_with_a_hint() -> None:
    with pytest.raises(UsageError) as info:
        check_url("\t")
    assert (info.value.message, info.value.hint) == (
        "the remote URL is empty",
        "give a directory path or s3://bucket/prefix",
    )
