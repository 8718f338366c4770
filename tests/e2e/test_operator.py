# SPDX-License-Identifier: MIT
"""What an operator needs (issue 22): the items done so far. The HelloVerifyRequest's record
sequence number is in test_wire.py (it needs tshark)."""
import os
import subprocess

from conftest import BINARY, ROOT, free_port


def test_help_and_the_man_page_give_the_workers_range():
    help_text = subprocess.run([BINARY, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    workers = help_text[help_text.index("--workers"):]
    assert "(1-256; auto: one per CPU)" in " ".join(workers.split()[:40])
    man = os.path.join(ROOT, "dtls_echo.1")
    if os.path.exists(man):
        with open(man) as f:
            assert "(1\\-256; auto: one per CPU)" in f.read()  # roff: \\- is a minus
    for value, code in (("257", 2), ("0", 2)):
        result = subprocess.run([BINARY, "-p", str(free_port()), "--workers", value],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == code and "1 to 256" in result.stderr, result.stderr
