# SPDX-License-Identifier: MIT
"""The .deb (issue 12): dpkg-buildpackage -b -us -uc builds it from a clean copy of the
tree, lintian finds nothing to say, and installed (as root, when this machine has no
dtls-echo package of its own) it gives a binary that runs from any folder, a man page that
man finds, and a unit nothing starts; purged, it leaves nothing behind."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, linux_only

pytestmark = [linux_only, pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("dpkg-buildpackage", "lintian", "dh")),
    reason="dpkg-dev, debhelper or lintian is not installed (scripts/deps.sh installs them)")]

FILES = ("./usr/bin/dtls_echo", "./usr/share/man/man1/dtls_echo.1.gz",
         "./usr/share/bash-completion/completions/dtls_echo",
         "./lib/systemd/system/dtls_echo@.service",
         "./usr/share/doc/dtls-echo/examples/nginx-stream.conf")


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """Builds the .deb from the tree's files (tracked and new, not ignored ones)."""
    top = tmp_path_factory.mktemp("deb")
    source = top / "dtls-echo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if os.path.exists(os.path.join(ROOT, name)):
            os.makedirs(source / os.path.dirname(name), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), source / name)
    build = subprocess.run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=source,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]
    debs = [name for name in os.listdir(top) if name.startswith("dtls-echo_")
            and name.endswith(".deb")]
    assert len(debs) == 1, os.listdir(top)
    return top / debs[0]


def installed_processes():
    """The pids of processes running the installed /usr/bin/dtls_echo."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/exe") == "/usr/bin/dtls_echo":
                found.append(int(pid))
        except OSError:  # gone, or not ours to read
            continue
    return found


def test_the_package_holds_the_binary_man_page_completion_and_unit(package, tmp_path):
    listing = subprocess.run(["dpkg-deb", "-c", str(package)], capture_output=True,
                             text=True, check=True).stdout
    paths = {line.split()[-1] for line in listing.splitlines()}
    assert set(FILES) <= paths, set(FILES) - paths
    subprocess.run(["dpkg-deb", "-x", str(package), str(tmp_path)], check=True)
    for unit in ("lib/systemd/system/dtls_echo@.service",
                 "usr/share/doc/dtls-echo/examples/dtls_echo-tun.conf"):
        text = (tmp_path / unit).read_text()
        assert "ExecStart=/usr/bin/dtls_echo" in text and "/usr/local/bin" not in text, unit
    # The deploy README it ships speaks of the installed package, not a checkout.
    readme = (tmp_path / "usr/share/doc/dtls-echo/examples/README.md").read_text()
    assert "/usr/local/bin" not in readme and "from a checkout" not in readme
    assert "systemctl enable --now dtls_echo@5557" in readme


def test_lintian_has_nothing_to_say(package):
    result = subprocess.run(["lintian", "-I", "-E", "--pedantic", "--tag-display-limit", "0",
                             str(package)], capture_output=True, text=True, timeout=300)
    said = [line for line in (result.stdout + result.stderr).splitlines()
            if "running with root privileges" not in line]
    assert result.returncode == 0 and said == [], said


def test_installed_it_runs_from_anywhere_and_man_finds_its_page(package, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    if subprocess.run(["dpkg", "-s", "dtls-echo"], capture_output=True).returncode == 0:
        pytest.skip("a dtls-echo package is installed on this machine: not ours to replace")
    install = subprocess.run(["dpkg", "-i", str(package)], capture_output=True, text=True,
                             timeout=120)
    try:
        assert install.returncode == 0, install.stdout + install.stderr
        version = subprocess.run(["/usr/bin/dtls_echo", "--version"], cwd=tmp_path,
                                 capture_output=True, text=True, timeout=10)
        assert version.returncode == 0 and version.stdout.startswith("dtls_echo ")
        page = subprocess.run(["man", "-w", "dtls_echo"], capture_output=True, text=True,
                              timeout=30)
        assert page.stdout.strip() == "/usr/share/man/man1/dtls_echo.1.gz", page
        # A template unit: installing starts nothing (from the installed binary: anyone
        # may run servers of their own beside this test).
        assert installed_processes() == []
    finally:
        purge = subprocess.run(["dpkg", "--purge", "dtls-echo"], capture_output=True,
                               text=True, timeout=120)
    assert purge.returncode == 0, purge.stdout + purge.stderr
    assert not any(os.path.exists(path[1:]) for path in FILES)
