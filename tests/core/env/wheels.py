"""Real wheels made inside the tests (no index, no network): a tiny package in any version, and
wheels repacked from the distributions installed here (what mlv itself needs to run), so that a
small virtual environment can run mlv and be restored offline with --no-index --find-links."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

# What `mlv snapshot` imports (pyarrow, duckdb and fastdigest are imported only for tables).
MLV_RUNTIME = (
    "click", "rich", "markdown-it-py", "mdurl", "pygments", "xxhash", "msgspec", "tomlkit",
    "pyyaml", "fsspec", "packaging",
)  # fmt: skip


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(out: Path, name: str, version: str, files: dict[str, bytes], tag: str) -> Path:
    """A wheel as the spec describes it: the files, METADATA, WHEEL and RECORD."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        **files,
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: mlv-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
        ).encode(),
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{dist}-{version}-{tag}.whl"
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


def tiny_wheel(out: Path, version: str, name: str = "tinypkg") -> Path:
    """``tinypkg`` at ``version``: a module that knows its version."""
    module = name.replace("-", "_")
    code = f'__version__ = "{version}"\n'.encode()
    return write_wheel(out, name, version, {f"{module}/__init__.py": code}, "py3-none-any")


def repack(out: Path, name: str) -> Path:
    """A wheel of the installed distribution ``name``, made from the files its RECORD lists."""
    dist = metadata.distribution(name)
    files: dict[str, bytes] = {}
    for entry in dist.files or []:
        text = str(entry)
        if text.startswith("..") or "__pycache__" in text or text.endswith((".pyc", "RECORD")):
            continue
        if ".dist-info/" in text and not text.endswith(("METADATA", "WHEEL", "LICENSE")):
            continue
        files[text] = Path(str(dist.locate_file(entry))).read_bytes()
    wheel_text = dist.read_text("WHEEL") or ""
    tags = [ln.split(":", 1)[1].strip() for ln in wheel_text.splitlines() if ln.startswith("Tag:")]
    tag = tags[0] if tags else "py3-none-any"
    infos = {str(e).split("/", 1)[0] for e in dist.files or [] if ".dist-info/" in str(e)}
    real = sorted(infos)[0].removesuffix(f"-{dist.version}.dist-info") if infos else name
    info = f"{real.replace('-', '_')}-{dist.version}.dist-info"
    files = {k: v for k, v in files.items() if not k.endswith((".dist-info/METADATA", "WHEEL"))}
    meta = dist.read_text("METADATA") or ""
    files[f"{info}/METADATA"] = meta.encode()
    return write_wheel(out, real, dist.version, files, tag)


def runtime_wheels(out: Path) -> Path:
    for name in MLV_RUNTIME:
        repack(out, name)
    return out


def small_venv(path: Path, wheels: Path, *extra: str) -> Path:
    """A virtual environment (made with uv) holding mlv's runtime and ``extra`` requirements,
    with the mlv under test linked in by a .pth file; returns its interpreter."""
    from mlv.adapters.installer import find_uv

    uv = find_uv()
    assert uv is not None
    subprocess.run(
        [uv, "venv", "-q", "--no-project", "--python", sys.executable, str(path)], check=True
    )
    python = path / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), "--no-index", "--find-links",
         str(wheels), "--no-deps", *MLV_RUNTIME, *extra],
        check=True,
    )  # fmt: skip
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    import mlv

    (Path(purelib) / "_mlv_under_test.pth").write_text(f"{Path(mlv.__file__).parent.parent}\n")
    return python
