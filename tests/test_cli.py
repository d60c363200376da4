"""The command line: fold and encode end to end, help, and unusable input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import GOOD, run_subprocess, tsv_rows

from mirnamap.cli import build_parser, main
from mirnamap.encode import load_encoding
from mirnamap.fold import load_folds

FASTA = """>hsa-let-7a-1
UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA
>stemless
AAAAAAAAAA
>bad
ACGUNACGU
>hsa-mir-21
UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA
"""


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "in.fa"
    path.write_text(FASTA)
    return path


def test_fold_then_encode(tmp_path, fasta, capsys):
    assert main(["fold", str(fasta), "-o", str(tmp_path / "f.tsv"), "--workers", "1"]) == 0
    folds = load_folds(tmp_path / "f.tsv")
    assert [f.id for f in folds] == ["hsa-let-7a-1", "stemless", "bad", "hsa-mir-21"]
    assert [f.ok for f in folds] == [True, True, False, True]
    err = capsys.readouterr().err
    assert "1 of 4 records could not be folded" in err and "bad\tinvalid character 'N'" in err

    out = tmp_path / "images.npz"
    code = main(["encode", str(tmp_path / "f.tsv"), "-o", str(out), "--png", str(tmp_path / "png")])
    assert code == 0
    enc = load_encoding(out)
    assert enc.ids == ("hsa-let-7a-1", "hsa-mir-21")
    assert [(f.id, f.index) for f in enc.failures] == [("stemless", 1), ("bad", 2)]
    assert "no hairpin loop" in enc.failures[0].reason
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "hsa-let-7a-1.png",
        "hsa-mir-21.png",
        "index.tsv",
    ]
    index = (tmp_path / "png" / "index.tsv").read_text().splitlines()
    assert index == ["id\tfile", "hsa-let-7a-1\thsa-let-7a-1.png", "hsa-mir-21\thsa-mir-21.png"]
    err = capsys.readouterr().err
    assert "2 of 4 records could not be encoded" in err and "stemless" in err


def test_encode_straight_from_fasta_equals_via_tsv(tmp_path, fasta):
    main(["fold", str(fasta), "-o", str(tmp_path / "f.tsv"), "--workers", "1"])
    main(["encode", str(tmp_path / "f.tsv"), "-o", str(tmp_path / "a.npz")])
    main(["encode", str(fasta), "-o", str(tmp_path / "b.npz"), "--workers", "1"])
    a, b = load_encoding(tmp_path / "a.npz"), load_encoding(tmp_path / "b.npz")
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.layout, b.layout)
    assert a.failures == b.failures


@pytest.mark.parametrize("content", ["not fasta\n", "", "id\tname\nx\ty\n"])
def test_unusable_input_exits_2_with_a_message(tmp_path, content, capsys):
    path = tmp_path / "x.txt"
    path.write_text(content)
    assert main(["encode", str(path), "-o", str(tmp_path / "o.npz")]) == 2
    assert "mirnamap encode: error:" in capsys.readouterr().err
    assert main(["fold", str(path), "-o", str(tmp_path / "o.tsv")]) == 2
    assert ("empty file" if not content else "not a FASTA file") in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["fold", str(tmp_path / "nope.fa"), "-o", str(tmp_path / "o.tsv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_all_records_failing_exits_1(tmp_path):
    path = tmp_path / "bad.fa"
    path.write_text(">a\nNNN\n>b\nXYZ\n")
    assert main(["fold", str(path), "-o", str(tmp_path / "o.tsv"), "--workers", "1"]) == 1
    assert len(load_folds(tmp_path / "o.tsv")) == 2


def test_every_command_has_help():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"fold", "encode"} <= set(commands)
    for name in commands:
        result = subprocess.run(
            [sys.executable, "-m", "mirnamap.cli", name, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0 and "usage: mirnamap" in result.stdout, name


# TensorFlow's C++ start-up lines that must not reach the terminal.
TF_NOISE = (
    "oneDNN",
    "cpu_feature_guard",
    "All log messages before absl::InitializeLog",
    "This TensorFlow binary is optimized",
)


@pytest.fixture
def good_fasta(tmp_path):
    path = tmp_path / "good.fa"
    path.write_text("".join(f">g{k}\n{s}\n" for k, s in enumerate(GOOD)))
    return path


# ------------------------------------------------------------ counts of zero


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("predict", "--batch-size"),
        ("explain", "--batch-size"),
        ("train", "--batch-size"),
        ("fold", "--workers"),
        ("encode", "--workers"),
        ("predict", "--workers"),
        ("explain", "--workers"),
        ("encode", "--png-scale"),
        ("benchmark", "--workers"),
    ],
)
@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_counts_below_one_are_refused_by_argparse(command, option, value, tmp_path, capsys):
    argv = {
        "fold": ["fold", "x.fa", "-o", "o.tsv"],
        "encode": ["encode", "x.fa", "-o", "o.npz"],
        "predict": ["predict", "x.fa", "-o", "o.tsv"],
        "explain": ["explain", "x.fa", "--out", "o"],
        "train": ["train", "--images", "x.npz", "-o", "m.keras"],
        "benchmark": ["benchmark", "--out", "o"],
    }[command]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert option in err and ">= 1" in err and "Traceback" not in err


# -------------------------------------------------------- TensorFlow's start-up lines


def test_predict_keeps_tensorflow_start_up_lines_off_stderr(good_fasta, tiny_model_path, tmp_path):
    argv = ["predict", str(good_fasta), "--model", str(tiny_model_path), "--workers", "1"]
    quiet = run_subprocess([*argv, "-o", str(tmp_path / "q.tsv")], tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in TF_NOISE if line in quiet.stderr], quiet.stderr
    assert len(tsv_rows(tmp_path / "q.tsv")) == 2
    verbose = run_subprocess([*argv, "-o", str(tmp_path / "v.tsv"), "--verbose"], tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert "Traceback" not in verbose.stderr and len(tsv_rows(tmp_path / "v.tsv")) == 2
