# One non-recursive Makefile for the whole lab.
#   make          build every daemon and tool into bin/
#   make test     unit tests, then end-to-end tests on loopback
#   make lint     clang-format check and banned-function grep
#   make asan     rebuild with AddressSanitizer/UBSan into build-asan/
.DEFAULT_GOAL := all
BUILD   ?= build
BIN     ?= bin
CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wcast-qual -Wno-unused-parameter
PKGS    := libosip2 libmicrohttpd jansson libcrypto sqlite3
CPPFLAGS += -D_GNU_SOURCE -Icommon -Ihss -Ipcscf -Iicscf -Iscscf -Itests/ue $(shell pkg-config --cflags $(PKGS))
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lfdcore -lfdproto -lpthread
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(SAN)

COMMON_SRC := $(wildcard common/*.c)
COMMON_LIB := $(BUILD)/libcommon.a

# Each daemon folder: main.c wires, every other file is role logic built as a
# library so the unit tests link it without main().
ROLES := hss pcscf icscf scscf
define role_rules
$(1)_SRC := $$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c))
$(1)_LIB := $$(BUILD)/lib$(1).a
$$($(1)_LIB): $$($(1)_SRC:%.c=$$(BUILD)/%.o)
	@mkdir -p $$(@D)
	$$(AR) rcs $$@ $$^
ifneq ($$(wildcard $(1)/main.c),)
DAEMONS += $$(BIN)/$(1)
$$(BIN)/$(1): $$(BUILD)/$(1)/main.o $$($(1)_LIB) $$(COMMON_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) -o $$@ $$^ $$(LDLIBS)
endif
endef
$(foreach r,$(ROLES),$(eval $(call role_rules,$(r))))
ROLE_LIBS := $(foreach r,$(ROLES),$($(r)_LIB))

TOOLS := $(patsubst tests/%/main.c,$(BIN)/%,$(wildcard tests/cxclient/main.c tests/ue/main.c tests/sipsend/main.c))
$(BIN)/%: $(BUILD)/tests/%/main.o $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# The test UE: like a role, main.c wires and the rest is a library the unit tests link.
UE_SRC := $(filter-out tests/ue/main.c,$(wildcard tests/ue/*.c))
UE_LIB := $(BUILD)/libue.a
$(UE_LIB): $(UE_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(BIN)/ue: $(BUILD)/tests/ue/main.o $(UE_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(BUILD)/unit-tests

all: $(DAEMONS) $(TOOLS)

$(COMMON_LIB): $(COMMON_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<

$(UNIT_BIN): $(UNIT_SRC:%.c=$(BUILD)/%.o) $(ROLE_LIBS) $(UE_LIB) $(COMMON_LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) -lcunit

unit: $(UNIT_BIN)
	$(UNIT_BIN)

e2e: all
	tests/e2e/run

test: all $(UNIT_BIN)
	$(UNIT_BIN)
	tests/e2e/run

bench: all
	tests/bench/run

asan:
	$(MAKE) BUILD=build-asan BIN=bin-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" all build-asan/unit-tests

BANNED := '\<(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)[[:space:]]*\('
lint:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	@! grep -nE $(BANNED) $$(git ls-files '*.c' '*.h') || \
	  { echo "lint: banned function"; exit 1; }
	@echo "lint: ok"

clean:
	rm -rf build build-asan bin bin-asan

.PHONY: all unit e2e test bench asan lint clean
.DELETE_ON_ERROR:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
