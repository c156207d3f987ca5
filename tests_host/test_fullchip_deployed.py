"""The kept flash images of the full-chip board (`pytest --firmware UF2`): one
per image, firmware, key and board, reused while none of them changes."""

from __future__ import annotations

from picostim.fullchip import deployed


def test_the_kept_image_is_named_by_image_key_and_firmware(tmp_path, monkeypatch):
    image = tmp_path / "a.uf2"
    image.write_bytes(b"image one")
    first = deployed._fingerprint(image, b"k" * 32, "pico")
    assert first == deployed._fingerprint(image, b"k" * 32, "pico")
    assert first != deployed._fingerprint(image, b"j" * 32, "pico")
    image.write_bytes(b"image two")
    assert first != deployed._fingerprint(image, b"k" * 32, "pico")


def test_a_kept_image_is_used_without_deploying_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    image = tmp_path / "a.uf2"
    image.write_bytes(b"image")
    kept = deployed.cache_dir() / f"{deployed._fingerprint(image, b'k' * 32, 'pico')}.img"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"flash")

    def no_board(*args, **kwargs):
        raise AssertionError("deployed again")

    monkeypatch.setattr(deployed, "FullChipProcess", no_board)
    assert deployed.deployed_flash(image, b"k" * 32) == kept
