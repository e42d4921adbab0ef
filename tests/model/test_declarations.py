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
