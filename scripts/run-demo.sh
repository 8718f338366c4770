#!/bin/sh
# SPDX-License-Identifier: MIT
# run-demo.sh - a server and a client on loopback: what `make run` shows. The server takes
# PORT (default 5556), or the next free port when that one is busy; the client starts only
# once the server said it is ready, so it never talks to another program on a busy port.
set -u
cd "$(dirname "$0")/.."
port=${PORT:-5556}
log=$(mktemp)
server=""
trap 'rm -f "$log"; [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null' EXIT
for try in 1 2 3 4 5 6 7 8 9 10; do
    ./dtls_echo -p "$port" >"$log" 2>&1 &
    server=$!
    for wait in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        grep -q "UDP server ready" "$log" && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "UDP server ready" "$log" && break
    wait "$server" 2>/dev/null
    server=""
    if ! grep -q "Address already in use" "$log"; then
        cat "$log" >&2
        echo "run-demo.sh: the server did not start" >&2
        exit 1
    fi
    echo "--- port $port is busy; trying $((port + 1))"
    port=$((port + 1))
done
[ -n "$server" ] || { echo "run-demo.sh: no free port from ${PORT:-5556} to $port" >&2; exit 1; }
echo "--- server: ./dtls_echo -p $port"
cat "$log"
echo "--- client: ./dtls_echo -c -a localhost -p $port -m 'hello, DTLS' -n 3"
./dtls_echo -c -a localhost -p "$port" -m 'hello, DTLS' -n 3
status=$?
echo "--- client exit code: $status"
sleep 0.2
echo "--- server, after the client:"
tail -n +2 "$log"
exit $status
