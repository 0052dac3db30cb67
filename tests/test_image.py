"""The app image (host/image.py): what goes on a device, compiled per architecture, with a
manifest that the device can check; and installing it into a device folder."""

import hashlib
import json

import pytest

from hardware import boards
from host import image
from host.errors import ToasterError

# mpy header byte 2 holds the native architecture in its top six bits (py/persistentcode.h).
MPY_ARCH = {"x64": 2, "armv6m": 4, "xtensawin": 10}


@pytest.fixture(scope="module")
def images():
    return {board: image.build(board) for board in boards.BOARDS}


@pytest.mark.parametrize("board", boards.BOARDS)
def test_every_module_compiled_for_the_boards_architecture(images, board):
    img = images[board]
    arch = boards.compose(board)["arch"]
    modules = [rel for rel in img.files if rel.startswith("firmware/")]
    assert modules and all(rel.endswith(".mpy") for rel in modules)
    archs = {img.files[rel][2] >> 2 for rel in modules}
    assert all(img.files[rel][:2] == b"M\x06" for rel in modules)
    # Bytecode-only modules carry no architecture; the viper kernels carry the board's.
    assert archs == {0, MPY_ARCH[arch]}


@pytest.mark.parametrize("board", boards.BOARDS)
def test_only_this_boards_driver_and_no_selector(images, board):
    names = set(images[board].files)
    assert "firmware/boards/%s.mpy" % board in names
    for other in boards.BOARDS:
        if other != board:
            assert "firmware/boards/%s.mpy" % other not in names
    assert not any(rel.startswith("firmware/boot/") for rel in names)
    assert {"firmware/__init__.mpy", "firmware/app.mpy", "firmware/protocol.mpy"} <= names


@pytest.mark.parametrize("board", boards.BOARDS)
def test_manifest_lists_every_file_with_its_sha256(images, board):
    img = images[board]
    manifest = json.loads(img.manifest_bytes())
    assert manifest["board"] == board
    assert manifest["version"] == img.version
    assert set(manifest["files"]) == set(img.files)
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256(img.files[rel]).hexdigest() == digest
    assert json.loads(img.files["board.json"]) == boards.compose(board)


def test_version_names_the_content():
    first = image.build("sim")
    assert image.build("sim").version == first.version  # reproducible
    assert "," not in first.version and first.version.count("+") == 1
    changed = dict(first.files, **{"firmware/extra.mpy": b"M\x06"})
    assert image.default_version(changed) != first.version


def test_source_image_keeps_python():
    img = image.build("sim", compile=False)
    assert "firmware/app.py" in img.files
    assert not any(rel.endswith(".mpy") for rel in img.files)


def test_unknown_board_is_a_clear_error():
    with pytest.raises(ToasterError, match="unknown board 'esp8266'"):
        image.build("esp8266")


def test_syntax_error_names_the_file(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("def f(:\n")
    with pytest.raises(ToasterError, match=r"firmware/broken\.py for x64"):
        image.compile_all({"firmware/broken.py": bad}, "x64")


def _package(folder, tflite=b"TFL3 model bytes", sha=None):
    folder.mkdir()
    (folder / "model.tflite").write_bytes(tflite)
    (folder / "model.json").write_text(json.dumps(
        {"id": "m1", "sha256": sha or hashlib.sha256(tflite).hexdigest()}))
    return folder


def test_model_package_goes_into_model_folder(tmp_path):
    img = image.build("sim", model=_package(tmp_path / "pkg"))
    assert img.files["model/model.tflite"] == b"TFL3 model bytes"
    assert "model/model.json" in img.manifest["files"]


def test_model_package_with_wrong_hash_is_refused(tmp_path):
    with pytest.raises(ToasterError, match="does not match the SHA-256"):
        image.build("sim", model=_package(tmp_path / "pkg", sha="0" * 64))


def test_model_package_missing_file_is_refused(tmp_path):
    folder = _package(tmp_path / "pkg")
    (folder / "model.tflite").unlink()
    with pytest.raises(ToasterError, match="model.tflite is missing"):
        image.build("sim", model=folder)


def _image(version, extra=b""):
    return image.Image("sim", version, {
        "firmware/__init__.py": b"",
        "firmware/app.py": b"VERSION = %r\n%s" % (version.encode(), extra),
        "board.json": b"{}",
    })


def test_install_alternates_slots_and_switches_last(tmp_path):
    fs = tmp_path / "fs"
    assert image.install(_image("1"), fs) == "a"
    assert (fs / "main.py").read_bytes() == image.SELECTOR.read_bytes()
    assert image.active_slot(fs) == "a"
    assert image.install(_image("2"), fs) == "b"
    assert image.active_slot(fs) == "b"
    assert image.read_manifest(fs, "a")["version"] == "1"  # the previous one stays whole
    assert image.install(_image("3"), fs) == "a"
    assert image.read_manifest(fs, "a")["version"] == "3"
    assert not list(fs.rglob("*.new"))


def test_install_removes_files_the_new_image_does_not_have(tmp_path):
    fs = tmp_path / "fs"
    big = _image("1")
    big.files["firmware/old.py"] = b"x = 1\n"
    image.install(big, fs)
    image.install(_image("2"), fs)
    image.install(_image("3"), fs)   # back into slot a, where old.py was
    assert not (fs / "a" / "firmware" / "old.py").exists()
    assert set(image.read_manifest(fs, "a")["files"]) == set(_image("3").files)
