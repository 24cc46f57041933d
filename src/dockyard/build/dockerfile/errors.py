"""The Dockerfile error type (an InvalidArgument carrying the file name and line range) and Go-style quoting.

Messages follow BuildKit's wording, prefixed with the file and line: ``Dockerfile:3: unknown instruction: RNU``.
``legacy_message`` gives the wording of dockerd's classic builder (``dockerfile parse error line 3: ...``), which
the Engine API's ``POST /build`` returns for syntax errors.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

__all__ = ["DockerfileError", "go_quote"]


class DockerfileError(InvalidArgument):
    """A Dockerfile that cannot be parsed or typed. ``line``/``end_line`` are 1-based, 0 when unknown."""

    def __init__(
        self,
        detail: str,
        *,
        filename: str = "Dockerfile",
        line: int = 0,
        end_line: int = 0,
        parse_error: bool = True,
    ) -> None:
        self.detail = detail
        self.filename = filename
        self.line = line
        self.end_line = max(end_line, line)
        self.parse_error = parse_error
        where = f"{filename}:{line}" if line > 0 else filename
        super().__init__(f"{where}: {detail}")

    @property
    def legacy_message(self) -> str:
        """The message dockerd 20.10's classic builder returns (``dockerfile parse error line 4: ...``)."""
        if self.parse_error and self.line > 0:
            return f"dockerfile parse error line {self.line}: {self.detail}"
        return self.detail

    def located(self, filename: str, line: int, end_line: int = 0) -> DockerfileError:
        """The same error with a location, unless it already has one (like BuildKit's WithLocation)."""
        if self.line > 0:
            return self
        return DockerfileError(
            self.detail, filename=filename, line=line, end_line=end_line, parse_error=self.parse_error
        )


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(s: str) -> str:
    """Quote like Go's ``strconv.Quote`` (the ``%q`` verb), for error messages that must match Docker's."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            code = ord(ch)
            if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8 (surrogateescape)
                out.append(f"\\x{code - 0xDC00:02x}")
            elif code < 0x80:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)
