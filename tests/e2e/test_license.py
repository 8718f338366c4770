# SPDX-License-Identifier: MIT
"""The project is MIT-licensed (issue 19): the LICENSE file, an SPDX line near the top of
every source file git tracks, the .deb's copyright and the man page say so."""
import os
import subprocess

from conftest import ROOT

SPDX = "SPDX-License-Identifier: MIT"
SOURCE_ENDINGS = (".c", ".h", ".py", ".sh", ".js")
SOURCE_NAMES = ("Makefile", "rules", "run", "dtls_echo.bash-completion")


def tracked_sources():
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    return [name for name in names
            if (name.endswith(SOURCE_ENDINGS) or os.path.basename(name) in SOURCE_NAMES)
            and "/corpus/" not in name and "/stubs/" not in name
            and os.path.exists(os.path.join(ROOT, name))]


def test_license_file_is_mit_for_the_authors():
    text = open(os.path.join(ROOT, "LICENSE")).read()
    assert text.startswith("MIT License") and "the dtls_echo authors" in text


def test_every_source_file_carries_the_spdx_line_in_its_header():
    sources = tracked_sources()
    assert len(sources) > 50
    missing = [name for name in sources
               if SPDX not in "".join(open(os.path.join(ROOT, name)).readlines()[:3])]
    assert missing == []


def test_debian_copyright_and_the_man_page_name_the_license():
    copyright_text = open(os.path.join(ROOT, "debian", "copyright")).read()
    assert "License: Expat" in copyright_text and "not-yet-chosen" not in copyright_text
    assert "MIT license" in open(os.path.join(ROOT, "doc", "dtls_echo.1.in")).read()
