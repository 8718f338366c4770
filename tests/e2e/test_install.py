# SPDX-License-Identifier: MIT
"""make install and make uninstall (issue 12, the first part): PREFIX and DESTDIR, the
binary, the man page made from the option table, bash completion; the man page and
--help name the same options, and man renders the page without a warning."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BINARY, ROOT

INSTALLED = ("usr/bin/dtls_echo", "usr/share/man/man1/dtls_echo.1",
             "usr/share/bash-completion/completions/dtls_echo")


def make(*args):
    result = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_install_and_uninstall_with_destdir_and_prefix(tmp_path):
    make("install", f"DESTDIR={tmp_path}", "PREFIX=/usr")
    modes = {path: os.stat(tmp_path / path).st_mode & 0o777 for path in INSTALLED}
    assert modes == dict(zip(INSTALLED, (0o755, 0o644, 0o644))), modes
    version = subprocess.run([str(tmp_path / INSTALLED[0]), "--version"], capture_output=True,
                             text=True, timeout=10)
    assert version.returncode == 0 and version.stdout.startswith("dtls_echo "), version
    make("uninstall", f"DESTDIR={tmp_path}", "PREFIX=/usr")
    assert not any((tmp_path / path).exists() for path in INSTALLED)


def options_in(text):
    return set(re.findall(r"--([a-z0-9][a-z0-9-]*)", text))


def test_the_man_page_and_help_name_the_same_options():
    make("dtls_echo.1")
    page = open(os.path.join(ROOT, "dtls_echo.1")).read().replace("\\-", "-")
    help_text = subprocess.run([BINARY, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    described = set(re.findall(r"^\\fB-(?:\w\\fR, \\fB-)?-([a-z0-9-]+)\\fR", page, re.M))
    listed = set(re.findall(r"^  (?:-\w, |    )--([a-z0-9-]+)", help_text, re.M))
    assert len(listed) > 50 and described == listed, (described ^ listed)
    # Every option the page mentions anywhere (prose, examples) is one --help knows.
    assert options_in(page) <= options_in(help_text), options_in(page) - options_in(help_text)


def test_man_renders_the_page_without_a_warning():
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    make("dtls_echo.1")
    result = subprocess.run(["man", "--warnings", "-l", os.path.join(ROOT, "dtls_echo.1")],
                            capture_output=True, text=True, timeout=30,
                            env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "EXIT STATUS" in result.stdout and "--workers N|auto" in result.stdout


def words(text):
    return " ".join(text.replace("`", "").replace("\\-", "-").split())


def test_the_exit_codes_in_readme_help_and_man_page_are_one_table():
    make("dtls_echo.1")
    help_text = subprocess.run([BINARY, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    section = help_text.split("\nExit codes:\n", 1)[1]
    in_help = {int(code): words(meaning) for code, meaning in
               re.findall(r"^  (\d)\s+(.*?)(?=^  \d|\Z)", section, re.M | re.S)}
    page = open(os.path.join(ROOT, "dtls_echo.1")).read()
    exit_section = page.split(".SH EXIT STATUS\n", 1)[1].split("\n.SH ", 1)[0]
    in_man = {int(code): words(meaning) for code, meaning in
              re.findall(r"^\.TP\n\.B (\d)\n(.*?)(?=^\.TP|\Z)", exit_section, re.M | re.S)}
    readme = open(os.path.join(ROOT, "README.md")).read()
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    in_readme = {int(code): words(meaning) for code, meaning in
                 re.findall(r"^\| (\d) \| (.*) \|$", table, re.M)}
    assert sorted(in_help) == [0, 1, 2, 3, 4, 5], in_help
    assert in_help == in_man == in_readme, (in_help, in_man, in_readme)
    assert "connection refused" in in_help[4] and "--clients" in in_help[4]
