"""Turn the bytes of a text table (CSV, JSON Lines, JSON) into text.

The user's chosen encoding wins; otherwise a byte-order mark decides, then
UTF-8, then a mix of UTF-8 and legacy lines, then detection. Every guess adds
a note for the user, because a wrong guess silently garbles accents; bytes no
text encoding explains are refused as binary."""

from __future__ import annotations

import codecs
import re

from core.data.wording import SUPPORTED, line_list
from core.errors import InputError

BOMS = (  # UTF-32 LE before UTF-16 LE: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_FALLBACK_LEGACY = "cp1252"  # the usual legacy encoding of spreadsheet exports in Western locales
WINDOWS_CODE_PAGES = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "cp1255", "cp1256", "cp1258")


def _looks_binary(text: str) -> bool:
    """True for decoded content no text explains: NULs or many control characters."""
    sample = text[:65536]
    return len(_CONTROL_CHARS.findall(sample)) > 0.01 * max(1, len(sample)) or "\x00" in sample


def _refuse_binary(source: str) -> InputError:
    return InputError(
        f"the file does not look like a text table: it contains binary data. Upload {SUPPORTED}; "
        "if it is text in an unusual encoding, choose the encoding explicitly.",
        source=source,
    )


def _decode_as(data: bytes, encoding: str, source: str) -> str:
    """Decode with the user's chosen encoding, or say where it fails."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"'{encoding}' is not a known encoding; try utf-8, cp1252, latin-1 or utf-16.",
                         source=source) from None
    try:
        return data.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"the file cannot be read as {encoding}: byte 0x{data[exc.start]:02x} on line {line} is not valid in "
            "that encoding. Choose another encoding, or leave it empty to detect it.",
            source=source,
        ) from None


def _decode_mixed(data: bytes) -> tuple[str, str, tuple[str, ...]] | None:
    """Decode a file that is mostly UTF-8 but has some lines in a legacy
    encoding (typically rows pasted from another export): UTF-8 lines stay
    UTF-8, the others are read as cp1252. None if no line uses UTF-8's
    multi-byte characters, i.e. the file is not mixed but simply legacy."""
    lines = data.split(b"\n")
    decoded: list[str] = []
    bad: list[int] = []
    n_utf8_non_ascii = 0
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8"))
            n_utf8_non_ascii += not line.isascii()
        except UnicodeDecodeError:
            bad.append(number)
            try:
                decoded.append(line.decode(_FALLBACK_LEGACY))
            except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
                decoded.append(line.decode("latin-1"))
    if n_utf8_non_ascii == 0:
        return None
    note = (f"Mixed encodings: most lines are UTF-8, but {line_list(bad)} are not and were read as "
            f"{_FALLBACK_LEGACY}. Check those rows; re-save the file as UTF-8 to avoid this.")
    return "\n".join(decoded), "utf-8", (note,)


def _detect_legacy_encoding(data: bytes) -> str | None:
    """charset-normalizer's guess for non-UTF-8 bytes, or None if nothing fits.

    On short texts it often ranks a rare code page first (iso8859_10 for
    French, mac_cyrillic for Russian) where a Windows code page is about as
    plausible; Windows code pages are by far the usual source of such files
    (spreadsheet exports), so the first of ``WINDOWS_CODE_PAGES`` that is
    about as plausible as the best match wins."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for code_page in WINDOWS_CODE_PAGES:
        for match in matches:
            if (code_page in match.could_be_from_charset and match.chaos <= best.chaos + 0.1
                    and match.coherence >= best.coherence - 0.05):
                return code_page
    return best.encoding


def decode_text(data: bytes, source: str, encoding: str | None = None) -> tuple[str, str, tuple[str, ...]]:
    """(text, encoding used, notes). A given ``encoding`` is used as is; a BOM
    decides next; then UTF-8; then mixed UTF-8/legacy lines; then detection.
    Any guess adds a note, because a wrong guess silently garbles accents."""
    if encoding:
        return _decode_as(data, encoding, source), encoding, ()
    for bom, codec in BOMS:
        if data.startswith(bom):
            return _decode_as(data, codec, source), codec, ()
    text, used, notes = _guess_decoding(data)
    if text is None or _looks_binary(text):
        raise _refuse_binary(source)
    return text, used, notes


def _guess_decoding(data: bytes) -> tuple[str | None, str, tuple[str, ...]]:
    """UTF-8 if it decodes to text; else mixed lines; else charset-normalizer.
    UTF-16 without a BOM may decode as UTF-8 full of NULs, hence the check."""
    try:
        text = data.decode("utf-8")
        if "\x00" not in text:
            return text, "utf-8", ()
    except UnicodeDecodeError:
        pass
    mixed = _decode_mixed(data) if b"\x00" not in data else None
    if mixed is not None:
        return mixed
    detected = _detect_legacy_encoding(data)
    if detected is None:
        return None, "", ()
    note = f"Encoding not UTF-8: assumed {detected} (detected); choose another if texts look wrong."
    return data.decode(detected), detected, (note,)
