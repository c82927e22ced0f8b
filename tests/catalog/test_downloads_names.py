"""Server-made download names and RFC 6266 headers."""

from __future__ import annotations

from catalog.downloads import content_disposition, safe_filename


def test_safe_filename_keeps_only_plain_characters() -> None:
    assert safe_filename("../../etc/passwd") == "etc_passwd"
    assert safe_filename('a"b;\r\nc.nc') == "a_b_c.nc"
    assert safe_filename("Sagar Kanya sounding.txt") == "Sagar_Kanya_sounding.txt"
    assert safe_filename("...") == "data"
    assert len(safe_filename("x" * 500)) == 120


def test_content_disposition_has_ascii_fallback_and_utf8_name() -> None:
    header = content_disposition("Mét Öbs.nc")
    assert header == "attachment; filename=\"Met_Obs.nc\"; filename*=UTF-8''M%C3%A9t%20%C3%96bs.nc"
    assert "\n" not in content_disposition("a\nb")
