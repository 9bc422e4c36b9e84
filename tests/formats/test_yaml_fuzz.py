"""The loader never raises on any input: it returns documents, each with a value or an error."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socle.core.document import Document
from socle.core.errors import InputError
from socle.formats.yaml import iter_documents, quiet_native_stderr

_FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

_yamlish = st.lists(
    st.one_of(
        st.sampled_from(["---\n", "...\n", "- ", ": ", "? ", "\n", "  ", "\t", "[", "]", "{", "}",
                         ",", "#", "&a ", "*a", "!!str ", "!x ", "<<: ", "|", ">-", "|2+", "'",
                         '"', "\\", "%YAML 1.1\n", "%TAG ! x\n", "@", "`", "yes", "0x1F", "~",
                         "1e400", ".inf", "\r\n", "\x85", "\u2028", "\ufeff", "\x00", "\x0c",
                         "a", "key", "é", "😀", "\\ud83d", "\\x41", "-1", "08"]),
        st.text(max_size=8),
    ),
    max_size=40,
).map("".join)


def _check(docs: list[Document]) -> None:
    for doc in docs:
        assert doc.error is None or isinstance(doc.error, InputError)
        if doc.error is not None:
            assert doc.error.file == "fuzz.yaml" and doc.error.line is not None
            assert doc.error.line >= 1 and "\n" not in doc.error.message.strip()
        else:
            assert doc.obj is not None
        doc.positions()  # never raises either


def _load(data: bytes | str) -> None:
    with quiet_native_stderr():
        try:
            docs = list(iter_documents(data, "fuzz.yaml"))
        except InputError as err:  # decoding: binary or not UTF-8
            assert err.file == "fuzz.yaml" and err.line is not None and err.line >= 1
            return
    _check(docs)


@_FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _load(data)


@_FUZZ
@given(_yamlish)
def test_random_yamlish_text(text: str) -> None:
    _load(text)
    _load(text.encode("utf-8", "surrogatepass"))


@_FUZZ
@given(_yamlish, st.sampled_from(["utf-8", "utf-16", "utf-32", "utf-8-sig"]))
def test_random_yamlish_bytes_in_any_bom_encoding(text: str, codec: str) -> None:
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        return
    _load(data)


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(_yamlish)
def test_strict_mode_never_raises(text: str) -> None:
    with quiet_native_stderr():
        docs = list(iter_documents(text, "fuzz.yaml", strict=True))
    _check(docs)
