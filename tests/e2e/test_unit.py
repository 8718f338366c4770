# SPDX-License-Identifier: MIT
"""Runs each cmocka unit program (built by `make`) so one summary covers the whole suite."""
import os
import subprocess

import pytest

from conftest import ROOT

UNIT = ["test_options", "test_udp", "test_cookie", "test_histogram", "test_registry", "test_lease",
        "test_rto", "test_session", "test_platform", "test_platform_posix", "test_inbox",
        "test_tun_offload"]


@pytest.mark.parametrize("name", UNIT)
def test_unit_program_passes(name):
    path = os.path.join(ROOT, "tests", "unit", name)
    assert os.path.exists(path), f"{path} not built: run make {os.path.relpath(path, ROOT)}"
    result = subprocess.run([path], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[  PASSED  ]" in result.stdout + result.stderr
