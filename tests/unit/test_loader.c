/* test_loader.c: unit tests for ELF validation and the initial stack image (no KVM needed). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tools/config.h"
#include "vmm/domain.h"
#include "vmm/elf_parse.h"
#include "vmm/elf_stack.h"
#include "vmm/loader.h"
#include "vmm/syscall.h"
#include "vmm/uaccess.h"
#include "check.h"

static struct elf_info info;
static char err[512];

/* A program this host lacks (a genuine missing precondition): the checks that
 * need it cannot run, so the test ends as skipped (77), not passed, unless a
 * check failed. A set-up step that fails is a failure, never a skip. */
static const char *missing;

static void skip_part(const char *what)
{
	printf("SKIP %s\n", what);
	if (!missing)
		missing = what;
}

static int parse_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	err[0] = '\0';
	rc = elf_parse(fd, &info, err, sizeof(err));
	close(fd);
	return rc;
}

/* Writes buf to a fresh temporary file and parses it. */
static int parse_bytes(const void *buf, size_t n)
{
	char path[] = "/tmp/pdvm-test-loader-XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0) {
		perror("mkstemp");
		exit(2);
	}
	unlink(path);
	if (write(fd, buf, n) != (ssize_t)n) {
		perror("write");
		exit(2);
	}
	err[0] = '\0';
	rc = elf_parse(fd, &info, err, sizeof(err));
	close(fd);
	return rc;
}

static void *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	void *buf;
	long sz;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	buf = malloc((size_t)sz);
	if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*n = (size_t)sz;
	return buf;
}

static bool entry_in_exec_segment(void)
{
	for (int i = 0; i < info.nsegs; i++)
		if (info.entry >= info.segs[i].vaddr &&
		    info.entry < info.segs[i].vaddr + info.segs[i].memsz)
			return (info.segs[i].prot & PROT_EXEC) != 0;
	return false;
}

static void test_busybox(void)
{
	size_t n;
	uint8_t *img, *copy;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	int load = -1;

	if (access("/bin/busybox", F_OK) != 0) {
		skip_part("busybox tests: no /bin/busybox");
		return;
	}
	img = read_file("/bin/busybox", &n);
	CHECK(img != NULL, "set-up: cannot read /bin/busybox");
	if (!img)
		return;
	CHECK(parse_path("/bin/busybox") == 0);
	CHECK(info.type == ET_EXEC || info.type == ET_DYN);
	CHECK(info.nsegs >= 2);
	CHECK(entry_in_exec_segment());
	CHECK(info.phdr != 0);
	CHECK(info.phent == sizeof(Elf64_Phdr));
	CHECK(info.start >= USER_MIN && info.end <= USER_MAX && info.start < info.end);
	CHECK((info.end & (PAGE_SIZE - 1)) == 0);
	if (info.type == ET_DYN)
		CHECK(info.bias != 0 && (info.bias & (PAGE_SIZE - 1)) == 0);

	copy = malloc(n);
	eh = (Elf64_Ehdr *)(void *)copy;
	ph = (Elf64_Phdr *)(void *)(copy + ((Elf64_Ehdr *)(void *)img)->e_phoff);
	for (int i = 0; i < ((Elf64_Ehdr *)(void *)img)->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && load < 0)
			load = i;
	(void)eh;

#define RESET() memcpy(copy, img, n)
	/* Truncations: header only, mid-program-headers, mid-segment. */
	CHECK(parse_bytes(img, 40) == -ENOEXEC);
	CHECK(parse_bytes(img, 64) == -ENOEXEC);
	CHECK(parse_bytes(img, 100) == -ENOEXEC);
	CHECK(parse_bytes(img, n / 2) == -ENOEXEC);

	RESET(); copy[0] = 0x7e;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	RESET(); copy[EI_CLASS] = ELFCLASS32;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	RESET(); copy[EI_DATA] = ELFDATA2MSB;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	RESET(); eh->e_machine = EM_AARCH64;
	CHECK(parse_bytes(copy, n) == -ENOEXEC && strstr(err, "x86-64"));
	RESET(); eh->e_type = ET_REL;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	RESET(); eh->e_phentsize = 32;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	RESET(); eh->e_phnum = 0;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	RESET(); eh->e_phnum = 0xffff;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	RESET(); eh->e_phnum = ELF_MAX_PHNUM + 1;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	RESET(); eh->e_phoff = n - 8;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	RESET(); eh->e_phoff = UINT64_MAX - 16;
	CHECK(parse_bytes(copy, n) == -ENOEXEC);
	if (info.type == ET_EXEC) {
		RESET(); eh->e_entry = 0x10;
		CHECK(parse_bytes(copy, n) == -ENOEXEC);
	}
	if (load >= 0) {
		RESET(); ph[load].p_filesz = ph[load].p_memsz + 1;
		CHECK(parse_bytes(copy, n) == -ENOEXEC && strstr(err, "file size"));
		RESET(); ph[load].p_offset = UINT64_MAX - 4;
		CHECK(parse_bytes(copy, n) == -ENOEXEC);
		RESET(); ph[load].p_offset = n; /* past EOF */
		CHECK(parse_bytes(copy, n) == -ENOEXEC);
		RESET(); ph[load].p_vaddr = UINT64_MAX - 4096;
		CHECK(parse_bytes(copy, n) == -ENOEXEC);
		RESET(); ph[load].p_memsz = UINT64_MAX - 10; ph[load].p_filesz = 1;
		CHECK(parse_bytes(copy, n) == -ENOEXEC);
		RESET(); ph[load].p_vaddr += 1; /* breaks congruence */
		CHECK(parse_bytes(copy, n) == -ENOEXEC);
		RESET(); ph[load].p_vaddr = USER_MAX; ph[load].p_offset = 0;
		CHECK(parse_bytes(copy, n) == -ENOEXEC);
	}
	RESET();
	CHECK(parse_bytes(copy, n) == 0);
#undef RESET
	free(copy);
	free(img);
}

static void test_dynamic(void)
{
	int rc = parse_path("/bin/true");

	if (rc == -ENOENT) {
		skip_part("dynamic test: no /bin/true");
		return;
	}
	/* A dynamic program parses; its interpreter is recorded. */
	CHECK(rc == 0);
	CHECK(strncmp(info.interp, "/lib", 4) == 0);
	CHECK(strstr(info.interp, "ld-linux") != NULL);
	CHECK(parse_path("/") == -EACCES);
	CHECK(parse_path("/dev/null") == -EACCES);
}

static size_t make_elf(uint8_t *buf, uint16_t type, uint64_t vbase)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(buf + sizeof(*eh));
	size_t n = 0x3000;

	memset(buf, 0, n);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = type;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = vbase + 0x1000;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 3;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
		.p_offset = 0, .p_vaddr = vbase, .p_filesz = 0x1800,
		.p_memsz = 0x1800, .p_align = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W,
		.p_offset = 0x1800, .p_vaddr = vbase + 0x1800, .p_filesz = 0x800,
		.p_memsz = 0x5000, .p_align = 0x1000 };
	ph[2] = (Elf64_Phdr){ .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W | PF_X };
	return n;
}

static void test_synthetic(void)
{
	uint8_t buf[0x3000];
	size_t n = make_elf(buf, ET_EXEC, 0x400000);
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(buf + sizeof(Elf64_Ehdr));

	CHECK(parse_bytes(buf, n) == 0);
	CHECK(info.bias == 0 && info.entry == 0x401000);
	CHECK(info.nsegs == 2 && info.exec_stack);
	CHECK(info.phdr == 0x400000 + sizeof(Elf64_Ehdr));
	CHECK(info.start == 0x400000 && info.end == 0x407000);
	CHECK(info.segs[0].prot == (PROT_READ | PROT_EXEC));
	CHECK(info.segs[1].prot == (PROT_READ | PROT_WRITE));

	/* Static PIE: linked at 0, loaded at the ET_DYN base. */
	n = make_elf(buf, ET_DYN, 0);
	CHECK(parse_bytes(buf, n) == 0);
	CHECK(info.bias == 0x555555554000UL);
	CHECK(info.entry == 0x555555555000UL);
	CHECK(info.segs[0].vaddr == 0x555555554000UL);
	CHECK(info.phdr == 0x555555554000UL + sizeof(Elf64_Ehdr));

	/* ET_EXEC below USER_MIN. */
	n = make_elf(buf, ET_EXEC, 0);
	CHECK(parse_bytes(buf, n) == -ENOEXEC);

	/* Overlapping segments. */
	n = make_elf(buf, ET_EXEC, 0x400000);
	ph[1].p_vaddr = 0x401000;
	ph[1].p_offset = 0x1000;
	CHECK(parse_bytes(buf, n) == -ENOEXEC);

	/* PT_INTERP: recorded when NUL-terminated inside [2, PATH_MAX] bytes,
	 * refused otherwise (binfmt_elf's rules). */
	n = make_elf(buf, ET_DYN, 0);
	ph[2] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_offset = 0x200, .p_filesz = 11 };
	memcpy(buf + 0x200, "/lib/ld.so", 11);
	CHECK(parse_bytes(buf, n) == 0);
	CHECK(strcmp(info.interp, "/lib/ld.so") == 0);
	memcpy(buf + 0x200, "/lib/ld.so\n", 12);
	ph[2].p_filesz = 12;
	CHECK(parse_bytes(buf, n) == -ENOEXEC);
	CHECK(strstr(err, "interpreter") != NULL);
	ph[2].p_filesz = 1;
	CHECK(parse_bytes(buf, n) == -ENOEXEC);
	ph[2].p_filesz = 11;
	ph[2].p_offset = n - 4;
	CHECK(parse_bytes(buf, n) == -ENOEXEC);
}

static uint64_t auxval(const uint64_t *auxv, uint64_t type, bool *found)
{
	for (; auxv[0] != AT_NULL; auxv += 2)
		if (auxv[0] == type) {
			*found = true;
			return auxv[1];
		}
	*found = false;
	return 0;
}

/* Builds a stack image and parses it back as a program's _start would. */
static void check_stack(char *const argv[], char *const envp[], const char *execfn,
			size_t want_argc)
{
	const gva_t top = 0x7ffffffff000UL;
	struct elf_stack_params p = {
		.argv = argv, .envp = envp, .execfn = execfn,
		.hwcap = 0x178bfbff, .phdr = 0x400040, .phent = 56, .phnum = 10,
		.entry = 0x401000, .uid = 1000, .euid = 1001, .gid = 100, .egid = 101,
		.minsigstksz = 2048,
	};
	long need;
	size_t len;
	uint8_t *buf;
	gva_t sp = 0, base;
	const uint64_t *w, *auxv;
	bool f;
	size_t argc, i;

	for (i = 0; i < 16; i++)
		p.random[i] = (uint8_t)(0xa0 + i);
	need = elf_stack_size(&p);
	CHECK(need > 0);
	if (need <= 0)
		return;
	len = PAGE_ALIGN((size_t)need);
	buf = malloc(len);
	base = top - len;
	CHECK(elf_build_stack(buf, len, top, &p, &sp) == 0);
	CHECK(sp % 16 == 0);
	CHECK(sp >= base && sp < top);
#define AT(a) ((const char *)(buf + ((a) - base)))
#define IN(a) ((a) >= sp && (a) < top)
	w = (const uint64_t *)(const void *)AT(sp);
	argc = w[0];
	CHECK(argc == want_argc);
	for (i = 0; i < argc; i++) {
		CHECK(IN(w[1 + i]));
		if (IN(w[1 + i]))
			CHECK(strcmp(AT(w[1 + i]), argv && argv[0] ? argv[i] : "") == 0);
	}
	CHECK(w[1 + argc] == 0);
	for (i = 0; envp && envp[i]; i++) {
		CHECK(IN(w[2 + argc + i]));
		if (IN(w[2 + argc + i]))
			CHECK(strcmp(AT(w[2 + argc + i]), envp[i]) == 0);
	}
	CHECK(w[2 + argc + i] == 0);
	auxv = &w[3 + argc + i];

	CHECK(auxval(auxv, AT_PAGESZ, &f) == 4096 && f);
	CHECK(auxval(auxv, AT_CLKTCK, &f) == 100 && f);
	CHECK(auxval(auxv, AT_PHDR, &f) == 0x400040 && f);
	CHECK(auxval(auxv, AT_PHENT, &f) == 56 && f);
	CHECK(auxval(auxv, AT_PHNUM, &f) == 10 && f);
	CHECK(auxval(auxv, AT_ENTRY, &f) == 0x401000 && f);
	CHECK(auxval(auxv, AT_BASE, &f) == 0 && f);
	CHECK(auxval(auxv, AT_UID, &f) == 1000 && f);
	CHECK(auxval(auxv, AT_EUID, &f) == 1001 && f);
	CHECK(auxval(auxv, AT_GID, &f) == 100 && f);
	CHECK(auxval(auxv, AT_EGID, &f) == 101 && f);
	CHECK(auxval(auxv, AT_SECURE, &f) == 0 && f);
	CHECK(auxval(auxv, AT_HWCAP, &f) == 0x178bfbff && f);
	CHECK(auxval(auxv, AT_MINSIGSTKSZ, &f) == 2048 && f);
	auxval(auxv, AT_SYSINFO_EHDR, &f);
	CHECK(!f);
	gva_t rnd = auxval(auxv, AT_RANDOM, &f);
	CHECK(f && IN(rnd) && rnd + 16 <= top);
	if (f && IN(rnd))
		CHECK(memcmp(AT(rnd), p.random, 16) == 0);
	gva_t fn = auxval(auxv, AT_EXECFN, &f);
	CHECK(f && IN(fn));
	if (f && IN(fn)) {
		CHECK(strcmp(AT(fn), execfn) == 0);
		/* The file name sits right below the top NULL pointer. */
		CHECK(fn + strlen(execfn) + 1 == top - 8);
	}
	/* The mm's /proc/self/cmdline and environ bounds are where the
	 * strings went: argv's from argv[0], envp's from envp[0] up to execfn. */
	gva_t as, es, ee;
	elf_stack_strings(&p, top, &as, &es, &ee);
	CHECK(as == w[1]);
	CHECK(envp && envp[0] ? es == w[2 + argc] : es == ee);
	CHECK(ee == fn);
	gva_t plat = auxval(auxv, AT_PLATFORM, &f);
	CHECK(f && IN(plat));
	if (f && IN(plat))
		CHECK(strcmp(AT(plat), "x86_64") == 0);
	CHECK(*(const uint64_t *)(const void *)AT(top - 8) == 0);
	/* The pointer block lies below the random bytes and the strings. */
	CHECK((gva_t)(auxv - w) * 8 + sp < rnd);
#undef AT
#undef IN
	free(buf);
}

static void test_stack(void)
{
	char *argv[] = { "prog", "-x", "hello world", NULL };
	char *envp[] = { "A=1", "PATH=/bin:/usr/bin", "EMPTY=", NULL };
	char *noenv[] = { NULL };
	char *one[] = { "a", NULL };

	check_stack(argv, envp, "/bin/prog", 3);
	check_stack(one, noenv, "/x", 1);
	check_stack(one, NULL, "/x", 1);
	/* Empty argv becomes {""}, as Linux does. */
	check_stack(noenv, envp, "/bin/prog", 1);
	check_stack(NULL, envp, "/bin/prog", 1);

	/* Different string lengths hit every alignment of the table. */
	for (int k = 0; k < 24; k++) {
		char s[40];

		memset(s, 'q', sizeof(s));
		s[k] = '\0';
		char *av[] = { s, NULL };
		check_stack(av, envp, "/p", 1);
	}

	/* Limits: one string too long, total too large, buffer too small. */
	char *big = malloc(32 * 4096 + 1);
	memset(big, 'x', 32 * 4096);
	big[32 * 4096] = '\0';
	char *av1[] = { "p", big, NULL };
	struct elf_stack_params p = { .argv = av1, .execfn = "/p" };
	CHECK(elf_stack_size(&p) == -E2BIG);
	big[32 * 4096 - 1] = '\0';
	CHECK(elf_stack_size(&p) > 32 * 4096);

	static char *many[40];
	for (int i = 0; i < 39; i++)
		many[i] = big; /* 39 * 128 KiB > 2 MiB */
	p.argv = many;
	CHECK(elf_stack_size(&p) == -E2BIG);
	uint8_t small[256];
	gva_t sp;
	p.argv = av1;
	CHECK(elf_build_stack(small, sizeof(small), 0x7ffffffff000UL, &p, &sp) == -E2BIG);
	free(big);
}

/* ---- a loaded domain on the real memory map (no vCPU needed) ---- */

static struct domain dom;
static struct thread thr;

static long call(int nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	const struct syscall_desc *tabs[] = { sys_time_table, sys_misc_table, sys_signal_table, sys_proc_table,
					      sys_sched_table };
	const uint64_t a[6] = { a0, a1, a2, a3, 0, 0 };

	for (size_t k = 0; k < ARRAY_SIZE(tabs); k++)
		for (const struct syscall_desc *s = tabs[k]; s->nr >= 0; s++)
			if (s->nr == nr)
				return s->fn(&thr, a);
	fprintf(stderr, "syscall %d not in the time/misc/signal/proc/sched tables\n", nr);
	failures++;
	return -ENOSYS;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_load_busybox(const struct kvm_regs *r)
{
	int fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
	uint64_t w[4];

	CHECK(elf_parse(fd, &info, err, sizeof(err)) == 0);
	for (int s = 0; s < info.nsegs; s++) {
		size_t n = info.segs[s].memsz;
		uint8_t *g = malloc(n), *f = calloc(1, n);

		CHECK(copy_from_user(&dom, g, info.segs[s].vaddr, n) == 0);
		CHECK(pread(fd, f, info.segs[s].filesz, (off_t)info.segs[s].offset) ==
		      (ssize_t)info.segs[s].filesz);
		CHECK(memcmp(g, f, n) == 0); /* file bytes, then zeroed bss */
		free(g);
		free(f);
	}
	close(fd);
	CHECK(r->rip == info.entry && r->rflags == 0x202 && r->rdx == 0);
	CHECK(r->rsp % 16 == 0 && r->rsp < dom_mm(&dom)->stack_top);
	CHECK(dom_mm(&dom)->brk_start == info.end && dom_mm(&dom)->brk_cur == info.end);
	CHECK(copy_from_user(&dom, w, r->rsp, sizeof(w)) == 0);
	CHECK(w[0] == 3 && w[3] != 0);
	/* Text is not writable by the guest, the stack is. */
	CHECK(copy_to_user(&dom, info.entry, "x", 1) == -EFAULT);
	CHECK(copy_to_user(&dom, r->rsp - 64, "x", 1) == 0);
}

static void test_time_calls(gva_t u, gva_t ro, gva_t bad)
{
	struct timespec ts, t0;

	CHECK(call(SYS_clock_gettime, CLOCK_REALTIME, u, 0, 0) == 0);
	CHECK(copy_from_user(&dom, &ts, u, sizeof(ts)) == 0 && ts.tv_sec > 1500000000);
	for (int c = 0; c < 12; c++) {
		long x = call(SYS_clock_gettime, (uint64_t)c, u, 0, 0);

		if (c == 10)
			CHECK(x == -EINVAL);
		else if (c != CLOCK_REALTIME_ALARM && c != CLOCK_BOOTTIME_ALARM)
			CHECK(x == 0);
	}
	CHECK(call(SYS_clock_gettime, 12, u, 0, 0) == -EINVAL);
	CHECK(call(SYS_clock_gettime, (uint64_t)-6, u, 0, 0) == -EINVAL);
	CHECK(call(SYS_clock_gettime, CLOCK_MONOTONIC, bad, 0, 0) == -EFAULT);
	CHECK(call(SYS_clock_gettime, CLOCK_MONOTONIC, ro, 0, 0) == -EFAULT);
	CHECK(call(SYS_clock_getres, CLOCK_MONOTONIC, 0, 0, 0) == 0);
	CHECK(call(SYS_clock_getres, 10, 0, 0, 0) == -EINVAL);
	CHECK(call(SYS_gettimeofday, u, u + 16, 0, 0) == 0);
	CHECK(call(SYS_gettimeofday, 0, 0, 0, 0) == 0);
	CHECK(call(SYS_gettimeofday, bad, 0, 0, 0) == -EFAULT);
	CHECK(call(SYS_time, 0, 0, 0, 0) >= time(NULL) - 1);
	CHECK(call(SYS_time, bad, 0, 0, 0) == -EFAULT);

	/* A relative sleep of 120 ms takes several slices. */
	ts = (struct timespec){ 0, 120 * 1000 * 1000 };
	copy_to_user(&dom, u, &ts, sizeof(ts));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(call(SYS_nanosleep, u, u + 16, 0, 0) == 0);
	CHECK(since(&t0) >= 0.12 && since(&t0) < 1.0);
	/* A stopping domain interrupts a sleep after one slice: -EINTR and
	 * the remaining time. */
	ts = (struct timespec){ 1, 0 };
	copy_to_user(&dom, u, &ts, sizeof(ts));
	dom.exiting = true;
	CHECK(call(SYS_nanosleep, u, u + 16, 0, 0) == -EINTR);
	CHECK(copy_from_user(&dom, &ts, u + 16, sizeof(ts)) == 0);
	CHECK(ts.tv_sec == 0 && ts.tv_nsec > 800 * 1000 * 1000L);
	CHECK(call(SYS_nanosleep, u, ro, 0, 0) == -EFAULT);
	dom.exiting = false;
	ts = (struct timespec){ 0, 1000000000 };
	copy_to_user(&dom, u, &ts, sizeof(ts));
	CHECK(call(SYS_nanosleep, u, 0, 0, 0) == -EINVAL);
	ts = (struct timespec){ -1, 0 };
	copy_to_user(&dom, u, &ts, sizeof(ts));
	CHECK(call(SYS_nanosleep, u, 0, 0, 0) == -EINVAL);
	CHECK(call(SYS_nanosleep, bad, 0, 0, 0) == -EFAULT);

	/* Absolute sleeps on CLOCK_REALTIME. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 60 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_nsec -= 1000000000;
		ts.tv_sec++;
	}
	copy_to_user(&dom, u, &ts, sizeof(ts));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(call(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, u, 0) == 0);
	CHECK(since(&t0) > 0.03 && since(&t0) < 1.0);
	ts = (struct timespec){ 0, 0 };
	copy_to_user(&dom, u, &ts, sizeof(ts));
	CHECK(call(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, u, 0) == 0);
	CHECK(call(SYS_clock_nanosleep, CLOCK_BOOTTIME, 0, u, 0) == 0);
	CHECK(call(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, u, 0) == -EOPNOTSUPP);
	CHECK(call(SYS_clock_nanosleep, CLOCK_MONOTONIC_COARSE, 0, u, 0) == -EOPNOTSUPP);
	CHECK(call(SYS_clock_nanosleep, 10, 0, u, 0) == -EINVAL);
	CHECK(call(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, bad, 0) == -EFAULT);

	CHECK(call(SYS_times, u, 0, 0, 0) != -EFAULT);
	CHECK(call(SYS_times, bad, 0, 0, 0) == -EFAULT);
	CHECK(call(SYS_getrusage, (uint64_t)RUSAGE_SELF, u, 0, 0) == 0);
	CHECK(call(SYS_getrusage, (uint64_t)RUSAGE_CHILDREN, u, 0, 0) == 0);
	CHECK(call(SYS_getrusage, (uint64_t)RUSAGE_THREAD, u, 0, 0) == 0);
	CHECK(call(SYS_getrusage, 2, u, 0, 0) == -EINVAL);
	CHECK(call(SYS_getrusage, 0, bad, 0, 0) == -EFAULT);
}

static void test_misc_calls(gva_t u, gva_t ro, gva_t bad)
{
	uint64_t v[4], rl[2];
	char name[16];
	long n;

	CHECK(call(SYS_getpid, 0, 0, 0, 0) == dom.pid);
	CHECK(call(SYS_gettid, 0, 0, 0, 0) == thr.tid);
	CHECK(call(SYS_getppid, 0, 0, 0, 0) == getppid());
	CHECK(call(SYS_geteuid, 0, 0, 0, 0) == geteuid());
	CHECK(call(SYS_getresuid, u, u + 4, u + 8, 0) == 0);
	CHECK(call(SYS_getresgid, u, u + 4, bad, 0) == -EFAULT);
	n = call(SYS_getgroups, 0, 0, 0, 0);
	CHECK(n >= 0);
	CHECK(call(SYS_getgroups, (uint64_t)-1, u, 0, 0) == -EINVAL);
	if (n > 0)
		CHECK(call(SYS_getgroups, (uint64_t)n, u, 0, 0) == n);
	CHECK(call(SYS_uname, u, 0, 0, 0) == 0);
	CHECK(copy_from_user(&dom, name, u, 6) == 0 && memcmp(name, "Linux", 6) == 0);
	CHECK(call(SYS_uname, ro, 0, 0, 0) == -EFAULT);
	CHECK(call(SYS_sysinfo, u, 0, 0, 0) == 0);
	CHECK(copy_from_user(&dom, v, u + 32, 16) == 0); /* totalram, freeram */
	CHECK(v[0] <= dom.spec->memory && v[1] <= v[0]);

	CHECK(call(SYS_getrandom, u, 32, 0, 0) == 32);
	CHECK(call(SYS_getrandom, u, 32, 8, 0) == -EINVAL);
	CHECK(call(SYS_getrandom, u, 32, GRND_RANDOM | GRND_INSECURE, 0) == -EINVAL);
	CHECK(call(SYS_getrandom, u, 0, 0, 0) == 0);
	CHECK(call(SYS_getrandom, bad, 16, 0, 0) == -EFAULT);
	CHECK(call(SYS_getrandom, u, 4UL << 20, GRND_NONBLOCK, 0) == 1 << 20);
	CHECK(call(SYS_sched_yield, 0, 0, 0, 0) == 0);

	CHECK(call(SYS_sched_getaffinity, 0, 128, u, 0) == 8);
	CHECK(call(SYS_sched_getaffinity, 0, 12, u, 0) == -EINVAL);
	CHECK(call(SYS_sched_getaffinity, 99999, 8, u, 0) == -ESRCH);
	CHECK(call(SYS_sched_getaffinity, 0, 8, bad, 0) == -EFAULT);
	v[0] = 1;
	copy_to_user(&dom, u, v, 8);
	CHECK(call(SYS_sched_setaffinity, 0, 8, u, 0) == 0);
	v[0] = 0;
	copy_to_user(&dom, u, v, 8);
	CHECK(call(SYS_sched_setaffinity, 0, 8, u, 0) == -EINVAL);
	CHECK(call(SYS_getcpu, u, u + 4, 0, 0) == 0);

	CHECK(call(SYS_getrlimit, RLIMIT_STACK, u, 0, 0) == 0);
	CHECK(copy_from_user(&dom, rl, u, 16) == 0 && rl[0] == 8UL << 20);
	CHECK(call(SYS_getrlimit, RLIMIT_NOFILE, u, 0, 0) == 0);
	CHECK(copy_from_user(&dom, rl, u, 16) == 0 && rl[0] == 1024);
	CHECK(call(SYS_getrlimit, RLIMIT_AS, u, 0, 0) == 0);
	CHECK(copy_from_user(&dom, rl, u, 16) == 0 && rl[0] == dom.spec->memory);
	CHECK(call(SYS_getrlimit, 16, u, 0, 0) == -EINVAL);
	rl[0] = 100;
	rl[1] = 50;
	copy_to_user(&dom, u, rl, 16);
	CHECK(call(SYS_setrlimit, RLIMIT_NOFILE, u, 0, 0) == -EINVAL);
	rl[1] = 200;
	copy_to_user(&dom, u, rl, 16);
	CHECK(call(SYS_setrlimit, RLIMIT_NOFILE, u, 0, 0) == 0);
	CHECK(call(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, u + 16) == 0);
	CHECK(copy_from_user(&dom, rl, u + 16, 16) == 0 && rl[0] == 100 && rl[1] == 200);
	CHECK(call(SYS_prlimit64, 99999, RLIMIT_NOFILE, 0, u) == -ESRCH);
	CHECK(call(SYS_setrlimit, RLIMIT_NOFILE, bad, 0, 0) == -EFAULT);

	/* rt_sigaction: unknown flag bits cleared, SIGKILL/SIGSTOP masked. */
	v[0] = 0x401000;
	v[1] = 0x04000000 | 0x400 | (1ULL << 40);
	v[2] = 0x402000;
	v[3] = ~0ULL;
	copy_to_user(&dom, u, v, 32);
	CHECK(call(SYS_rt_sigaction, 2, u, 0, 8) == 0);
	CHECK(call(SYS_rt_sigaction, 2, 0, u + 32, 8) == 0);
	CHECK(copy_from_user(&dom, v, u + 32, 32) == 0);
	CHECK(v[0] == 0x401000 && v[1] == 0x04000000 && v[2] == 0x402000);
	CHECK(v[3] == ~((1ULL << 8) | (1ULL << 18)));
	CHECK(call(SYS_rt_sigaction, 9, u, 0, 8) == -EINVAL);
	CHECK(call(SYS_rt_sigaction, 19, 0, u + 32, 8) == 0);
	CHECK(call(SYS_rt_sigaction, 0, 0, 0, 8) == -EINVAL);
	CHECK(call(SYS_rt_sigaction, 65, 0, 0, 8) == -EINVAL);
	CHECK(call(SYS_rt_sigaction, 2, u, 0, 16) == -EINVAL);
	CHECK(call(SYS_rt_sigaction, 2, bad, 0, 8) == -EFAULT);
	v[0] = ~0ULL;
	v[1] = 0;
	copy_to_user(&dom, u, v, 16);
	CHECK(call(SYS_rt_sigprocmask, SIG_BLOCK, u, u + 16, 8) == 0);
	CHECK(thr.sigmask == ~((1ULL << 8) | (1ULL << 18)));
	CHECK(call(SYS_rt_sigprocmask, 7, u, 0, 8) == -EINVAL);
	CHECK(call(SYS_rt_sigprocmask, 7, 0, u + 16, 8) == 0);
	CHECK(call(SYS_rt_sigprocmask, SIG_SETMASK, u + 8, 0, 8) == 0 && thr.sigmask == 0);
	CHECK(call(SYS_rt_sigprocmask, SIG_SETMASK, u, 0, 4) == -EINVAL);
	CHECK(call(SYS_rt_sigpending, u, 8, 0, 0) == 0);
	CHECK(call(SYS_rt_sigpending, u, 9, 0, 0) == -EINVAL);

	/* sigaltstack: too small, set, query, on-stack refusal, disable. */
	struct { uint64_t sp; int32_t flags, pad; uint64_t size; } ss = { u + 8192, 0, 0, 1024 }, os;
	copy_to_user(&dom, u, &ss, sizeof(ss));
	CHECK(call(SYS_sigaltstack, u, 0, 0, 0) == -ENOMEM);
	CHECK(call(SYS_sigaltstack, 0, u + 64, 0, 0) == 0);
	CHECK(copy_from_user(&dom, &os, u + 64, sizeof(os)) == 0 && os.flags == 2 && !os.size);
	ss.size = 65536;
	copy_to_user(&dom, u, &ss, sizeof(ss));
	CHECK(call(SYS_sigaltstack, u, 0, 0, 0) == 0);
	thr.regs.rsp = u + 8192 + 100;
	CHECK(call(SYS_sigaltstack, 0, u + 64, 0, 0) == 0);
	CHECK(copy_from_user(&dom, &os, u + 64, sizeof(os)) == 0 && os.flags == 1 &&
	      os.size == 65536 && os.sp == u + 8192);
	CHECK(call(SYS_sigaltstack, u, 0, 0, 0) == -EPERM);
	thr.regs.rsp = 0;
	ss.flags = 7;
	copy_to_user(&dom, u, &ss, sizeof(ss));
	CHECK(call(SYS_sigaltstack, u, 0, 0, 0) == -EINVAL);
	ss.flags = 2;
	copy_to_user(&dom, u, &ss, sizeof(ss));
	CHECK(call(SYS_sigaltstack, u, 0, 0, 0) == 0);
	CHECK(call(SYS_sigaltstack, bad, 0, 0, 0) == -EFAULT);

	CHECK(call(SYS_set_robust_list, u, 24, 0, 0) == 0 && thr.robust_list == u);
	CHECK(call(SYS_set_robust_list, u, 16, 0, 0) == -EINVAL);
	CHECK(call(SYS_get_robust_list, 0, u + 64, u + 72, 0) == 0);
	CHECK(copy_from_user(&dom, v, u + 64, 16) == 0 && v[0] == u && v[1] == 24);
	CHECK(call(SYS_get_robust_list, 99999, u + 64, u + 72, 0) == -ESRCH);
	CHECK(call(SYS_get_robust_list, 0, bad, u + 72, 0) == -EFAULT);

	CHECK(call(SYS_arch_prctl, 0x1002, USER_MAX, 0, 0) == -EPERM);
	thr.sregs_dirty = false;
	CHECK(call(SYS_arch_prctl, 0x1002, 0x12345000, 0, 0) == 0);
	CHECK(thr.fs_base == 0x12345000 && thr.sregs_dirty);
	CHECK(call(SYS_arch_prctl, 0x1003, u, 0, 0) == 0);
	CHECK(copy_from_user(&dom, v, u, 8) == 0 && v[0] == 0x12345000);
	CHECK(call(SYS_arch_prctl, 0x1003, ro, 0, 0) == -EFAULT);
	CHECK(call(SYS_arch_prctl, 0x3001, u, 0, 0) == -EINVAL);

	CHECK(call(SYS_prctl, 16, u, 0, 0) == 0); /* PR_GET_NAME */
	CHECK(copy_from_user(&dom, name, u, 16) == 0 && strcmp(name, "busybox") == 0);
	copy_to_user(&dom, u, "a-very-long-thread-name", 24);
	CHECK(call(SYS_prctl, 15, u, 0, 0) == 0);
	CHECK(call(SYS_prctl, 16, u + 100, 0, 0) == 0);
	CHECK(copy_from_user(&dom, name, u + 100, 16) == 0 && strcmp(name, "a-very-long-thr") == 0);
	CHECK(call(SYS_prctl, 15, bad, 0, 0) == -EFAULT);
	CHECK(call(SYS_prctl, 3, 0, 0, 0) == 1);
	CHECK(call(SYS_prctl, 12345, 0, 0, 0) == -EINVAL);
	CHECK(call(SYS_personality, 0xffffffff, 0, 0, 0) == 0);
	CHECK(call(SYS_getpgid, 0, 0, 0, 0) == dom.pid);
	CHECK(call(SYS_getpgid, 99999, 0, 0, 0) == -ESRCH);
	CHECK(call(SYS_getsid, 0, 0, 0, 0) == dom.pid);
	CHECK(call(SYS_setpgid, 0, 0, 0, 0) == 0);
}

static void test_domain(void)
{
	static struct domain_spec cfg = { .memory = 128UL << 20, .program = "/bin/busybox" };
	char *argv[] = { "busybox", "echo", "hi", NULL };
	char *envp[] = { "HOME=/", NULL };
	struct kvm_regs r;
	long u, ro;
	int fd;

	if (access("/bin/busybox", F_OK) != 0) {
		skip_part("domain tests: no /bin/busybox");
		return;
	}
	dom.spec = &cfg;
	dom.pid = 4242;
	dom.vm.fd = -1;
	thr.dom = &dom;
	thr.tid = dom.pid;
	dom.threads[0] = &thr;
	dom.nthreads = 1;
	pthread_mutex_init(&dom.lock, NULL);
	dom_lock(&dom); /* handlers run with the domain lock held */
	int mr = mm_init(&dom, cfg.memory);
	CHECK(mr == 0, "set-up: mm_init failed, so the domain tests cannot run");
	if (mr)
		return;
	thr.proc = dom.init;
	dom.init->nthreads = 1;
	fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
	err[0] = '\0';
	CHECK(elf_load(&dom, fd, "/bin/busybox", argv, envp, &r, err, sizeof(err)) == 0);
	close(fd);
	if (*err)
		fprintf(stderr, "elf_load: %s\n", err);
	test_load_busybox(&r);

	u = mm_map(&dom, 0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	ro = mm_map(&dom, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	CHECK(u > 0 && ro > 0);
	if (u > 0 && ro > 0) {
		test_time_calls((gva_t)u, (gva_t)ro, 0x1000);
		test_misc_calls((gva_t)u, (gva_t)ro, 0x1000);
	}
	dom_unlock(&dom);
	mm_destroy(&dom);
}

int main(void)
{
	test_busybox();
	test_dynamic();
	test_synthetic();
	test_stack();
	test_domain();
	if (failures) {
		printf("FAIL test_loader: %d of %d checks failed\n", failures, checks);
		return 1;
	}
	if (missing) {
		printf("SKIP test_loader: %d checks passed, but not all could run (%s)\n", checks, missing);
		return 77;
	}
	printf("PASS test_loader: %d checks\n", checks);
	return 0;
}
