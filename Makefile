# Makefile: builds pdvm, its guest test programs and unit tests; runs tests and benchmarks.
CC      ?= cc
CFLAGS  ?= -O2 -g
override CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -MMD -MP
override LDLIBS  += -pthread -lconfig -ljson-c -llz4 -lz -lseccomp
B       ?= build

VMM_SRC   := $(wildcard vmm/*.c) $(wildcard snapshot/*.c) $(wildcard net/*.c) $(wildcard replay/*.c) \
	     $(filter-out tools/pdvm.c tools/syscall_status.c,$(wildcard tools/*.c))
VMM_OBJ   := $(VMM_SRC:%.c=$(B)/%.o) $(B)/guestshim/stub.o $(B)/guestshim/exl.o $(B)/guestshim/vdso_blob.o
GUEST_SRC := $(wildcard tests/guest/*.c)
GUEST_BIN := $(GUEST_SRC:tests/guest/%.c=$(B)/guest/%)
DYN_SRC   := $(wildcard tests/guest/dyn/*.c)
DYN_BIN   := $(DYN_SRC:tests/guest/dyn/%.c=$(B)/guest/dyn/%)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)

.PHONY: all test check-headers test-asan fuzz-asan bench clean install conformance conformance-bins syscalls-doc
all: $(B)/pdvm $(B)/pdvm-oci $(GUEST_BIN) $(DYN_BIN) $(UNIT_BIN) $(B)/syscall_status

# Layers point one way: vmm/ (the machine and the Linux ABI) sees only its own
# headers and the guest's (guestshim/); net/, snapshot/, tools/, the tests
# and benchmarks name what they include by folder ("vmm/domain.h").
INC = -I.
$(B)/vmm/%.o: INC =
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC) -c -o $@ $<

$(B)/guestshim/stub.o: guestshim/stub.S
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror -MMD -MP,$(CFLAGS)) -c -o $@ $<

$(B)/guestshim/exl.o: guestshim/exl.S guestshim/exl_abi.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror -MMD -MP,$(CFLAGS)) -c -o $@ $<

# The guest vDSO: position-independent, no relocations, embedded in pdvm.
VDSO_CFLAGS := -std=gnu11 -O2 -fPIC -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fcf-protection=none -Wall -Wextra -Werror -nostdlib -shared
VDSO_LDFLAGS := -Wl,-T,guestshim/vdso.lds -Wl,--version-script=guestshim/vdso.ver \
	-Wl,--hash-style=both -Wl,-soname=linux-vdso.so.1 -Wl,-Bsymbolic -Wl,--no-undefined \
	-Wl,-z,max-page-size=4096 -Wl,--build-id=none
$(B)/guestshim/vdso.so: guestshim/vdso.c guestshim/vvar.h guestshim/vdso.lds guestshim/vdso.ver
	@mkdir -p $(dir $@)
	gcc $(VDSO_CFLAGS) $(VDSO_LDFLAGS) -o $@ $<
	@if readelf -r $@ | grep -q "^Relocation section"; then echo "vdso.so has relocations" >&2; rm -f $@; exit 1; fi

$(B)/guestshim/vdso_blob.o: guestshim/vdso_blob.S $(B)/guestshim/vdso.so
	$(CC) -c -DVDSO_SO='"$(B)/guestshim/vdso.so"' -o $@ $<

$(B)/pdvm: $(B)/tools/pdvm.o $(VMM_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The OCI runtime: pdvm under the name engines exec (tools/oci.c).
$(B)/pdvm-oci: $(B)/pdvm
	ln -sf pdvm $@

# Guest programs: plain static Linux executables, no sanitizers.
$(B)/guest/%: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(dir $@)
	gcc -O2 -g -static -std=gnu11 -Wall -Wextra -Werror -pthread -o $@ $<
# ratewriter fills its memory with memfill's bytes (it includes memfill.c).
$(B)/guest/ratewriter: tests/guest/memfill.c

# Dynamically linked guest programs (Debian's glibc and ld.so).
$(B)/guest/dyn/%: tests/guest/dyn/%.c
	@mkdir -p $(dir $@)
	gcc -O2 -g -std=gnu11 -Wall -Wextra -Werror -pthread -o $@ $< -lm

$(B)/guest/dyn/noldso: tests/guest/dyn/noldso.c
	@mkdir -p $(dir $@)
	gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Wl,--dynamic-linker=/nonexistent/ld-pdvm.so -o $@ $<

# Unit tests link every VMM object (pure-logic tests do not need /dev/kvm).
$(B)/unit/%: $(B)/tests/unit/%.o $(VMM_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Every system call and its status, from the dispatch tables and vmm/sys_notes.c:
# docs/syscalls.md is what tools/gen-syscalls.sh makes of this program's output
# (tests/unit/test_syscalls_doc fails when it is not).
$(B)/syscall_status: $(B)/tools/syscall_status.o $(VMM_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

syscalls-doc: $(B)/syscall_status
	tools/gen-syscalls.sh $(B)/syscall_status > docs/syscalls.md.new || { rm -f docs/syscalls.md.new; exit 1; }
	mv docs/syscalls.md.new docs/syscalls.md

test: all check-headers conformance-bins
	B=$(B) tests/run.sh

# Go standard library test binaries (tests/conformance/packages), built natively with
# `go test -c`; `make test` runs the quick set (e2e/conformance), `make conformance` all
# of them natively and in a domain and prints the comparison (tests/conformance/run.sh).
CONF_PKGS := $(shell sed -e 's/\#.*//' -e '/^[[:space:]]*$$/d' -e 's/[[:space:]].*//' tests/conformance/packages)
CONF_BIN  := $(foreach p,$(CONF_PKGS),$(B)/conformance/$(subst /,_,$(p)).test)
conformance-bins: $(CONF_BIN)
$(B)/conformance/%.test:
	@mkdir -p $(dir $@)
	go test -c -tags timetzdata -o $@ $(subst _,/,$*)

conformance: all conformance-bins
	B=$(B) tests/conformance/run.sh

# Every header compiles on its own, so that any file may include it first:
# vmm/'s with no include path (as vmm/ is built), the others with -I. like
# their own sources. A syntax check only; it writes nothing.
HDR_CFLAGS = $(filter-out -MMD -MP,$(CFLAGS)) -fsyntax-only -x c
check-headers:
	@for h in $(wildcard vmm/*.h); do \
		$(CC) $(HDR_CFLAGS) $$h || { echo "check-headers: $$h does not compile alone" >&2; exit 1; }; \
	done; \
	for h in $(wildcard snapshot/*.h net/*.h replay/*.h tools/*.h); do \
		$(CC) $(HDR_CFLAGS) -I. $$h || { echo "check-headers: $$h does not compile alone" >&2; exit 1; }; \
	done

test-asan:
	$(MAKE) B=build-asan CFLAGS="$(ASAN_CFLAGS)" test

# The hostile-syscall fuzzer at full size (the suite runs 10^5 calls): 10^6 calls in an ASan
# and UBSan build of pdvm, its vCPU threads under the seccomp filter as always.
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
fuzz-asan:
	$(MAKE) B=build-asan CFLAGS="$(ASAN_CFLAGS)" build-asan/pdvm build-asan/guest/hostile
	B=build-asan HOSTILE_CALLS=1000000 PDVM_TIMEOUT_HOSTILE=3600 tests/e2e/hostile.sh

bench: all
	B=$(B) bench/run.sh

install: $(B)/pdvm
	install -D -m 755 $(B)/pdvm $(DESTDIR)/usr/local/bin/pdvm
	ln -sf pdvm $(DESTDIR)/usr/local/bin/pdvm-oci
	install -D -m 644 docs/pdvm.1 $(DESTDIR)/usr/local/share/man/man1/pdvm.1

clean:
	rm -rf build build-asan

-include $(shell find $(B) -name '*.d' 2>/dev/null)
