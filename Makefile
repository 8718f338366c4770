# SPDX-License-Identifier: MIT
# dtls_echo - build, run, test, certs. See README.md.
CC ?= cc
PKG_CONFIG ?= pkg-config
# The first python3 on PATH that has pytest (deps.sh installs Debian's python3-pytest):
# a python3 of pyenv or a virtualenv may come first and lack it. Looked up when used.
PYTHON ?= $(shell for p in python3 /usr/bin/python3; do \
	"$$p" -c 'import pytest' 2>/dev/null && { echo "$$p"; break; }; done)
# The platform, by uname -s: on Linux, GnuTLS, libnl-route (the tunnel's interfaces,
# addresses and routes) and libcap (what the process keeps after set-up); elsewhere
# (macOS: brew install gnutls pkg-config; the BSDs) GnuTLS alone, and the portable path of
# src/platform.h. The sources choose their own path: one list serves every build.
UNAME_S := $(shell uname -s)
ifeq ($(UNAME_S),Linux)
PLATFORM_PACKAGES := gnutls libnl-route-3.0 libcap
else
PLATFORM_PACKAGES := gnutls
endif
# MSYS2's MINGW64 shell on Windows (pacman -S mingw-w64-x86_64-gnutls mingw-w64-x86_64-gcc
# make pkgconf): Winsock, and mingw-w64's C99 printf (%zu); GnuTLS is a DLL there.
ifneq (,$(findstring MINGW,$(UNAME_S)))
CPPFLAGS += -D__USE_MINGW_ANSI_STDIO=1
LDLIBS += -lws2_32
endif
LIB_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PLATFORM_PACKAGES) 2>/dev/null)
LIB_LIBS := $(shell $(PKG_CONFIG) --libs $(PLATFORM_PACKAGES) 2>/dev/null)
GNUTLS_CFLAGS := $(shell $(PKG_CONFIG) --cflags gnutls 2>/dev/null)
GNUTLS_LIBS := $(shell $(PKG_CONFIG) --libs gnutls 2>/dev/null)
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -pthread -MMD -MP $(LIB_CFLAGS)
LDLIBS += $(LIB_LIBS) -pthread -lm

SRCS := src/log.c src/clock.c src/options.c src/options_table.c src/options_text.c \
	src/udp.c src/credentials.c src/credentials_psk.c src/cookie.c src/session.c \
	src/session_transport.c src/rto.c src/registry.c src/pool.c src/server_session.c \
	src/listener.c src/client.c src/client_echo.c src/client_report.c src/trace.c \
	src/histogram.c src/load.c src/load_worker.c src/load_report.c src/lease.c src/tun.c \
	src/tunnel.c src/tunnel_wire.c src/privileges.c src/keyfile.c src/server_tunnel.c \
	src/client_tunnel.c src/signals.c src/workers.c src/platform.c src/platform_linux.c \
	src/platform_posix.c src/inbox.c src/tun_offload.c \
	src/platform_windows.c src/signals_windows.c
OBJS := $(SRCS:.c=.o)
UNIT_TESTS := tests/unit/test_options tests/unit/test_udp tests/unit/test_cookie \
	tests/unit/test_histogram tests/unit/test_registry tests/unit/test_rto \
	tests/unit/test_session tests/unit/test_lease tests/unit/test_platform tests/unit/test_inbox \
	tests/unit/test_platform_posix tests/unit/test_tun_offload
RELAY := tests/relay/udp_relay
UDP_ECHO := tests/bench/udp_echo
REFERENCE := tests/bench/dtls_reference
NODE_PEER := tests/interop/node/node_modules/.package-lock.json

.PHONY: all run test test-fresh check fuzzers unit e2e checks asan tsan fuzz bench certs deps clean \
	install uninstall posix macos windows
all: dtls_echo

dtls_echo: $(OBJS) src/main.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

src/%.o: src/%.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

-include $(OBJS:.o=.d) src/main.d

# The portable build on Linux: what macOS and the BSDs run (poll, one recvmsg/sendmsg at a
# time, pipe + fcntl; no --workers, no --tun), linked with GnuTLS alone, so every test run
# exercises it. DTLS_ECHO_PORTABLE chooses the path (src/platform.h); nothing else differs.
POSIX_OBJS := $(patsubst src/%.c,build/posix/%.o,$(SRCS) src/main.c)
posix: build/posix/dtls_echo
build/posix/dtls_echo: $(POSIX_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(GNUTLS_LIBS) -pthread -lm
build/posix/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DDTLS_ECHO_PORTABLE -c -o $@ $<
-include $(POSIX_OBJS:.o=.d)

# macOS, arm64 and x86_64, cross-compiled and linked here (scripts/macos.sh): zig 0.11's
# clang from the npm registry in a cache outside the checkout, GnuTLS's headers alone,
# and a linker stub of libgnutls's exports under Homebrew's install name, so that a
# missing or misspelled function fails the link. Every src/*.c, with -Werror.
macos:
	scripts/macos.sh $(SRCS) src/main.c

# Windows (x86_64), cross-built here (scripts/windows.sh): Debian's mingw-w64 (posix
# threads) and GnuTLS, nettle and gmp built static from Debian 12's source packages
# (scripts/windows-deps.sh, cached outside the checkout); one static exe in
# build/windows/dtls_echo-win64.zip.
windows: deps
	scripts/windows.sh $(SRCS) src/main.c

tests/unit/test_%: tests/unit/test_%.c $(OBJS)
	$(CC) $(CFLAGS) -Isrc -o $@ $^ $(LDLIBS) -lcmocka

# The platform seam's unit test again, on the portable path (what macOS runs).
tests/unit/test_platform_posix: tests/unit/test_platform.c build/posix/platform.o \
		build/posix/platform_posix.o build/posix/clock.o build/posix/log.o
	$(CC) $(CFLAGS) -DDTLS_ECHO_PORTABLE -Isrc -o $@ $^ -pthread -lcmocka

$(RELAY): $(RELAY).c
	$(CC) $(CFLAGS) -o $@ $<

$(UDP_ECHO): $(UDP_ECHO).c
	$(CC) $(CFLAGS) -o $@ $<

# The burst's baseline in make bench: a single-threaded non-blocking DTLS echo server.
$(REFERENCE): $(REFERENCE).c
	$(CC) $(CFLAGS) -o $@ $< $(LIB_LIBS)

# node-dtls-client, the independent DTLS stack of the interop matrix, from its lock file.
$(NODE_PEER): tests/interop/node/package.json tests/interop/node/package-lock.json
	cd tests/interop/node && npm ci --no-audit --no-fund --loglevel=error

# Sanitizer builds, beside the normal one; tests/checks/ runs the suite against them.
SANITIZE_BASE := -std=gnu11 -Wall -Wextra -Werror -pthread -g -O1 -fno-omit-frame-pointer \
	$(LIB_CFLAGS)
build/asan/dtls_echo: $(SRCS) src/main.c src/*.h
	mkdir -p $(@D)
	$(CC) $(SANITIZE_BASE) -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-o $@ $(SRCS) src/main.c $(LDLIBS)
build/tsan/dtls_echo: $(SRCS) src/main.c src/*.h
	mkdir -p $(@D)
	$(CC) $(SANITIZE_BASE) -fsanitize=thread -o $@ $(SRCS) src/main.c $(LDLIBS)
asan: build/asan/dtls_echo
tsan: build/tsan/dtls_echo

# libFuzzer harnesses (tests/fuzz/) for option parsing, the listener's datagram path and
# the tunnel's control messages and offloads, built with clang, ASan and UBSan and the same warnings as
# the rest, and the option dictionary made from the option table; `make fuzz` runs each
# FUZZ_SECONDS on a copy of its seed corpus (scripts/fuzz.sh); `make test` runs a 10 s one.
CLANG ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-std=gnu11 -Wall -Wextra -Werror -pthread -Isrc $(LIB_CFLAGS)
# The option layer and what it links: the fuzzer, the dictionary and the man page use it.
OPTIONS_SRCS := src/options.c src/options_table.c src/options_text.c src/lease.c src/log.c \
	src/clock.c src/platform.c src/platform_linux.c src/platform_posix.c
FUZZ_OPTIONS_SRCS := tests/fuzz/fuzz_options.c $(OPTIONS_SRCS)
FUZZ_DATAGRAM_SRCS := tests/fuzz/fuzz_datagram.c src/cookie.c src/clock.c src/udp.c src/log.c \
	src/trace.c src/platform.c src/platform_linux.c src/platform_posix.c
FUZZ_TUNNEL_SRCS := tests/fuzz/fuzz_tunnel.c src/tunnel_wire.c src/tun_offload.c
build/fuzz/fuzz_options: $(FUZZ_OPTIONS_SRCS) src/*.h
	mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_OPTIONS_SRCS) $(LIB_LIBS)
build/fuzz/fuzz_datagram: $(FUZZ_DATAGRAM_SRCS) src/*.h
	mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_DATAGRAM_SRCS) $(LIB_LIBS)
build/fuzz/options.dict: tests/fuzz/options_dict.c $(OPTIONS_SRCS) src/*.h
	mkdir -p $(@D)
	$(CC) $(CFLAGS) -Isrc -o build/fuzz/options_dict tests/fuzz/options_dict.c \
		$(OPTIONS_SRCS) $(LDLIBS)
	build/fuzz/options_dict > $@
build/fuzz/fuzz_tunnel: $(FUZZ_TUNNEL_SRCS) src/*.h
	mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_TUNNEL_SRCS) $(LIB_LIBS)
fuzzers: build/fuzz/fuzz_options build/fuzz/fuzz_datagram build/fuzz/fuzz_tunnel \
	build/fuzz/options.dict
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The benchmark (several minutes): RESULTS.md, results.json and the plots in build/bench/,
# which is not committed; BENCH_OUT=bench writes the committed results, on purpose, from a
# full run (--quick is refused there). BENCH_FLAGS=--quick for the short run CI makes.
BENCH_FLAGS ?=
BENCH_OUT ?= build/bench
bench: deps
	$(MAKE) --no-print-directory all certs $(UDP_ECHO) $(REFERENCE) build/posix/dtls_echo
	scripts/bench.sh --out $(BENCH_OUT) $(BENCH_FLAGS)

VERSION := $(shell sed -n 's/^\#define DTLS_ECHO_VERSION "\(.*\)"/\1/p' src/options.h)

# The man page: doc/dtls_echo.1.in with its OPTIONS section written from the option
# table (doc/man_options.c), so that it and --help never disagree.
dtls_echo.1: doc/dtls_echo.1.in doc/man_options.c $(OPTIONS_SRCS) src/*.h
	mkdir -p build/doc
	$(CC) $(CFLAGS) -Isrc -o build/doc/man_options doc/man_options.c $(OPTIONS_SRCS) \
		$(LIB_LIBS)
	build/doc/man_options > build/doc/options.man
	awk -v version="$(VERSION)" '/^@OPTIONS@$$/ { while ((getline line < \
		"build/doc/options.man") > 0) print line; next } { gsub("@VERSION@", version); \
		print }' doc/dtls_echo.1.in > $@

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, its man page, bash completion.
PREFIX ?= /usr/local
BINDIR := $(DESTDIR)$(PREFIX)/bin
MANDIR := $(DESTDIR)$(PREFIX)/share/man/man1
COMPLETIONDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
install: dtls_echo dtls_echo.1
	install -D -m 0755 dtls_echo $(BINDIR)/dtls_echo
	install -D -m 0644 dtls_echo.1 $(MANDIR)/dtls_echo.1
	install -D -m 0644 scripts/dtls_echo.bash-completion $(COMPLETIONDIR)/dtls_echo
uninstall:
	rm -f $(BINDIR)/dtls_echo $(MANDIR)/dtls_echo.1 $(COMPLETIONDIR)/dtls_echo

# Every file gen-certs.sh makes: a missing one (any of them) regenerates the set.
CERT_FILES := $(addprefix certs/,ca.pem server.pem client.pem revoked.pem crl.pem \
	other-ca.pem server-rsa.pem big-chain.pem other-server.pem rawpk-key.pem rawpk-pub.pem \
	other-rawpk-pub.pem expired.pem psk.txt server-key.pem client-key.pem big-chain-key.pem)
certs: $(CERT_FILES)
$(CERT_FILES) &: scripts/gen-certs.sh
	scripts/gen-certs.sh certs

deps:
	scripts/deps.sh

# One server and one client on loopback, with generated certificates (installing what
# is missing first, as make test does).
run: deps
	$(MAKE) --no-print-directory dtls_echo certs
	scripts/run-demo.sh

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do $$t || exit 1; done

e2e: dtls_echo certs $(UNIT_TESTS) $(RELAY) $(UDP_ECHO) $(NODE_PEER)
	$(PYTHON) -m pytest -q tests/e2e

# The fast loop: build, the unit programs, and the functional end-to-end tests (not the
# interop matrix, the load tests or the sanitizer runs): about a minute.
check: all certs $(UNIT_TESTS) $(RELAY) $(UDP_ECHO) $(NODE_PEER)
	$(PYTHON) -m pytest -q -x tests/e2e --deselect tests/e2e/test_matrix.py \
		--deselect tests/e2e/test_load.py --deselect tests/e2e/test_interop.py

# The sanitizer, valgrind and fuzzing runs (tests/checks/): slower, all in `make test`.
checks: all certs $(RELAY) $(UDP_ECHO) $(REFERENCE) $(NODE_PEER) build/asan/dtls_echo \
	build/tsan/dtls_echo build/posix/dtls_echo
	$(PYTHON) -m pytest -q -rs tests/checks

# Installs what is missing, builds (the Windows exe too, for its tests under wine: the
# cross-built GnuTLS is cached after the first time), and runs everything; pytest runs
# the cmocka unit programs too (tests/e2e/test_unit.py), so its summary is the last line.
test: deps
	$(MAKE) --no-print-directory all certs $(UNIT_TESTS) $(RELAY) $(UDP_ECHO) $(REFERENCE) \
		$(NODE_PEER) build/asan/dtls_echo build/tsan/dtls_echo build/posix/dtls_echo windows
	$(PYTHON) -m pytest -q -rs --durations=15 tests/e2e tests/checks

# Builds a fresh Debian 12 root (mmdebstrap) and runs the README's two commands in it:
# does the set-up work on a machine that has nothing of ours? (Root, several minutes.)
test-fresh:
	scripts/test-fresh.sh

clean:
	rm -rf dtls_echo src/*.o src/*.d tests/unit/*.d $(UNIT_TESTS) $(RELAY) $(UDP_ECHO) $(REFERENCE) dtls_echo.1 build
