"""A griffe extension: the package's numpydoc docstrings, made ready for Markdown.

mkdocstrings renders docstrings as Markdown, and the docstrings here are written for
numpydoc/Sphinx. Before griffe parses each one, this rewrites the two things that would
come out wrong:

* Sphinx roles (``:func:`~mirnamap.report.save_html```, ``:data:`REGIONS```) become
  *optional* cross-references: a link where the object has a page, plain code where it
  has none (a private helper, a Keras class), never a build warning;
* doctest lines (``>>>``) outside an ``Examples`` section become an ``Examples`` section
  (after another section, where numpydoc would read them as parameters) or a fenced
  code block (in free text, where Markdown would read ``a[0][1]`` as a link).

The docstrings themselves are not changed; ``--doctest-modules`` runs them as written.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:func|meth|class|mod|data|attr|obj|exc|const|ref):`(?P<target>[^`]+)`"
)
_SECTION = re.compile(r"^-{3,}\s*$")


def _reference(match: re.Match[str], scope: str) -> str:
    target = match["target"].strip()
    short = target.startswith("~")
    target = target.lstrip("~").removesuffix("()")
    title = target.rsplit(".", 1)[-1] if short else target
    identifier = target if target.startswith("mirnamap") else f"{scope}.{target}"
    return (
        f'<autoref identifier="{html.escape(identifier)}" optional>'
        f"<code>{html.escape(title)}</code></autoref>"
    )


def roles_to_links(text: str, scope: str) -> str:
    """``text`` with every Sphinx role turned into an optional cross-reference."""
    return _ROLE.sub(lambda m: _reference(m, scope), text)


def doctests_to_markdown(text: str) -> str:
    """Doctest runs outside an Examples section: under an Examples heading, or fenced."""
    lines = text.split("\n")
    out: list[str] = []
    section = None
    k = 0
    while k < len(lines):
        line = lines[k]
        if k + 1 < len(lines) and _SECTION.match(lines[k + 1]) and line.strip():
            section = line.strip()
        if line.lstrip().startswith(">>>") and section != "Examples":
            indent = line[: len(line) - len(line.lstrip())]
            run = []
            while k < len(lines) and lines[k].strip():
                run.append(lines[k][len(indent) :] if lines[k].startswith(indent) else lines[k])
                k += 1
            if section is None:
                out += [f"{indent}```python", *[indent + r for r in run], f"{indent}```"]
            else:
                if out and out[-1].strip():
                    out.append("")
                out += [f"{indent}Examples", f"{indent}--------", *[indent + r for r in run]]
                section = "Examples"
            continue
        out.append(line)
        k += 1
    return "\n".join(out)


class NumpydocForMarkdown(griffe.Extension):
    """Rewrite every docstring (roles and doctests) before it is parsed."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            scope = obj.path if obj.is_module else obj.module.path
            text = doctests_to_markdown(obj.docstring.value)
            obj.docstring.value = roles_to_links(text, scope)
