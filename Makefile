# rkt, split-privilege. `make` builds release programs into build/bin/ with gcc
# alone; `make check` builds with ASan+UBSan into build/asan/ and runs every
# suite; fuzzers go to build/fuzz/. See README.md and ../shared/DESIGN.md §3.

VERSION     := 1.30.0+split.1
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
LIBEXECDIR  ?= $(PREFIX)/libexec
DATADIR     ?= $(PREFIX)/share
SYSCONFDIR  ?= /etc
DESTDIR     ?=
FUZZ_SECONDS ?= 60
V           ?= 0
Q           := $(if $(filter 1,$(V)),,@)

CC          ?= gcc
ifeq ($(origin CC),default)
CC          := gcc
endif
FUZZCC      ?= clang

# VARIANT=release (build/bin) or asan (build/asan/bin); `make check` picks asan.
VARIANT     ?= release
# BUILDDIR lets several people build one tree at once without sharing objects.
BUILDDIR    ?= build
ifeq ($(VARIANT),asan)
OUT         := $(BUILDDIR)/asan
OPTFLAGS    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SANLDFLAGS  := -fsanitize=address,undefined
else
OUT         := $(BUILDDIR)
OPTFLAGS    := -O2 -g
SANLDFLAGS  :=
endif
OBJ         := $(OUT)/obj
BIN         := $(OUT)/bin
TESTBIN     := $(OUT)/tests

PKGS_LIGHT  := jansson sqlite3
PKGS_FETCH  := libcurl gpgme libarchive libcrypto
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS_LIGHT) libarchive libcurl libcrypto 2>/dev/null) \
               $(shell gpgme-config --cflags 2>/dev/null)
LIBS_LIGHT  := $(shell pkg-config --libs $(PKGS_LIGHT) 2>/dev/null)
LIBS_FETCH  := $(shell pkg-config --libs libcurl libarchive libcrypto 2>/dev/null) -lgpgme $(LIBS_LIGHT)
LIBS_PRIV   := -lseccomp -lcap-ng $(LIBS_LIGHT)
# The renderer (DESIGN §2 rule 5): archives, hashes, signatures, the DB.
LIBS_RENDER := $(shell pkg-config --libs libarchive libcrypto 2>/dev/null) -lgpgme -lcap-ng -lpthread $(LIBS_LIGHT)

DEFS        := -DRKT_VERSION='"$(VERSION)"' -DRKT_LIBEXECDIR='"$(LIBEXECDIR)"' \
               -DRKT_LIBDIR='"$(LIBDIR)"' -DRKT_BINDIR='"$(BINDIR)"'
WARN        := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation
HARDEN      := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE -fstack-clash-protection
CFLAGS_ALL  := -std=gnu11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(OPTFLAGS) $(DEFS) -I. $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SANLDFLAGS) $(LDFLAGS)
# The stage1 programs are exec'd for every pod, and a flavor is a directory
# that should not depend on the host's shared libraries: static PIE with
# full RELRO (about 1 ms less per exec here than dynamic). They use no NSS
# (users and groups come from the image's own files); ld's note that
# libcap-ng's capng_change_id would need NSS is about a function stage1
# never calls. The sanitizers need dynamic linking: asan stays dynamic.
ifeq ($(VARIANT),asan)
LDFLAGS_STAGE1 := $(LDFLAGS_ALL)
LIBS_STAGE1    := $(LIBS_PRIV)
else
LDFLAGS_STAGE1 := -static-pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS_STAGE1    := -lseccomp -lcap-ng $(shell pkg-config --libs --static jansson 2>/dev/null)
endif

srcs = $(sort $(wildcard $(1)/*.c))
objs = $(patsubst %.c,$(OBJ)/%.o,$(1))
nomain = $(filter-out %/main.c,$(1))

COMMON_SRC  := $(call srcs,common)
IPC_SRC     := $(call srcs,ipc)
POLICY_SRC  := $(call srcs,policy)
UNPRIV_SRC  := $(call srcs,unpriv/cli) $(call srcs,unpriv/config) $(call srcs,unpriv/store)
CMD_SRC     := $(call srcs,unpriv/cmd)
FETCH_SRC   := $(call srcs,unpriv/fetch)
LISTENER_SRC := $(call srcs,privhelper/listener)
SESSION_SRC := $(call srcs,privhelper/session)
RENDER_SRC  := $(call srcs,privhelper/render)
STAGE1_SRC  := $(call srcs,stage1)
STAGE1_NS_SRC := $(filter-out stage1/ns/enter.c stage1/ns/gc.c,$(call srcs,stage1/ns))
STAGE1_NS_ENTER := $(wildcard stage1/ns/enter.c)
STAGE1_NS_GC := $(wildcard stage1/ns/gc.c)

LIB_COMMON  := $(OBJ)/libcommon.a
LIB_UNPRIV  := $(OBJ)/libunpriv.a
LIB_FETCH   := $(OBJ)/libfetch.a
LIB_IPC     := $(OBJ)/libipc.a
LIB_POLICY  := $(OBJ)/libpolicy.a
LIB_STAGE1  := $(OBJ)/libstage1.a

PROGRAMS    := $(BIN)/rkt $(BIN)/rkt-fetch $(if $(LISTENER_SRC),$(BIN)/rkt-privhelper) \
               $(if $(SESSION_SRC),$(BIN)/rkt-privhelper-session) \
               $(if $(RENDER_SRC),$(BIN)/rkt-privhelper-render)
# Stage1 flavors: $(OUT)/stage1/<flavor>/<entrypoint> (DESIGN §8).
STAGE1      := $(if $(STAGE1_NS_SRC),$(OUT)/stage1/ns/init) \
               $(if $(STAGE1_NS_ENTER),$(OUT)/stage1/ns/enter) \
               $(if $(STAGE1_NS_GC),$(OUT)/stage1/ns/gc)
UNIT_SRC    := $(sort $(wildcard tests/unit/test-*.c))
UNIT_TESTS  := $(patsubst tests/unit/%.c,$(TESTBIN)/%,$(UNIT_SRC))

.PHONY: all programs unit-tests check demo install install-setup uninstall bench fuzz fuzz-build clean deps
.DEFAULT_GOAL := all

all: programs
programs: $(PROGRAMS) $(STAGE1)
unit-tests: $(UNIT_TESTS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB_COMMON): $(call objs,$(COMMON_SRC))
$(LIB_UNPRIV): $(call objs,$(UNPRIV_SRC))
$(LIB_FETCH):  $(call objs,$(call nomain,$(FETCH_SRC)))
$(LIB_IPC):    $(call objs,$(IPC_SRC))
$(LIB_POLICY): $(call objs,$(POLICY_SRC))
$(LIB_STAGE1): $(call objs,$(STAGE1_SRC))
$(OBJ)/lib%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^ $(if $^,,$(OBJ)/empty.o)

$(OBJ)/empty.o:
	@mkdir -p $(dir $@)
	echo 'typedef int rkt_empty_unit;' | $(CC) -x c -c - -o $@

$(LIB_IPC) $(LIB_POLICY) $(LIB_STAGE1): | $(OBJ)/empty.o

$(BIN)/rkt: $(call objs,$(CMD_SRC)) $(LIB_UNPRIV) $(LIB_IPC) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_LIGHT)

$(BIN)/rkt-fetch: $(call objs,unpriv/fetch/main.c) $(LIB_FETCH) $(LIB_UNPRIV) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_FETCH)

# The listener links libc alone (DESIGN §2 rule 5: idle RSS, attack surface).
$(BIN)/rkt-privhelper: $(call objs,$(LISTENER_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

# libstage1.a gives it stage1/dns.o and netif.o alone (resolv.conf/hosts, lo up).
$(BIN)/rkt-privhelper-session: $(call objs,$(SESSION_SRC)) $(LIB_POLICY) $(LIB_IPC) $(LIB_STAGE1) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_PRIV)

# The ns flavor's enter entrypoint: `enter --pid=P --appname=A -- cmd...`.
$(OUT)/stage1/ns/enter: $(call objs,$(STAGE1_NS_ENTER)) $(LIB_STAGE1) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_STAGE1) -o $@ $^ $(LIBS_STAGE1)

# The ns flavor's gc entrypoint: `gc [--debug] <uuid>` in an exited pod's dir.
$(OUT)/stage1/ns/gc: $(call objs,$(STAGE1_NS_GC)) $(LIB_STAGE1) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_STAGE1) -o $@ $^ $(LIBS_STAGE1)

# Parses untrusted archives as root: its own executable (DESIGN §2 rule 5).
$(BIN)/rkt-privhelper-render: $(call objs,$(RENDER_SRC)) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_RENDER)

# The ns flavor's pod init: run as root by the helper with cwd = the pod dir.
$(OUT)/stage1/ns/init: $(call objs,$(STAGE1_NS_SRC)) $(LIB_STAGE1) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_STAGE1) -o $@ $^ $(LIBS_STAGE1)

# Unit tests link every library so each test can reach the module it covers.
$(TESTBIN)/test-%: $(call objs,tests/unit/test-%.c) $(LIB_STAGE1) $(LIB_FETCH) $(LIB_UNPRIV) $(LIB_POLICY) $(LIB_IPC) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_FETCH) $(LIBS_PRIV) -lcmocka

# The protocol probe of tests/integration/70-helper-channel.sh: a client
# that speaks the channel or breaks it on purpose.
unit-tests: $(TESTBIN)/ipc-probe
$(TESTBIN)/ipc-probe: $(call objs,tests/fixtures/ipc-probe.c) $(LIB_UNPRIV) $(LIB_IPC) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_LIGHT)

# The helper's CNI driver is not in a library: its unit test and the
# driver of tests/integration/86-net.sh link it directly.
NET_OBJ := $(call objs,privhelper/session/net.c)
$(TESTBIN)/test-cni: $(call objs,tests/unit/test-cni.c) $(NET_OBJ) $(LIB_STAGE1) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_PRIV) -lcmocka
# The helper's --dns/--hosts-entry checks (privhelper/session/dnsconf.c).
$(TESTBIN)/test-dnsconf: $(call objs,tests/unit/test-dnsconf.c privhelper/session/dnsconf.c) $(LIB_STAGE1) $(LIB_IPC) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_PRIV) -lcmocka
unit-tests: $(TESTBIN)/net-driver
$(TESTBIN)/net-driver: $(call objs,tests/fixtures/net-driver.c) $(NET_OBJ) $(LIB_STAGE1) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_PRIV)

# ---- tests ---------------------------------------------------------------
# `make check`: dependencies, sanitizer build, then unit + integration + fuzz
# smoke, and the pod suites once more against the release build; the last
# line is "N passed, N failed, N skipped".
check: deps
	$(MAKE) VARIANT=asan programs unit-tests
	$(MAKE) programs $(TESTBIN)/ipc-probe
	$(MAKE) fuzz-build
	RKT_RELEASE_BUILD=$(BUILDDIR) RKT_FUZZ_DIR=$(BUILDDIR)/fuzz FUZZ_SECONDS=10 tests/run-all.sh $(BUILDDIR)/asan

deps:
	@if [ "$$(id -u)" -eq 0 ] && [ -z "$$RKT_SKIP_DEPS" ]; then dist/install-deps.sh; fi

FUZZ_SRC    := $(sort $(wildcard tests/fuzz/*.c))
FUZZ_BIN    := $(patsubst tests/fuzz/%.c,$(BUILDDIR)/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. $(PKG_CFLAGS) $(DEFS) -Wall -Wextra -Wno-missing-field-initializers -Wno-unused-parameter
FUZZ_LIBSRC := $(COMMON_SRC) $(IPC_SRC) $(POLICY_SRC) $(call nomain,$(FETCH_SRC)) $(UNPRIV_SRC)

fuzz-build: $(FUZZ_BIN)
$(BUILDDIR)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBSRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIBSRC) $(LIBS_FETCH) $(LIBS_PRIV)

fuzz: fuzz-build
	RKT_FUZZ_DIR=$(BUILDDIR)/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run-fuzz.sh

demo: deps programs
	dist/demo.sh

# The pod figures first: bench.sh writes and deletes hundreds of MiB and
# tens of thousands of files, after which this VM starts pods slower for
# minutes (creating and deleting 60,000 files took `rkt run` from 29 to
# 34 ms), and crun, which keeps its state on tmpfs, much less so.
bench: deps programs $(TESTBIN)/ipc-probe
	tests/bench/pods.sh
	tests/bench/bench.sh

# ---- install -------------------------------------------------------------
INSTALL_LIST := $(BUILDDIR)/install-manifest.txt
install: programs
	@mkdir -p $(BUILDDIR)
	RKT_BUILD_BIN=$(BIN) dist/install.sh "$(DESTDIR)" "$(BINDIR)" "$(LIBDIR)" "$(LIBEXECDIR)" "$(DATADIR)" "$(SYSCONFDIR)" "$(PREFIX)" > $(INSTALL_LIST)

# Creates the groups and the data/config directories with DESIGN §4's modes.
install-setup:
	$(DESTDIR)$(LIBEXECDIR)/rkt/setup-data-dir

uninstall:
	@if [ -f $(INSTALL_LIST) ]; then tac $(INSTALL_LIST) | while read -r f; do \
	  if [ -d "$$f" ]; then rmdir "$$f" 2>/dev/null || true; else rm -f "$$f"; fi; done; \
	  rm -f $(INSTALL_LIST); else echo "uninstall: nothing recorded in $(INSTALL_LIST)" >&2; fi

clean:
	rm -rf build

-include $(shell find $(BUILDDIR) -name '*.d' 2>/dev/null)
