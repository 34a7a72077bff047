"""Parsing prompt files: the format, every bad-input case, discovery."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from promptyard.errors import PromptFileError, PromptFilesError, UnsafeTemplateError
from promptyard.prompts.files import content_hash, discover, load_prompt_file, parse_prompt, scan
from promptyard.prompts.sandbox import load_block

GOOD = textwrap.dedent(
    """\
    ---
    name: greet
    version: 1.2.3
    description: Say hello.
    tags: [demo]
    changelog: First.
    model:
      provider: local
      model: smollm2-135m-instruct
      temperature: 0.3
      stop: ["\\n\\n"]
      fallbacks:
        - model: openai/gpt-4o-mini
          on: [rate_limited, timeout]
          degraded: true
      allow_degraded: true
    variables:
      who:
        type: string
        untrusted: true
        max_length: 50
      shots:
        type: list
        required: false
    output:
      required_sections: ["Hello"]
    ---
    {# a comment line before the first marker is fine #}

    [system]
    You are friendly. {# inline comment #}

    [cache-breakpoint]

    [assistant]
    Ready.
    [cache-breakpoint ttl=5m]
    [user]
    {% for s in shots %}
    Example: {{ s }}
    {% endfor %}
    Say hello to {{ who }}.
    """
)


def with_body(body: str, front: str = "name: t\nversion: 1.0.0\n") -> str:
    return f"---\n{front}---\n{textwrap.dedent(body)}"


def test_parses_front_matter_blocks_and_breakpoints() -> None:
    spec = parse_prompt(GOOD, path="prompts/greet/1.2.3.prompt")
    assert spec.ref == "greet@1.2.3"
    assert spec.model.temperature == 0.3
    assert spec.model.stop == ["\n\n"]
    fallback = spec.model.fallbacks[0]
    assert fallback.on == ["rate_limited", "timeout"]  # the YAML key `on:` is not read as True
    assert fallback.degraded is True
    assert spec.variables["who"].untrusted is True
    assert spec.variables["who"].max_length == 50
    assert spec.output.required_sections == ["Hello"]
    assert [(b.role, b.line) for b in spec.blocks] == [("system", 31), ("assistant", 36), ("user", 39)]
    assert spec.blocks[0].template == "You are friendly. {# inline comment #}"
    assert spec.blocks[2].template.startswith("{% for s in shots %}")
    assert [(bp.after_blocks, bp.ttl) for bp in spec.breakpoints] == [(1, "1h"), (2, "5m")]


def test_crlf_files_parse_and_hash_the_exact_text(tmp_path: Path) -> None:
    folder = tmp_path / "greet"
    folder.mkdir()
    file = folder / "1.2.3.prompt"
    raw = GOOD.replace("\n", "\r\n").encode()
    file.write_bytes(raw)
    loaded = load_prompt_file(file)
    assert loaded.content_hash == hashlib.sha256(raw).hexdigest() == content_hash(loaded.text)
    assert loaded.spec.blocks[0].line == 31
    assert "\r" not in loaded.spec.blocks[2].template


def _error(text: str, path: str | None = "prompts/t/1.0.0.prompt") -> PromptFileError:
    with pytest.raises(PromptFileError) as info:
        parse_prompt(text, path=path)
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("name: t\nversion: 1.0.0\n", 1, "starts with a '---' line"),
        ("---\nname: t\nversion: 1.0.0\n[user]\nhi\n", 1, "never closed"),
        (with_body("[user]\nhi\n", "name: t\nversion: 1.0.0\nmodel:\n  temperature: [0.1\n"), 5, "YAML error"),
        (with_body("[user]\nhi\n", "name: t\nversion: 1.0.0\ntemprature: 1\n"), 4, "temprature: unknown key"),
        (with_body("[user]\nhi\n", "name: t\nversion: 1.0.0\nmodel:\n  temprature: 1\n"), 5, "model.temprature"),
        (with_body("[user]\nhi\n", "name: t\nversion: 1.0.0\nmodel:\n  temperature: hot\n"), 5, "model.temperature"),
        (with_body("[user]\nhi\n", "name: t\nversion: 1.0.0\nname: u\n"), 4, "duplicate key 'name'"),
        (with_body("[user]\nhi\n", "name: t\nversion: 1.0.0\nblocks: []\n"), 4, "not a front-matter key"),
        (with_body("[user]\nhi\n", "version: 1.0.0\n"), 2, "missing 'name'"),
        (with_body("[user]\nhi\n", "name: t/u\nversion: 1.0.0\n"), 2, "not a valid prompt name"),
        (with_body("[user]\nhi\n", "name: t\nversion: 1.0.0\nvariables:\n  2x: {}\n"), 5, "not a valid identifier"),
        (
            with_body("[user]\n{{ x }}\n", "name: t\nversion: 1.0.0\nvariables:\n  x: {delimiter: 'a b'}\n"),
            5,
            "not a valid tag name",
        ),
        (
            with_body(
                "[user]\n{{ x }}\n", "name: t\nversion: 1.0.0\nvariables:\n  x:\n    type: integer\n    default: no\n"
            ),
            7,
            "not of type integer",
        ),
        (with_body("Hello\n[user]\nhi\n"), 5, "text before the first message marker"),
        (with_body("[user]\nhi\n[cache-breakpoint ttl=10m]\n[user]\nyo\n"), 7, "malformed marker"),
        (with_body("[System]\nhi\n"), 5, "malformed marker"),
        (with_body("[cache-breakpoint]\n[user]\nhi\n"), 5, "must follow a message block"),
        (with_body("[user]\nhi\n[cache-breakpoint]\n[cache-breakpoint]\n[user]\nyo\n"), 8, "two cache breakpoints"),
        (with_body("[system]\n\n[user]\nhi\n"), 5, "block is empty"),
        (with_body("\n\n"), 5, "no message blocks"),
        (with_body("[system]\nok\n\n[user]\nline one\nHello {{ name | }}\n"), 10, "template syntax error"),
        (with_body("[user]\n{% for x in xs %}\n{{ x }}\n"), 7, "template syntax error"),
        (with_body("[user]\n{% include 'other.prompt' %}\n"), 6, "not supported"),
    ],
)
def test_bad_input_names_file_and_line(text: str, line: int, needle: str) -> None:
    err = _error(text)
    assert err.path == "prompts/t/1.0.0.prompt"
    assert err.line == line
    assert needle in str(err)
    assert str(err).startswith(f"prompts/t/1.0.0.prompt:{line}: ")


def test_unknown_key_hint_lists_allowed_keys() -> None:
    err = _error(with_body("[user]\nhi\n", "name: t\nversion: 1.0.0\nmodel:\n  temprature: 1\n"))
    assert err.hint is not None
    assert "temperature" in err.hint


def test_line_is_reported_without_a_path() -> None:
    err = _error(with_body("[user]\n{{ x + }}\n"), path=None)
    assert err.line == 6
    assert str(err).startswith("line 6: ")


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "1.0.0.0", "01.0.0", "latest", "1"])
def test_non_semver_versions_are_refused(version: str) -> None:
    err = _error(with_body("[user]\nhi\n", f"name: t\nversion: '{version}'\n"), path=None)
    assert "not a semantic version" in str(err)
    assert err.line == 3


def test_unquoted_float_version_is_refused() -> None:
    err = _error(with_body("[user]\nhi\n", "name: t\nversion: 1.0\n"), path=None)
    assert "1.0" in str(err)
    assert "semantic version" in str(err)


def test_path_must_match_name_and_version() -> None:
    text = with_body("[user]\nhi\n")
    assert parse_prompt(text, path="prompts/t/1.0.0.prompt").name == "t"
    err = _error(text, path="prompts/other/1.0.0.prompt")
    assert "does not match the folder 'other'" in str(err)
    assert err.line == 2
    err = _error(text, path="prompts/t/1.0.1.prompt")
    assert "does not match the file name" in str(err)
    assert err.line == 3


UNSAFE = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ x['__class__'] }}",
    "{{ x|attr('__class__') }}",
    "{{ ''.__class__.mro() }}",
    "{{ xs|map(attribute='__class__')|list }}",
    "{{ xs|selectattr('a.__dict__')|list }}",
    "{{ __builtins__ }}",
    "{{ x._private }}",
    "{{ f.func_globals }}",
    "{{ '{0.__class__.__mro__}'.format(x) }}",
]


@pytest.mark.parametrize("expr", UNSAFE)
def test_unsafe_templates_are_refused_at_parse(expr: str) -> None:
    text = with_body(f"[system]\nfine\n[user]\nfirst line\n{expr}\n")
    with pytest.raises(UnsafeTemplateError) as info:
        parse_prompt(text, path="prompts/t/1.0.0.prompt")
    assert "prompts/t/1.0.0.prompt:9:" in str(info.value)
    assert "unsafe template" in str(info.value)
    # Refused before compilation: there is nothing that could run.
    assert load_block(f"first line\n{expr}").template is None


def test_harmless_underscores_in_strings_are_not_flagged() -> None:
    spec = parse_prompt(with_body("[user]\n{{ 'a_b'|replace('_', ' ') }} {% for _ in range(2) %}x{% endfor %}\n"))
    assert spec.blocks[0].role == "user"


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_discover_lists_every_bad_file_at_once(tmp_path: Path) -> None:
    _write(tmp_path, "t/1.0.0.prompt", with_body("[user]\nhi\n"))
    _write(tmp_path, "t/1.1.0.prompt", with_body("[user]\n{{ oops( }}\n", "name: t\nversion: 1.1.0\n"))
    _write(tmp_path, "u/1.0.0.prompt", with_body("[user]\n{{ ''.__class__ }}\n", "name: u\nversion: 1.0.0\n"))
    _write(tmp_path, "v/2.0.prompt", with_body("[user]\nhi\n", "name: v\nversion: '2.0'\n"))
    with pytest.raises(PromptFilesError) as info:
        discover(tmp_path)
    err = info.value
    assert len(err.errors) == 3
    message = str(err)
    assert "3 prompt files refused" in message
    assert f"{tmp_path / 't/1.1.0.prompt'}:6:" in message
    assert f"{tmp_path / 'u/1.0.0.prompt'}:6:" in message
    assert f"{tmp_path / 'v/2.0.prompt'}:3:" in message
    assert len(err.problems) == 3
    good, errors = scan(tmp_path)
    assert [f.spec.ref for f in good] == ["t@1.0.0"]
    assert len(errors) == 3


def test_discover_returns_parsed_files_sorted(tmp_path: Path) -> None:
    _write(tmp_path, "b/1.0.0.prompt", with_body("[user]\nhi\n", "name: b\nversion: 1.0.0\n"))
    _write(tmp_path, "a/1.0.0.prompt", with_body("[user]\nhé 東京\n", "name: a\nversion: 1.0.0\n"))
    files = discover(tmp_path)
    assert [f.spec.ref for f in files] == ["a@1.0.0", "b@1.0.0"]
    assert files[0].spec.blocks[0].template == "hé 東京"
    assert files[0].content_hash == hashlib.sha256(files[0].path.read_bytes()).hexdigest()


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t" / "1.0.0.prompt"
    path.parent.mkdir()
    path.write_bytes(b"---\nname: t\nversion: 1.0.0\n---\n[user]\n\xff\n")
    with pytest.raises(PromptFilesError, match="not UTF-8"):
        discover(tmp_path)


def test_constrain_must_name_a_list_variable() -> None:
    front = (
        "name: t\nversion: 1.0.0\nmodel:\n  constrain: cited_extractive\nvariables:\n  documents:\n    type: string\n"
    )
    with pytest.raises(PromptFileError, match="not a declared list variable"):
        parse_prompt(with_body("[user]\n{{ documents }}\n", front))
    ok = parse_prompt(with_body("[user]\n{{ documents }}\n", front.replace("type: string", "type: list")))
    assert ok.model.constrain is not None
    assert ok.model.constrain.kind == "cited_extractive"


def test_context_block_parses_and_bad_values_name_the_field() -> None:
    front = "name: t\nversion: 1.0.0\ncontext:\n  sentences: 2\n  ranking: idf\n"
    spec = parse_prompt(with_body("[user]\nhi\n", front))
    assert spec.context is not None
    assert (spec.context.sentences, spec.context.sentences_total, spec.context.ranking) == (2, 0, "idf")
    assert parse_prompt(with_body("[user]\nhi\n")).context is None
    for bad, needle in [
        ("context:\n  sentences: 0\n", "context.sentences"),
        ("context:\n  sentences: 1\n  ranking: bm25\n", "context.ranking"),
        ("context:\n  sentence: 1\n", "context.sentence"),
    ]:
        assert needle in str(_error(with_body("[user]\nhi\n", "name: t\nversion: 1.0.0\n" + bad)))
