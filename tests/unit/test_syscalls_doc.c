/* test_syscalls_doc.c: docs/syscalls.md is what tools/gen-syscalls.sh makes of the dispatch tables and vmm/sys_notes.c now (fails with the diff when they drifted apart: run make syscalls-doc), the generator refuses tables the headers contradict, and syscall_lookup reads the tables. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/syscall.h"
#include "check.h"

#define UNISTD_64 "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"

static char dir[PATH_MAX];

/* Runs a shell command (from the repository's root, as run.sh runs unit
 * tests): its exit status, or -1. */
static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[4 * PATH_MAX];
	int st;

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	fflush(stdout);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static void write_file(const char *path, const char *text, bool exec)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || (exec && chmod(path, 0755))) {
		perror(path);
		exit(1);
	}
}

/* The document is exactly what the generator makes of this tree. */
static void doc_current(const char *status)
{
	char out[PATH_MAX + 16];

	snprintf(out, sizeof(out), "%s/syscalls.md", dir);
	CHECK(sh("tools/gen-syscalls.sh '%s' > '%s'", status, out) == 0, "the generator failed");
	int d = sh("diff -u docs/syscalls.md '%s'%s", out, "");
	CHECK(d == 0, "docs/syscalls.md is not what the code says (the diff above, + is the code's): "
		      "run make syscalls-doc");
}

/* A status line the headers contradict, a handler's number they lack and a
 * line of the wrong form are errors, not rows. */
static void generator_refuses(void)
{
	static const char *const lines[] = {
		"0\\tnot_read\\timplemented",      /* another name */
		"600\\tsomething\\timplemented",   /* no such number */
		"0\\tread",                        /* no status */
	};
	char hdr[PATH_MAX + 16], fake[PATH_MAX + 16], text[256];

	snprintf(hdr, sizeof(hdr), "%s/unistd_64.h", dir);
	write_file(hdr, "#define __NR_read 0\n#define __NR_write 1\n", false);
	snprintf(fake, sizeof(fake), "%s/status", dir);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(text, sizeof(text), "#!/bin/sh\nprintf '%s\\n'\n", lines[i]);
		write_file(fake, text, true);
		CHECK(sh("tools/gen-syscalls.sh '%s' '%s' >/dev/null 2>&1", fake, hdr) == 1,
		      "a status line \"%s\" was not refused", lines[i]);
	}
	/* A status program that fails (a note the tables contradict) fails it. */
	write_file(fake, "#!/bin/sh\necho 'syscall_status: bad note' >&2\nexit 1\n", true);
	CHECK(sh("tools/gen-syscalls.sh '%s' '%s' >/dev/null 2>&1", fake, hdr) != 0,
	      "a failing status program went unnoticed");
	/* And a good one gives the table, the missing call unimplemented. */
	write_file(fake, "#!/bin/sh\nprintf '0\\tread\\timplemented\\n'\n", true);
	CHECK(sh("tools/gen-syscalls.sh '%s' '%s' | grep -q '^| 1 | `write` | unimplemented (ENOSYS) |$'",
		 fake, hdr) == 0, "a call without a handler is not listed as unimplemented");
}

static void lookup(void)
{
	syscall_init();
	const struct syscall_desc *d = syscall_lookup(SYS_read);
	CHECK(d && d->nr == SYS_read && !strcmp(d->name, "read") && d->fn);
	CHECK(syscall_lookup(-1) == NULL);
	CHECK(syscall_lookup(512) == NULL);
	CHECK(syscall_lookup(1 << 30) == NULL);
	CHECK(syscall_lookup(SYS_nfsservctl) != NULL, "an absent call is answered (ENOSYS, logged as absent)");
	/* Every note is about a call with a handler (the generator's check too). */
	for (const struct syscall_note *n = syscall_notes; n->nr >= 0; n++)
		CHECK(syscall_lookup(n->nr) != NULL, "note for %d without a handler", n->nr);
}

int main(void)
{
	const char *b = getenv("B");
	char status[PATH_MAX];

	if (access(UNISTD_64, R_OK)) {
		printf("SKIP: no %s (linux-libc-dev)\n", UNISTD_64);
		return 77;
	}
	snprintf(status, sizeof(status), "%s/syscall_status", b && *b ? b : "build");
	snprintf(dir, sizeof(dir), "/tmp/pdvm-syscalls-doc.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK(access(status, X_OK) == 0, "no %s: make builds it", status);
	if (!failures)
		doc_current(status);
	generator_refuses();
	lookup();
	sh("rm -rf '%s'%s", dir, "");
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
