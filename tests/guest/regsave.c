/* regsave.c: a raw `syscall` leaves every register as Linux's sysret does — RAX the result, RCX the return address, R11 the RFLAGS of the call, all other registers and the arithmetic flags and DF unchanged — for calls pdvm answers in the guest (getpid, lseek) and one it does not (sched_yield), under every combination of CF PF AF ZF SF OF DF. Usage: regsave [ROUNDS] */
#include "guest.h"

#include <fcntl.h>
#include <sys/syscall.h>

/* in[] and out[]: rax rbx rdx rsi rdi rbp r8 r9 r10 r12 r13 r14 r15 rflags;
 * out[14] rcx, out[15] r11. */
enum { N_IN = 14, O_RCX = 14, O_R11 = 15, N_OUT = 16 };
static const char *const names[N_OUT] = { "rax", "rbx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10",
					  "r12", "r13", "r14", "r15", "rflags", "rcx", "r11" };

uint64_t regsave_out_ptr, regsave_rax, regsave_rsp;
extern char regsave_ret[];
void regsave_call(const uint64_t *in, uint64_t *out);

/* Loads in[] into the registers and flags, runs one `syscall`, stores them
 * all into out[]. The globals keep what no register can during the call. */
__asm__(
	".text\n"
	".globl regsave_call\n"
	"regsave_call:\n"
	"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"	mov %rsi, regsave_out_ptr(%rip)\n"
	"	pushq 104(%rdi)\n"
	"	popfq\n"
	"	mov 8(%rdi), %rbx\n"
	"	mov 16(%rdi), %rdx\n"
	"	mov 24(%rdi), %rsi\n"
	"	mov 40(%rdi), %rbp\n"
	"	mov 48(%rdi), %r8\n"
	"	mov 56(%rdi), %r9\n"
	"	mov 64(%rdi), %r10\n"
	"	mov 72(%rdi), %r12\n"
	"	mov 80(%rdi), %r13\n"
	"	mov 88(%rdi), %r14\n"
	"	mov 96(%rdi), %r15\n"
	"	mov 0(%rdi), %rax\n"
	"	mov 32(%rdi), %rdi\n"
	"	mov $0x5a5a5a5a5a5a5a5a, %rcx\n"
	"	mov $0xa5a5a5a5a5a5a5a5, %r11\n"
	"	syscall\n"
	"regsave_ret:\n"
	"	pushfq\n"
	"	cld\n"
	"	mov %rax, regsave_rax(%rip)\n"
	"	mov regsave_out_ptr(%rip), %rax\n"
	"	popq 104(%rax)\n"
	"	mov %rbx, 8(%rax)\n"
	"	mov %rdx, 16(%rax)\n"
	"	mov %rsi, 24(%rax)\n"
	"	mov %rdi, 32(%rax)\n"
	"	mov %rbp, 40(%rax)\n"
	"	mov %r8, 48(%rax)\n"
	"	mov %r9, 56(%rax)\n"
	"	mov %r10, 64(%rax)\n"
	"	mov %r12, 72(%rax)\n"
	"	mov %r13, 80(%rax)\n"
	"	mov %r14, 88(%rax)\n"
	"	mov %r15, 96(%rax)\n"
	"	mov %rcx, 112(%rax)\n"
	"	mov %r11, 120(%rax)\n"
	"	mov regsave_rax(%rip), %rbx\n"
	"	mov %rbx, 0(%rax)\n"
	"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
	"	ret\n");

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define FL_CF 0x1
#define FL_PF 0x4
#define FL_AF 0x10
#define FL_ZF 0x40
#define FL_SF 0x80
#define FL_DF 0x400
#define FL_OF 0x800

static const uint64_t flag_bits[] = { FL_CF, FL_PF, FL_AF, FL_ZF, FL_SF, FL_DF, FL_OF };
#define ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_DF | FL_OF)

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 4;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 2;
	pid_t pid = getpid();
	const long calls[] = { SYS_getpid, SYS_lseek, SYS_sched_yield };
	const char *call_names[] = { "getpid", "lseek", "sched_yield" };
	long seeks = 0;
	int bad[3] = { 0, 0, 0 };
	char first[3][200] = { "", "", "" };
	for (int r = 0; r < rounds; r++) {
		for (unsigned combo = 0; combo < 128; combo++) {
			uint64_t fl = 0x202;    /* IF and the reserved bit, as user mode has them */
			for (int b = 0; b < 7; b++)
				if (combo & (1u << b))
					fl |= flag_bits[b];
			for (int c = 0; c < 3; c++) {
				uint64_t in[N_IN], out[N_OUT];
				for (int i = 0; i < N_IN; i++)
					in[i] = next();
				in[0] = (uint64_t)calls[c];
				if (calls[c] == SYS_lseek) {
					in[4] = (uint64_t)fd;           /* rdi */
					in[3] = 1;                      /* rsi: offset */
					in[2] = SEEK_CUR;               /* rdx */
				}
				in[13] = fl;
				memset(out, 0, sizeof(out));
				regsave_call(in, out);
				uint64_t want_rax = calls[c] == SYS_getpid ? (uint64_t)pid :
						    calls[c] == SYS_lseek ? (uint64_t)++seeks : 0;
				char why[200] = "";
				if (out[0] != want_rax)
					snprintf(why, sizeof(why), "rax %#llx, want %#llx", (unsigned long long)out[0],
						 (unsigned long long)want_rax);
				for (int i = 1; i < N_IN && !*why; i++) {
					uint64_t got = i == 13 ? out[i] & ARITH : out[i], want = i == 13 ? fl & ARITH : in[i];
					if (got != want)
						snprintf(why, sizeof(why), "%s %#llx, want %#llx", names[i],
							 (unsigned long long)got, (unsigned long long)want);
				}
				if (!*why && out[O_RCX] != (uint64_t)regsave_ret)
					snprintf(why, sizeof(why), "rcx %#llx, want the return address %#llx",
						 (unsigned long long)out[O_RCX], (unsigned long long)regsave_ret);
				if (!*why && (out[O_R11] & ARITH) != (fl & ARITH))
					snprintf(why, sizeof(why), "r11 %#llx, want the call's rflags %#llx",
						 (unsigned long long)out[O_R11], (unsigned long long)fl);
				if (*why && !bad[c]++)
					snprintf(first[c], sizeof(first[c]), "flags %#llx: %s", (unsigned long long)fl, why);
			}
		}
	}
	for (int c = 0; c < 3; c++)
		check(!bad[c], "%s: %d calls keep every register and flag%s%s", call_names[c], rounds * 128,
		      bad[c] ? "; first bad: " : "", first[c]);
	return done_testing();
}
