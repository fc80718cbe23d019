/* syscall_status.c: prints every system call the VMM dispatches with its status, from the dispatch tables and vmm/sys_notes.c, for tools/gen-syscalls.sh (docs/syscalls.md); fails when a note and the tables disagree. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/syscall.h"

/* Past every x86-64 number (the x32 ones start at 512). */
#define NR_LIMIT 512

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Whether d is a row of vmm/sys_priv.c's table. */
static bool in_priv_table(const struct syscall_desc *d)
{
	for (const struct syscall_desc *s = sys_priv_table; s->nr >= 0; s++)
		if (s == d)
			return true;
	return false;
}

int main(void)
{
	static const char *note[NR_LIMIT];
	int bad = 0;

	syscall_init();
	for (const struct syscall_note *n = syscall_notes; n->nr >= 0; n++) {
		const struct syscall_desc *d = syscall_lookup(n->nr);
		const char *why = NULL;
		if (n->nr >= NR_LIMIT || !d)
			why = "names a call that has no handler";
		else if (note[n->nr])
			why = "is the call's second note";
		else if (!has_prefix(n->note, "partial: ") && !has_prefix(n->note, "refused: ") &&
			 !has_prefix(n->note, "absent: "))
			why = "does not start with \"partial: \", \"refused: \" or \"absent: \"";
		else if (strpbrk(n->note, "|\n"))
			why = "has a '|' or a newline (the document is a markdown table)";
		else if (has_prefix(n->note, "absent: ") && !in_priv_table(d))
			why = "says absent (ENOSYS as on Linux) of a call not answered by sys_priv.c";
		if (why) {
			fprintf(stderr, "syscall_status: the note for call %d %s: %s\n", n->nr, why, n->note);
			bad = 1;
			continue;
		}
		note[n->nr] = n->note;
	}
	/* What sys_priv.c answers is refused or absent, and says why. */
	for (const struct syscall_desc *s = sys_priv_table; s->nr >= 0; s++)
		if (s->nr < NR_LIMIT && syscall_lookup(s->nr) == s && !note[s->nr]) {
			fprintf(stderr, "syscall_status: %s (%d) is answered by sys_priv.c but has no refused or "
				"absent note in vmm/sys_notes.c\n", s->name, s->nr);
			bad = 1;
		}
	for (const struct syscall_desc *s = sys_priv_table; s->nr >= 0; s++)
		if (note[s->nr] && has_prefix(note[s->nr], "partial: ")) {
			fprintf(stderr, "syscall_status: %s (%d) is answered by sys_priv.c: its note says refused "
				"or absent, not partial\n", s->name, s->nr);
			bad = 1;
		}
	if (bad)
		return 1;
	for (int nr = 0; nr < NR_LIMIT; nr++) {
		const struct syscall_desc *d = syscall_lookup(nr);
		if (d)
			printf("%d\t%s\t%s\n", nr, d->name, note[nr] ? note[nr] : "implemented");
	}
	return 0;
}
