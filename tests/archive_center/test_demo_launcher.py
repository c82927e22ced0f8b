"""The demo launcher's folder rules, configs and port check."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from archive_center.demo.campaign import CENTERS
from archive_center.demo.launcher import (
    DemoError,
    DemoLayout,
    check_ports_free,
    prepare_root,
    write_configs,
    write_marker,
)
from web.settings import load_settings


def test_a_folder_that_is_not_a_demo_is_never_deleted(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(DemoError, match="not a FieldCat demo folder"):
        prepare_root(DemoLayout(tmp_path), seed=1, fresh=True)
    assert (tmp_path / "thesis.tex").exists()


def test_a_seeded_root_is_reused_and_an_unfinished_one_recreated(tmp_path: Path) -> None:
    layout = DemoLayout(tmp_path / "demo")
    assert prepare_root(layout, seed=1, fresh=False) is False
    write_marker(layout, seed=1, seeded=False)
    (layout.root / "half-seeded").write_text("x")
    assert prepare_root(layout, seed=1, fresh=False) is False
    assert not (layout.root / "half-seeded").exists(), "an interrupted seeding starts over"
    write_marker(layout, seed=1, seeded=True)
    (layout.root / "kept").write_text("x")
    assert prepare_root(layout, seed=1, fresh=False) is True
    assert (layout.root / "kept").exists()
    assert prepare_root(layout, seed=2, fresh=False) is False, "another seed regenerates"
    assert not (layout.root / "kept").exists()


def test_configs_load_and_name_the_other_centers_as_peers(tmp_path: Path) -> None:
    layout = DemoLayout(tmp_path)
    paths = write_configs(layout, "127.0.0.1", 9100)
    for i, center in enumerate(CENTERS):
        settings = load_settings(paths[center.code])
        assert settings.center_code == center.code
        assert settings.port == 9100 + i
        assert settings.public_url == f"http://127.0.0.1:{9100 + i}"
        assert settings.root == layout.center_root(center.code).resolve()
        assert settings.effective_database_url.startswith("sqlite:///")
        assert {p.code for p in settings.peers} == {c.code for c in CENTERS} - {center.code}
        assert all(p.key_id and len(p.secret) >= 32 for p in settings.peers)
    joss = {p.code: p for p in load_settings(paths["JOSS"]).peers}
    npl = {p.code: p for p in load_settings(paths["NPL"]).peers}
    assert (joss["NPL"].key_id, joss["NPL"].secret) == (npl["JOSS"].key_id, npl["JOSS"].secret)
    assert joss["LMD"].secret != joss["NPL"].secret, "a key per pair"
    again = write_configs(layout, "127.0.0.1", 9200)
    assert load_settings(again["JOSS"]).peers[0].secret in {p.secret for p in joss.values()}


def test_a_busy_port_is_reported_before_anything_starts() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(DemoError, match=f"port {port}"):
            check_ports_free("127.0.0.1", [port])
