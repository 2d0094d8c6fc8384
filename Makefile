# payguard - one flat Makefile.
#
#   make            build/webhook.fcgi build/api.fcgi build/audit.cgi build/payguard
#   make test       install missing Debian packages (as root), build, run every test
#   make check      build and run every test, installing nothing (the packages
#                   of tests/deps.sh already there); the e2e suites need root
#   make lint       banned functions; the layers of lib/LAYERS
#   make run        local demo under lighttpd on 127.0.0.1
#   make asan       the tests again under ASan+UBSan
#   make fuzz       libFuzzer targets, each run for FUZZ_SECONDS
#   make bench      benchmarks (not tests)
#   make install    PREFIX=/usr/local DESTDIR= (programs, units, logrotate, nginx)
#   make uninstall  the same variables: removes what install wrote
#
# lib/*.c becomes build/libpayguard.a; cgi-bin/NAME.c becomes
# build/NAME.fcgi (audit.c becomes audit.cgi: plain CGI); tools/*.c is the
# payguard CLI; tests/unit/test_*.c are cmocka programs; tests/fuzz/fuzz_*.c
# are libFuzzer targets.  New files are picked up without editing this file.

O	?= build
CC	?= cc
PREFIX	?= /usr/local
DESTDIR	?=
FUZZ_SECONDS ?= 20

PKGS	 = fcgi openssl json-c lmdb inih libcurl hiredis
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lfcgi -lssl -lcrypto -ljson-c -llmdb -linih -lcurl -lhiredis)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat=2 -Wpointer-arith -Wwrite-strings -Wno-format-nonliteral
ifdef CI
WARN	+= -Werror
endif
OPT	?= -O2 -g
SAN	?=
# -MMD -MP: each object's header dependencies come from the compiler
# (build/**/*.d, included below).
CFLAGS	+= -std=c11 -D_GNU_SOURCE -MMD -MP $(OPT) $(SAN) $(WARN) -Ilib $(PKG_CFLAGS) \
	   -DPG_DATADIR='"$(PREFIX)/share/payguard"'
# --as-needed: a program records only the libraries it calls, so
# webhook.fcgi, which reaches libcurl only through lib/curlrt's dlopen,
# does not map libcurl and its thirty libraries at every start.
LDFLAGS	+= $(SAN) -Wl,--as-needed
# libc and libcrypto first: the dynamic linker looks a symbol up in the
# libraries in the order they are named, and most lookups at start-up are
# libcrypto's own references into libc; named last, each of those first
# tried libfcgi, json-c, lmdb, inih and hiredis.  One plain-CGI request
# costs about 190 000 instructions less (bench/bench_webhook.sh, callgrind).
LDLIBS	 = -lc -lcrypto $(PKG_LIBS) -lm

LIB_SRCS   := $(sort $(wildcard lib/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(O)/%.o)
CGI_SRCS   := $(sort $(wildcard cgi-bin/*.c))
PROGS      := $(patsubst cgi-bin/%.c,$(O)/%.fcgi,$(filter-out cgi-bin/audit.c,$(CGI_SRCS))) \
	      $(if $(filter cgi-bin/audit.c,$(CGI_SRCS)),$(O)/audit.cgi)
TOOL_SRCS  := $(sort $(wildcard tools/*.c))
TOOL_OBJS  := $(TOOL_SRCS:%.c=$(O)/%.o)
TEST_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
TESTS      := $(TEST_SRCS:tests/unit/%.c=$(O)/tests/%)
TESTHELP   := $(wildcard tests/unit/helpers.c)
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
HELPERS    := $(HELPER_SRCS:tests/helpers/%.c=$(O)/helpers/%)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCHES    := $(BENCH_SRCS:bench/%.c=$(O)/bench/%)

# Keep objects: they are not throw-away intermediates.
.SECONDARY:

.PHONY: all test check unit e2e deps node-deps asan fuzz fuzz-build bench run install uninstall clean lint

# Test builds of the programs with fault-injection points (PG_FAULTS):
# never installed; tests/e2e use them to kill a process mid-request.
FAULTS     := $(O)/faults/webhook.fcgi $(O)/faults/payguard
# LD_PRELOAD shims for tests (tests/preload/NAME.c -> build/preload/NAME.so).
PRELOADS   := $(patsubst tests/preload/%.c,$(O)/preload/%.so,$(sort $(wildcard tests/preload/*.c)))

all: $(PROGS) $(O)/payguard $(HELPERS) $(FAULTS) $(PRELOADS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# PREFIX is compiled into config.o (the data directory): rebuild it when
# PREFIX changes, e.g. for `make install PREFIX=/opt/x` after `make`.
$(O)/prefix.stamp: FORCE
	@mkdir -p $(O)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@
$(O)/lib/config.o $(O)/fuzz/lib/config.o: $(O)/prefix.stamp
.PHONY: FORCE
FORCE:

# templates/ and data/ built into the programs (lib/asset.h): generated
# from the files themselves on every change, never copied by hand.
ASSETS	   := $(sort $(wildcard templates/* data/*))
$(O)/gen/assets.c: mk/embed.sh $(ASSETS)
	@mkdir -p $(dir $@)
	sh mk/embed.sh $@ $(ASSETS)
$(O)/gen/assets.o: $(O)/gen/assets.c lib/asset.h
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/libpayguard.a: $(LIB_OBJS) $(O)/gen/assets.o
	rm -f $@
	ar rcs $@ $^

$(O)/%.fcgi: $(O)/cgi-bin/%.o $(O)/libpayguard.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/audit.cgi: $(O)/cgi-bin/audit.o $(O)/libpayguard.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/payguard: $(TOOL_OBJS) $(O)/libpayguard.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/faults/%.fcgi: cgi-bin/%.c $(O)/libpayguard.a $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DPG_FAULTS -o $@ $< $(O)/libpayguard.a $(LDLIBS)

# The CLI with its fault points (tools/cmd_store.c: PAYGUARD_FAULT=migrate_kill:N).
$(O)/faults/tools/%.o: tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DPG_FAULTS -c $< -o $@

$(O)/faults/payguard: $(TOOL_SRCS:%.c=$(O)/faults/%.o) $(O)/libpayguard.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/helpers/%: tests/helpers/%.c $(O)/libpayguard.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

$(O)/preload/%.so: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< -llmdb -ldl

$(O)/bench/%: bench/%.c $(O)/libpayguard.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

# The OpenSSL floor is a plain program linked the plain way (-lcrypto
# alone, libc after it): the baseline webhook.fcgi's start-up is measured
# against, not a program that gets our link order.
$(O)/bench/openssl_floor: bench/openssl_floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lcrypto

$(O)/tests/%: tests/unit/%.c $(TESTHELP) $(O)/libpayguard.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(CMOCKA_LIBS) $(LDLIBS)

deps:
	@sh tests/deps.sh

# npm packages of the Node tests (stripe-node, standardwebhooks), from the
# lockfile; skipped when node_modules already matches it.
node-deps:
	@sh tests/node-deps.sh

# Unit tests: every cmocka program, each in its own scratch state dir.
unit: all $(TESTS)
	@O=$(O) sh tests/run-unit.sh $(TESTS)

# End to end: real Apache + mod_fcgid, lighttpd, spawn-fcgi and plain CGI.
e2e: all node-deps
	@O=$(O) sh tests/run-e2e.sh

# Every stage runs even when one before it failed, so that the summary
# (the last line, "N passed, N failed") always comes; the exit status is
# non-zero when anything failed.
STAGES	 = all lint unit fuzz e2e
test: deps
	@$(MAKE) --no-print-directory check

check:
	@rm -f $(O)/test-results.txt; mkdir -p $(O); rc=0; \
	for s in $(STAGES); do \
		if [ $$s = fuzz ]; then a=FUZZ_SECONDS=$${FUZZ_SECONDS_TEST:-5}; else a=; fi; \
		$(MAKE) --no-print-directory $$s $$a; r=$$?; \
		case $$s in all|lint) \
			if [ $$r = 0 ]; then echo "PASS $$s" >> $(O)/test-results.txt; \
			else echo "FAIL $$s" >> $(O)/test-results.txt; fi ;; \
		esac; \
		[ $$r = 0 ] || rc=1; \
	done; \
	O=$(O) sh tests/summary.sh || rc=1; \
	exit $$rc

asan: deps
	@rm -f build-asan/test-results.txt; mkdir -p build-asan; rc=0; \
	$(MAKE) --no-print-directory O=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' all unit || rc=1; \
	$(MAKE) --no-print-directory O=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' e2e E2E_QUICK=1 || rc=1; \
	O=build-asan sh tests/summary.sh || rc=1; \
	exit $$rc

FUZZ_O   = $(O)/fuzz
FUZZ_CC  = clang
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -MMD -MP -g -O1 $(WARN) -Ilib $(PKG_CFLAGS) \
	   -DPG_DATADIR='"$(PREFIX)/share/payguard"' \
	   -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_O)/%.o)
FUZZERS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_O)/%)

$(FUZZ_O)/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_O)/gen/assets.o: $(O)/gen/assets.c lib/asset.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_O)/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS) $(FUZZ_O)/gen/assets.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

fuzz-build: $(FUZZERS)

fuzz: fuzz-build
	@O=$(O) sh tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZERS)

bench: deps all $(BENCHES)
	@O=$(O) sh bench/run.sh

run: deps all
	@O=$(O) STORE=$(STORE) sh tests/harness/demo.sh

lint:
	@sh mk/lint.sh

# Deployment files: units, logrotate, the nginx snippet name /usr/local
# paths; install rewrites them for PREFIX.  SYSTEMDDIR and SYSCONFDIR are
# outside PREFIX on purpose (systemd and logrotate only look there).
SYSCONFDIR ?= /etc
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
UNITS	   := $(sort $(wildcard systemd/*.service systemd/*.socket systemd/*.timer))
PREFIXED   := apache-conf/nginx-payguard.conf $(UNITS)
SHARE	    = $(DESTDIR)$(PREFIX)/share/payguard
# Every file install writes, for uninstall (paths under DESTDIR).
INSTALLED   = $(DESTDIR)$(PREFIX)/bin/payguard \
	      $(PROGS:$(O)/%=$(DESTDIR)$(PREFIX)/lib/payguard/cgi-bin/%) \
	      $(addprefix $(SHARE)/,$(notdir $(wildcard data/*))) \
	      $(addprefix $(SHARE)/templates/,$(notdir $(wildcard templates/*))) \
	      $(addprefix $(SHARE)/apache-conf/,$(notdir $(wildcard apache-conf/*))) \
	      $(addprefix $(DESTDIR)$(SYSTEMDDIR)/,$(notdir $(UNITS))) \
	      $(DESTDIR)$(SYSCONFDIR)/logrotate.d/payguard

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/payguard/cgi-bin \
	    $(SHARE)/templates $(SHARE)/apache-conf \
	    $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	install -m 0755 $(O)/payguard $(DESTDIR)$(PREFIX)/bin/payguard
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/lib/payguard/cgi-bin/
	install -m 0644 data/* $(SHARE)/
	for f in templates/*; do [ -f "$$f" ] && install -m 0644 "$$f" $(SHARE)/templates/; done; true
	install -m 0644 $(filter-out $(PREFIXED),$(wildcard apache-conf/*)) $(SHARE)/apache-conf/
	sed 's|/usr/local/|$(PREFIX)/|g' apache-conf/nginx-payguard.conf > $(SHARE)/apache-conf/nginx-payguard.conf
	for f in $(UNITS); do sed 's|/usr/local/|$(PREFIX)/|g' "$$f" > $(DESTDIR)$(SYSTEMDDIR)/$${f#systemd/} || exit 1; done
	chmod 0644 $(SHARE)/apache-conf/nginx-payguard.conf $(addprefix $(DESTDIR)$(SYSTEMDDIR)/,$(notdir $(UNITS)))
	install -m 0644 logrotate/payguard $(DESTDIR)$(SYSCONFDIR)/logrotate.d/payguard

# Removes exactly what install wrote, then payguard's own directories if
# that left them empty (never bin/, the unit or logrotate directories).
uninstall:
	rm -f $(INSTALLED)
	-rmdir $(DESTDIR)$(PREFIX)/lib/payguard/cgi-bin $(DESTDIR)$(PREFIX)/lib/payguard \
	    $(SHARE)/templates $(SHARE)/apache-conf $(SHARE) 2>/dev/null

clean:
	rm -rf build build-asan

# Header dependencies written by -MMD (the programs built straight from
# a .c list their headers too: the link lines filter them out).
-include $(wildcard $(O)/*/*.d $(O)/*/*/*.d)
