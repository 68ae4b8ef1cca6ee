"""The shell lines README.md and docs/ give users: what they save is what they asked for."""

from __future__ import annotations

import re

from tests import support

DOCS = [support.ROOT / "README.md", *sorted((support.ROOT / "docs").glob("*.md"))]


def _curl_lines() -> list[tuple[str, list[str]]]:
    lines = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            if re.match(r"\s*curl\s", line):
                # Words, not a parse: a line may go on after a backslash, and options come before any quote.
                lines.append((f"{doc.name}:{number}", line.split("  #")[0].split()))
    return lines


def test_every_curl_that_saves_a_file_fails_on_an_error_instead_of_saving_it():
    """Without -f, curl saves a 404's or 409's JSON as big.png, and exits 0."""
    lines = _curl_lines()
    assert lines, "no curl line found in the docs"
    saving = [
        (where, words)
        for where, words in lines
        if {"-o", "-O", "--output"} & set(words)
        or any(re.fullmatch(r"-[a-zA-Z]*[oO]", word) for word in words)
    ]
    assert saving, "no curl line that saves a file: the test reads the docs wrongly"
    unsafe = [
        where
        for where, words in saving
        if "--fail" not in words and not any(re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", word) for word in words)
    ]
    assert not unsafe, f"curl without -f saves an error as the file: {unsafe}"
