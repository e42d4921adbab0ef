import pytest

from mlv.errors import ManifestError
from mlv.model.declarations import (
    decode_declarations,
    merge_settings,
    template,
    with_artifact,
    without_artifact,
)


def test_template_parses_and_edits_keep_comments() -> None:
    text = template()
    assert decode_declarations(text).artifacts == {}
    edited = with_artifact(text, "data/raw", "data")
    edited = with_artifact(edited, "models/m.pkl", "model")
    decl = decode_declarations(edited)
    assert {p: a.kind for p, a in decl.artifacts.items()} == {
        "data/raw": "data",
        "models/m.pkl": "model",
    }
    assert "# mlv declarations" in edited
    back = without_artifact(edited, "data/raw")
    assert list(decode_declarations(back).artifacts) == ["models/m.pkl"]
    assert "# mlv declarations" in back


@pytest.mark.parametrize(
    "text",
    [
        "[artifacts\n",
        '[artifacts."data"]\nkind = "nonsense"\n',
        '[artifacts."../x"]\nkind = "data"\n',
        '[artifacts."a"]\nkind = "data"\n[artifacts."a/b"]\nkind = "data"\n',
        '[artifacts]\n"a" = 3\n',
        '[artifacts."a"]\nkind = "data"\ncolour = "red"\n',
        "[env]\nvariables = 3\n",
        '[env]\nvariables = ["SEED", "GITHUB_TOKEN"]\n',
        '[env]\nvariables = ["aws_secret_access_key"]\n',
        '[env]\nvariables = [""]\n',
        '[remotes.r]\nurl = "s3://b/p?token=T"\n',
        '[remotes.r]\nurl = "s3://b/p"\nendpoint_url = "http://u:pw@127.0.0.1:9000"\n',
        # One file on macOS and Windows: case twins, Unicode normalisation twins, .git inside.
        '[artifacts."M.pkl"]\nkind = "model"\n[artifacts."m.pkl"]\nkind = "model"\n',
        '[artifacts."Data/x"]\nkind = "data"\n[artifacts."data/y"]\nkind = "data"\n',
        '[artifacts."\u00e9.csv"]\nkind = "data"\n[artifacts."e\u0301.csv"]\nkind = "data"\n',
        '[artifacts."data/.GIT/hooks"]\nkind = "data"\n',
        '[artifacts."data/git~1"]\nkind = "data"\n',
    ],
)
def test_malformed_declarations(text: str) -> None:
    with pytest.raises(ManifestError):
        decode_declarations(text)


def test_settings_layers_and_validation() -> None:
    s = merge_settings({"link": "copy"}, {"link": "hardlink", "jobs": 3}, source="x")
    assert (s.link, s.jobs, s.cache_dir) == ("hardlink", 3, None)
    for bad in ({"link": "symlink"}, {"jobs": 0}, {"colour": 1}, {"cache_dir": 5}):
        with pytest.raises(ManifestError):
            merge_settings(bad, source="x")


def test_allowed_variables_and_remotes_decode() -> None:
    decl = decode_declarations(
        '[env]\nvariables = ["SEED", "CUDA_VISIBLE_DEVICES"]\n'
        '[remotes.r]\nurl = "ssh://git@host/store"\nendpoint_url = "http://u@127.0.0.1:9000"\n'
    )
    assert decl.env_variables == ("SEED", "CUDA_VISIBLE_DEVICES")
    assert decl.remotes["r"].endpoint_url == "http://u@127.0.0.1:9000"


def test_secret_variable_error_names_it_and_hints() -> None:
    with pytest.raises(ManifestError) as refused:
        decode_declarations('[env]\nvariables = ["MY_PASSWORD"]\n')
    assert "MY_PASSWORD" in refused.value.message and "looks like a secret" in refused.value.message
    assert refused.value.hint is not None and "remove MY_PASSWORD" in refused.value.hint
