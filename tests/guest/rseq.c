/* rseq.c: the rseq system call's argument checks, printed on stdout for a line-by-line comparison with a native run that has glibc's own registration turned off (GLIBC_TUNABLES=glibc.pthread.rseq=0); what a valid registration gets (registered natively, refused with EPERM by pdvm) goes to stderr. */
#include "guest.h"

#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>

#define RSEQ_SIG 0x53053053
#define RSEQ_FLAG_UNREGISTER 1

struct rseq_area {
	uint32_t cpu_id_start, cpu_id;
	uint64_t rseq_cs;
	uint32_t flags, node_id, mm_cid, pad;
} __attribute__((aligned(32)));

static struct rseq_area area[2];
extern const unsigned int __rseq_size __attribute__((weak));

static long rseq(void *p, uint32_t len, int flags, uint32_t sig)
{
	return syscall(SYS_rseq, p, len, flags, sig);
}

int main(void)
{
	show("libc's registration size", &__rseq_size ? (long)__rseq_size : 0);
	show("unknown flag", rseq(&area[0], 32, 2, RSEQ_SIG));
	show("unregister with an unknown flag", rseq(&area[0], 32, RSEQ_FLAG_UNREGISTER | 2, RSEQ_SIG));
	show("unregister what is not registered", rseq(&area[0], 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG));
	show("length 16", rseq(&area[0], 16, 0, RSEQ_SIG));
	show("misaligned area", rseq((char *)&area[0] + 8, 32, 0, RSEQ_SIG));
	show("kernel address", rseq((void *)0xffff880000000000ULL, 32, 0, RSEQ_SIG));
	show("sched_getcpu works", sched_getcpu() >= 0);

	/* A valid registration: Linux takes it, pdvm refuses it. */
	long r = rseq(&area[1], 32, 0, RSEQ_SIG);
	int e = errno;
	if (r == 0) {
		fprintf(stderr, "register: 0, cpu_id %s\n", area[1].cpu_id < 4096 ? "set" : "unset");
		fprintf(stderr, "again: %s\n", rseq(&area[1], 32, 0, RSEQ_SIG) ? errname(errno) : "0");
		fprintf(stderr, "again, another signature: %s\n", rseq(&area[1], 32, 0, 1) ? errname(errno) : "0");
		fprintf(stderr, "unregister, another signature: %s\n",
			rseq(&area[1], 32, RSEQ_FLAG_UNREGISTER, 1) ? errname(errno) : "0");
		fprintf(stderr, "unregister: %s\n",
			rseq(&area[1], 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) ? errname(errno) : "0");
	} else {
		fprintf(stderr, "register: %s\n", errname(e));
		fprintf(stderr, "again: %s\n", rseq(&area[1], 32, 0, RSEQ_SIG) ? errname(errno) : "0");
	}
	return 0;
}
