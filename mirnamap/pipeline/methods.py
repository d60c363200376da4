"""The explanation methods: which there are, the default, and what each is good for.

:func:`list_methods` names every method :func:`~mirnamap.pipeline.explain_hairpins` takes
(the saliency backends and in-silico mutagenesis); :func:`methods_frame` tabulates them
with the verdicts of the ground-truth benchmark and the one-line guide (what
``mirnamap methods`` prints).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SEQUENCE_METHODS", "default_methods", "list_methods", "methods_frame"]


#: Methods that explain the sequence rather than the image (:mod:`mirnamap.mutagenesis`):
#: ``explain_hairpins`` takes them beside the saliency backends.
SEQUENCE_METHODS = ("ism",)


def list_methods() -> list[str]:
    """Every method :func:`explain_hairpins` takes: the saliency backends, then ``ism``."""
    from mirnamap.saliency import list_backends

    return [*list_backends(), *SEQUENCE_METHODS]


def methods_frame() -> pd.DataFrame:
    """Every method of :func:`list_methods` with what a user chooses it by.

    Columns: ``method``, ``default`` (bool), ``family``, ``passes`` (forward/backward
    passes per map), ``level`` ("good", "mixed", "poor" or "" where not benchmarked),
    ``verdict`` (of the ground-truth benchmark and the sanity check,
    :func:`mirnamap.report.load_verdicts`) and ``use`` (what to read the method for, in
    one line, :func:`mirnamap.report.load_guide`).
    """
    import pandas as pd

    from mirnamap.report import load_guide, load_verdicts
    from mirnamap.saliency import DEFAULT_METHOD, backend_info

    verdicts = load_verdicts()
    guide = load_guide()["methods"]
    rows = []
    for name in list_methods():
        if name in SEQUENCE_METHODS:
            family, passes = "mutagenesis (refolds each mutant)", "3 L folds + forwards"
        else:
            info = backend_info(name)
            family, passes = info.family, info.passes
        found = verdicts.get(name, {})
        rows.append({
            "method": name, "default": name == DEFAULT_METHOD, "family": family,
            "passes": passes, "level": found.get("level", ""),
            "verdict": found.get("verdict", "not in the ground-truth benchmark"),
            "use": guide.get(name, {}).get("use", ""),
        })  # fmt: skip
    return pd.DataFrame(rows)


def default_methods() -> tuple[str, ...]:
    from mirnamap.saliency import DEFAULT_METHOD

    return (DEFAULT_METHOD,)
