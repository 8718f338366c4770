#!/bin/sh
# run-demo.sh - a server and a client on loopback: what `make run` shows.
set -u
port=${PORT:-5556}
cd "$(dirname "$0")/.."
./dtls_echo -p "$port" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null' EXIT
sleep 0.3
echo "--- client: ./dtls_echo -c -a localhost -p $port -m 'hello, DTLS' -n 3"
./dtls_echo -c -a localhost -p "$port" -m 'hello, DTLS' -n 3
status=$?
echo "--- client exit code: $status"
exit $status
