/* elf_stack.c: the Linux initial stack image of a new program — argv, envp, auxv, as fs/binfmt_elf.c lays them out. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "elf_stack.h"

/* Linux: MAX_ARG_STRLEN (32 pages) per string; total capped at a quarter of
 * the 8 MiB stack rlimit. */
#define MAX_ARG_STRLEN		(32 * PAGE_SIZE)
#define MAX_ARG_TOTAL		(2UL << 20)
#define PLATFORM		"x86_64"
/* Number of auxv pairs elf_build_stack emits, AT_NULL included. */
#define AUXV_PAIRS		20

static size_t vec_count(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Linux (since 5.18) runs a program given an empty argv with argv = {""}. */
static char *const empty_argv[] = { "", NULL };

static char *const *effective_argv(const struct elf_stack_params *p)
{
	return vec_count(p->argv) ? p->argv : empty_argv;
}

/* Bytes for the strings of argv and envp, or -E2BIG. */
static long strings_size(char *const *argv, char *const *envp)
{
	size_t total = 0, n;
	char *const *vecs[2] = { argv, envp };

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; vecs[k] && vecs[k][i]; i++) {
			n = strnlen(vecs[k][i], MAX_ARG_STRLEN) + 1;
			if (n > MAX_ARG_STRLEN)
				return -E2BIG;
			total += n + sizeof(uint64_t); /* string and its pointer */
			if (total > MAX_ARG_TOTAL)
				return -E2BIG;
		}
	}
	return (long)total;
}

/* auxv entries including AT_NULL: AT_SYSINFO_EHDR only with a vDSO. */
static size_t auxv_pairs(const struct elf_stack_params *p)
{
	return AUXV_PAIRS + (p->sysinfo_ehdr ? 1 : 0);
}

long elf_stack_size(const struct elf_stack_params *p)
{
	char *const *argv = effective_argv(p);
	long s = strings_size(argv, p->envp);
	size_t fn;

	if (s < 0)
		return s;
	fn = strnlen(p->execfn ? p->execfn : "", MAX_ARG_STRLEN) + 1;
	if (fn > MAX_ARG_STRLEN)
		return -E2BIG;
	/* strings + execfn + top NULL + alignment + platform + random +
	 * alignment + argc + two NULLs + auxv */
	return s + (long)fn + 8 + 16 + sizeof(PLATFORM) + 16 + 16 +
	       8 + 16 + (long)auxv_pairs(p) * 16;
}

int elf_build_stack(void *buf, size_t len, gva_t top,
		    const struct elf_stack_params *p, gva_t *sp_out)
{
	char *const *argv = effective_argv(p);
	const char *execfn = p->execfn ? p->execfn : "";
	size_t argc = vec_count(argv), envc = vec_count(p->envp);
	long need = elf_stack_size(p);
	gva_t base = top - len, pos, u_execfn, u_platform, u_random, sp;
	uint64_t *w;
	size_t items, k = 0;
	uint8_t *b = buf;

	if (need < 0)
		return (int)need;
	if ((size_t)need > len || len > top)
		return -E2BIG;
	memset(buf, 0, len);

/* Host pointer of guest address a inside the image. */
#define HOST(a) (b + ((a) - base))

	/* Linux keeps one NULL pointer at the very top, then the file name. */
	pos = top - sizeof(uint64_t);
	pos -= strlen(execfn) + 1;
	u_execfn = pos;
	memcpy(HOST(pos), execfn, strlen(execfn) + 1);

	/* Strings of envp then argv going down, so that in memory argv[0] is
	 * lowest and the order is argv..., envp..., execfn. */
	size_t strbytes = 0;
	for (size_t i = 0; i < argc; i++)
		strbytes += strlen(argv[i]) + 1;
	for (size_t i = 0; i < envc; i++)
		strbytes += strlen(p->envp[i]) + 1;
	pos -= strbytes;
	gva_t str = pos;

	/* create_elf_tables: align, platform string, 16 random bytes. */
	pos &= ~15UL;
	pos -= sizeof(PLATFORM);
	u_platform = pos;
	memcpy(HOST(pos), PLATFORM, sizeof(PLATFORM));
	pos -= 16;
	u_random = pos;
	memcpy(HOST(pos), p->random, 16);

	/* argc, argv[], NULL, envp[], NULL, auxv: RSP at argc 16-aligned. */
	items = 1 + (argc + 1) + (envc + 1) + auxv_pairs(p) * 2;
	sp = (pos - items * 8) & ~15UL;
	if (sp < base)
		return -E2BIG;
	w = (uint64_t *)(void *)HOST(sp);

	w[k++] = argc;
	for (size_t i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		memcpy(HOST(str), argv[i], n);
		w[k++] = str;
		str += n;
	}
	w[k++] = 0;
	for (size_t i = 0; i < envc; i++) {
		size_t n = strlen(p->envp[i]) + 1;

		memcpy(HOST(str), p->envp[i], n);
		w[k++] = str;
		str += n;
	}
	w[k++] = 0;

#define AUX(type, val) do { w[k++] = (type); w[k++] = (val); } while (0)
	/* x86-64 ARCH_DLINFO comes first. */
	if (p->sysinfo_ehdr)
		AUX(AT_SYSINFO_EHDR, p->sysinfo_ehdr);
	AUX(AT_MINSIGSTKSZ, p->minsigstksz);
	AUX(AT_HWCAP, p->hwcap);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_CLKTCK, 100);
	AUX(AT_PHDR, p->phdr);
	AUX(AT_PHENT, p->phent);
	AUX(AT_PHNUM, p->phnum);
	AUX(AT_BASE, p->base);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, p->entry);
	AUX(AT_UID, p->uid);
	AUX(AT_EUID, p->euid);
	AUX(AT_GID, p->gid);
	AUX(AT_EGID, p->egid);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, u_random);
	AUX(AT_HWCAP2, p->hwcap2);
	AUX(AT_EXECFN, u_execfn);
	AUX(AT_PLATFORM, u_platform);
	AUX(AT_NULL, 0);
#undef AUX
#undef HOST
	if (k != items)
		return -E2BIG; /* cannot happen: AUXV_PAIRS out of date */
	*sp_out = sp;
	return 0;
}

void elf_stack_strings(const struct elf_stack_params *p, gva_t top, gva_t *arg_start,
		       gva_t *env_start, gva_t *env_end)
{
	char *const *argv = effective_argv(p);
	size_t ab = 0, eb = 0;

	for (size_t i = 0; argv[i]; i++)
		ab += strlen(argv[i]) + 1;
	for (size_t i = 0; p->envp && p->envp[i]; i++)
		eb += strlen(p->envp[i]) + 1;
	/* Below the top NULL pointer and execfn, as elf_build_stack lays them. */
	*arg_start = top - sizeof(uint64_t) - (strlen(p->execfn ? p->execfn : "") + 1) - ab - eb;
	*env_start = *arg_start + ab;
	*env_end = *env_start + eb;
}
