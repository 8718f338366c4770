# SPDX-License-Identifier: MIT
"""deploy/ (issue 11): the README's three replicas behind nginx, run as written; the
systemd unit and its tunnel drop-in checked by systemd-analyze; and the unit's own
commands run the way the unit runs them, as an unprivileged user with no capability."""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import BINARY, ROOT, Process, free_port, run_client

DEPLOY = os.path.join(ROOT, "deploy")
UNIT = os.path.join(DEPLOY, "dtls_echo@.service")
TUN_DROP_IN = os.path.join(DEPLOY, "dtls_echo-tun.conf")


def test_the_deploy_readme_walkthrough_runs_as_written():
    if not os.path.exists("/usr/lib/nginx/modules/ngx_stream_module.so"):
        pytest.skip("nginx's stream module is not installed (scripts/deps.sh installs it)")
    readme = open(os.path.join(DEPLOY, "README.md")).read()
    block = re.search(r"```sh\n# \(tests/e2e/test_deploy.py runs this block as it is\)\n"
                      r"(.*?)```", readme, re.S).group(1)
    result = subprocess.run(["bash", "-e", "-c", block], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "handshakes: 30," in result.stdout and "failures: none" in result.stdout, \
        result.stdout
    assert "- Session was resumed" in result.stdout, result.stdout


def unit_text(with_tun=False, binary=BINARY):
    text = open(UNIT).read().replace("/usr/local/bin/dtls_echo", binary)
    if with_tun:  # a drop-in's [Service] lines go after the unit's own
        service = open(TUN_DROP_IN).read().split("[Service]\n", 1)[1]
        text = text.replace("[Install]", service.replace("/usr/local/bin/dtls_echo", BINARY)
                            + "\n[Install]")
    return text


@pytest.mark.parametrize("with_tun", [False, True])
def test_the_systemd_unit_verifies_cleanly(tmp_path, with_tun):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    (tmp_path / "dtls_echo@.service").write_text(unit_text(with_tun))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", "dtls_echo@5556.service"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr
    text = unit_text(with_tun)
    for setting in ("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict"):
        assert setting in text
    capabilities = re.findall(r"^CapabilityBoundingSet=(.*)$", text, re.M)[-1]
    assert capabilities == ("CAP_NET_ADMIN" if with_tun else "")


def command_of(text, key, which=0):
    """The unit's KEY= command line (the which-th of them), continuation lines joined."""
    line = re.findall(rf"^{key}=(.*?[^\\])$", text, re.M | re.S)[which]
    return line.replace("\\\n", " ")


@pytest.fixture
def nobodys_dir():
    """A directory of nobody's (pytest's own tmp_path is root's alone, mode 0700)."""
    path = tempfile.mkdtemp(prefix="dtls_echo-unit-")
    os.chown(path, 65534, 65534)
    yield pathlib.Path(path)
    shutil.rmtree(path)


def test_the_units_commands_run_as_an_unprivileged_user(tmp_path, nobodys_dir):
    """What systemd would do, short of systemd: the state directory owned by the service's
    user (mode 0700), the private key a credential of mode 0400, the unit's
    ExecStartPre and ExecStart run as that user with no capability at all."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the unit's commands as another user")
    state, creds = nobodys_dir / "state", nobodys_dir / "creds"
    state.mkdir(mode=0o700)
    creds.mkdir(mode=0o700)
    # Installed where nobody may read them, as /usr/local/bin and /etc/dtls_echo are (the
    # checkout may be in root's home, mode 0700).
    binary, cert = nobodys_dir / "dtls_echo", nobodys_dir / "server.pem"
    shutil.copy(BINARY, binary)
    shutil.copy(os.path.join(ROOT, "certs", "server.pem"), cert)
    binary.chmod(0o755)
    cert.chmod(0o644)
    shutil.copy(os.path.join(ROOT, "certs", "server-key.pem"), creds / "server-key.pem")
    (creds / "server-key.pem").chmod(0o400)
    for path in (state, creds, creds / "server-key.pem"):
        os.chown(path, 65534, 65534)
    port = free_port()
    env = dict(os.environ, STATE_DIRECTORY=str(state), CREDENTIALS_DIRECTORY=str(creds),
               DTLS_ECHO_OPTIONS="-a 127.0.0.1")  # as /etc/dtls_echo/PORT.env gives it
    text = unit_text(binary=str(binary))
    setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    pre = subprocess.run([*setpriv, "/bin/sh", "-c",
                          command_of(text, "ExecStartPre").split("-c ", 1)[1].strip("'")],
                         env=env, capture_output=True, text=True, timeout=30)
    assert pre.returncode == 0, pre.stderr
    for name in ("cookie.key", "ticket.key"):
        st = os.stat(state / name)
        assert st.st_uid == 65534 and st.st_mode & 0o777 == 0o600
    def command(key, which=0):
        line = command_of(text, key, which).replace("%i", str(port)).replace(
            "/etc/dtls_echo/server.pem", str(cert))
        return [*setpriv, *re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)], line).split()]

    server = Process(command("ExecStart"), tmp_path, "service")
    try:
        server.wait_for("UDP server ready. Listening to port '%d'. Address: 127.0.0.1" % port)
        assert run_client(port, "-m", "hello", "-n", "2").returncode == 0
        # ExecReload: the check first (a reload that cannot work fails), then SIGHUP.
        check = subprocess.run(command("ExecReload"), env=env, capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0 and "configuration OK" in check.stdout, check.stderr
        ticket = (state / "ticket.key").read_bytes()
        (state / "ticket.key").write_bytes(b"garbage\n")
        check = subprocess.run(command("ExecReload"), env=env, capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 2 and "ticket.key" in check.stderr, check.stderr
        (state / "ticket.key").write_bytes(ticket)
        assert command_of(text, "ExecReload", 1) == "/bin/kill -HUP $MAINPID"
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for("SIGHUP: the cookie key in")
        assert server.stop(signal.SIGTERM) == 0, server.stderr()
    finally:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)
    assert "error" not in server.stderr(), server.stderr()
