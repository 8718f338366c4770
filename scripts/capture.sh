#!/bin/sh
# SPDX-License-Identifier: MIT
# capture.sh [-c COUNT] [-a COND] [-k KEYLOG] [-r SAVED] PORT [FILE]
# Shows the DTLS traffic of UDP port PORT on loopback as it happens, one line per
# datagram (tshark -i lo -f 'udp port PORT' -d udp.port==PORT,dtls; lo0 on macOS and the BSDs).
#   FILE       also save the raw packets there (libpcap format).
#   -r SAVED   read a saved FILE again instead of capturing, with the same columns.
#   -k KEYLOG  decrypt with this NSS key log; default: $SSLKEYLOGFILE when it is set.
#              GnuTLS appends to the file named by SSLKEYLOGFILE, so run the client
#              with the same variable. The file may not exist yet when the capture starts.
#              The Info column of decrypted application data is its text.
#   -c COUNT   stop after COUNT packets;  -a COND  tshark autostop, e.g. duration:10.
# Stops cleanly on Ctrl-C or SIGTERM (tshark closes FILE and prints the packet count).
# Capturing needs root or membership of the wireshark group.
set -eu
die() { echo "capture.sh: $1" >&2; exit "${2:-2}"; }
usage() { echo "usage: capture.sh [-c COUNT] [-a duration:SECONDS] [-k KEYLOG] [-r SAVED] PORT [FILE]" >&2; exit 2; }
keylog=${SSLKEYLOGFILE:-}
limits=""
saved=""
while getopts c:a:k:r:h opt; do
    case $opt in
        c) case $OPTARG in ''|*[!0-9]*) die "-c needs a number of packets, not '$OPTARG'";; esac
           limits="$limits -c $OPTARG" ;;
        a) case $OPTARG in ''|*[!a-z0-9:]*) die "-a needs a condition like duration:10, not '$OPTARG'";;
           esac
           limits="$limits -a $OPTARG" ;;
        k) keylog=$OPTARG ;;
        r) saved=$OPTARG ;;
        h) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
port=$1 file=${2:-}
case $port in
    ''|*[!0-9]*|??????*) port=0 ;;  # not a number, or too long to compare safely
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then die "PORT must be a number from 1 to 65535, not '$1'"; fi
command -v tshark >/dev/null 2>&1 || die "tshark not found (install it: apt-get install tshark)" 1

# One line per datagram. The custom port columns make tshark build the protocol tree,
# and with data.show_as_text the Info of decrypted application data is then its text.
columns='"No.","%m","Time","%t","Source","%s","Port","%Cus:udp.srcport",'
columns=$columns'"Destination","%d","Port","%Cus:udp.dstport",'
columns=$columns'"Protocol","%p","Length","%L","Info","%i"'
if [ -n "$saved" ]; then
    [ -r "$saved" ] || die "cannot read '$saved'" 1
    [ -z "$file" ] || die "-r reads a saved file: no FILE to write"
    set -- -r "$saved"
else
    loopback=lo
    [ "$(uname -s)" = Linux ] || loopback=lo0  # macOS and the BSDs
    set -- -i "$loopback" -f "udp port $port"
fi
set -- "$@" -d "udp.port==$port,dtls" -o "gui.column.format:$columns" -o data.show_as_text:TRUE
[ -z "$file" ] || set -- "$@" -w "$file" -F pcap -P
[ -z "$keylog" ] || set -- "$@" -o "tls.keylog_file:$keylog"
# $limits holds only validated words: split on purpose. exec: signals reach tshark itself.
# shellcheck disable=SC2086
exec tshark -n -l $limits "$@"
