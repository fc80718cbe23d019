/* jobctl.c: job control as a parent sees it — stop signals and SIGCONT sent to children, wait4's WUNTRACED/WCONTINUED statuses, waitid's CLD_STOPPED/CLD_CONTINUED (and WNOWAIT), SIGCHLD with and without SA_NOCLDSTOP, a handled SIGTSTP, discarded SIGCONT and stop signals, SIGKILL of a stopped child, SIGTERM held until SIGCONT, a stopped multi-threaded child — printed so that a native run and a domain's compare line by line. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

/*
 * Every condition is made deterministically: a child waits on a pipe for
 * its orders, and the parent waits with calls that return only on the
 * event (a stop, a continue, an answer on a pipe). Linux sends a stopped
 * child's SIGCHLD before it wakes the parent's wait, but a continued
 * child's SIGCHLD only once the child runs again; so that one is waited
 * for, and its absence is checked only after the child has answered.
 */

#define LONG_MS 20000   /* "never" for an answer that must come */

static const char *code_name(int code)
{
	switch (code) {
	case CLD_EXITED: return "CLD_EXITED";
	case CLD_KILLED: return "CLD_KILLED";
	case CLD_DUMPED: return "CLD_DUMPED";
	case CLD_STOPPED: return "CLD_STOPPED";
	case CLD_CONTINUED: return "CLD_CONTINUED";
	case SI_USER: return "SI_USER";
	case SI_QUEUE: return "SI_QUEUE";
	default: return "?";
	}
}

static const char *sig_name(int sig)
{
	const char *n = sig ? sigabbrev_np(sig) : "0";
	return n ? n : "?";
}

/* ---- a child that takes orders on a pipe ---- */

struct kid {
	pid_t pid;
	int to, from;   /* the parent's ends: orders in, answers out */
};

static int kid_in, kid_out;     /* the child's ends */
static volatile uint64_t *spin_counter; /* shared with the parent (MAP_SHARED) */

static void put_byte(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

/* The next answer from the child, or 0 after ms milliseconds. */
static char get_byte(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	for (;;) {
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		return n == 1 ? c : 0;
	}
}

static void on_sig_answer(int sig)
{
	put_byte(kid_out, sig == SIGTSTP ? 'T' : 'C');
}

static void *spinner(void *arg)
{
	(void)arg;
	for (;;)
		__atomic_add_fetch(spin_counter, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* The child's order loop. q: exit 7; e: echo 'e'; p: report pending
 * SIGTSTP (y/n), then unblock it; c: take a pending SIGCONT and say how
 * it was sent (Q: sigqueue'd 42, U: kill, N: none); s: stop itself. */
static void kid_loop(void)
{
	for (;;) {
		char c;
		ssize_t n = read(kid_in, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			_exit(9);
		switch (c) {
		case 'q':
			_exit(7);
		case 'p': {
			sigset_t s;
			sigpending(&s);
			put_byte(kid_out, sigismember(&s, SIGTSTP) ? 'y' : 'n');
			sigset_t u;
			sigemptyset(&u);
			sigaddset(&u, SIGTSTP);
			sigprocmask(SIG_UNBLOCK, &u, NULL);
			put_byte(kid_out, 'u');
			break;
		}
		case 'c': {
			sigset_t w;
			siginfo_t si;
			struct timespec zero = { 0, 0 };
			sigemptyset(&w);
			sigaddset(&w, SIGCONT);
			int s = sigtimedwait(&w, &si, &zero);
			put_byte(kid_out, s != SIGCONT ? 'N' :
				 si.si_code == SI_QUEUE && si.si_value.sival_int == 42 ? 'Q' :
				 si.si_code == SI_USER ? 'U' : '?');
			break;
		}
		case 's':
			raise(SIGSTOP);
			put_byte(kid_out, 'a');
			break;
		default:
			put_byte(kid_out, c);
		}
	}
}

enum { KID_PLAIN, KID_TSTP_HANDLER, KID_BLOCK_TSTP, KID_BLOCK_CONT, KID_THREADS, KID_OWN_GROUP };

/* Forks a child that waits for orders; it answers 'r' once it is set up. */
static struct kid spawn(int kind)
{
	int a[2], b[2];
	struct kid k = { -1, -1, -1 };

	if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC))
		return k;
	fflush(stdout);
	k.pid = fork();
	if (k.pid == 0) {
		kid_in = a[0];
		kid_out = b[1];
		close(a[1]);
		close(b[0]);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		struct sigaction sa = { .sa_handler = on_sig_answer, .sa_flags = SA_RESTART };
		sigset_t blk;
		sigemptyset(&blk);
		switch (kind) {
		case KID_TSTP_HANDLER:
			sigaction(SIGTSTP, &sa, NULL);
			break;
		case KID_BLOCK_TSTP:
			sigaddset(&blk, SIGTSTP);
			break;
		case KID_BLOCK_CONT:
			/* Handled, so that a pending SIGCONT is not discarded
			 * as ignored; blocked, so that it stays pending. */
			sigaction(SIGCONT, &sa, NULL);
			sigaddset(&blk, SIGCONT);
			break;
		case KID_THREADS: {
			pthread_t th;
			pthread_create(&th, NULL, spinner, NULL);
			break;
		}
		case KID_OWN_GROUP:
			setpgid(0, 0);
			break;
		}
		sigprocmask(SIG_BLOCK, &blk, NULL);
		put_byte(kid_out, 'r');
		kid_loop();
	}
	close(a[0]);
	close(b[1]);
	k.to = a[1];
	k.from = b[0];
	if (kind == KID_OWN_GROUP)
		setpgid(k.pid, k.pid); /* either side may come first */
	if (get_byte(k.from, LONG_MS) != 'r')
		printf("child did not get ready\n");
	return k;
}

static void kid_close(struct kid *k)
{
	close(k->to);
	close(k->from);
}

/* ---- what the parent sees ---- */

static void show_status(const char *what, pid_t r, pid_t kid, int st)
{
	if (r < 0) {
		printf("%s: %s\n", what, errname(errno));
		return;
	}
	if (r == 0) {
		printf("%s: 0 (nothing to report)\n", what);
		return;
	}
	printf("%s: %s status %#x", what, r == kid ? "the child" : "another pid", st);
	if (WIFSTOPPED(st))
		printf(" stopped by %s", sig_name(WSTOPSIG(st)));
	else if (WIFCONTINUED(st))
		printf(" continued");
	else if (WIFEXITED(st))
		printf(" exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf(" killed by %s", sig_name(WTERMSIG(st)));
	printf("\n");
}

static void do_waitpid(const char *what, pid_t kid, int options)
{
	int st = 0;
	pid_t r;

	do
		r = waitpid(kid, &st, options);
	while (r < 0 && errno == EINTR);
	show_status(what, r, kid, st);
}

static void do_waitid(const char *what, pid_t kid, int options)
{
	siginfo_t si;

	memset(&si, 0xa5, sizeof(si));
	int r = waitid(P_PID, (id_t)kid, &si, options);
	if (r < 0) {
		printf("%s: %s\n", what, errname(errno));
		return;
	}
	if (si.si_pid == 0) {
		printf("%s: 0, si_pid 0 si_signo %d (nothing to report)\n", what, si.si_signo);
		return;
	}
	printf("%s: si_signo %s si_code %s si_status %d%s%s si_pid %s si_uid %s\n", what,
	       sig_name(si.si_signo), code_name(si.si_code), si.si_status,
	       si.si_code == CLD_EXITED ? "" : " = ",
	       si.si_code == CLD_EXITED ? "" : sig_name(si.si_status),
	       si.si_pid == kid ? "the child" : "another", si.si_uid == getuid() ? "mine" : "other");
}

/* Takes a pending SIGCHLD (blocked in the parent), waiting up to ms. */
static void take_chld(const char *what, pid_t kid, int ms)
{
	sigset_t w;
	siginfo_t si;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	sigemptyset(&w);
	sigaddset(&w, SIGCHLD);
	int s;
	do
		s = sigtimedwait(&w, &si, &ts);
	while (s < 0 && errno == EINTR);
	if (s != SIGCHLD) {
		printf("%s: no SIGCHLD\n", what);
		return;
	}
	printf("%s: SIGCHLD %s status %d (%s) from %s\n", what, code_name(si.si_code), si.si_status,
	       si.si_code == CLD_EXITED ? "code" : sig_name(si.si_status),
	       si.si_pid == kid ? "the child" : "another");
}

static void chld_pending(const char *what)
{
	sigset_t s;

	sigpending(&s);
	printf("%s: %s\n", what, sigismember(&s, SIGCHLD) ? "SIGCHLD pending" : "no SIGCHLD pending");
}

/* The state letter of /proc/PID/stat and the State line of /proc/PID/status. */
static void show_proc_state(const char *what, pid_t pid)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	char *rp = n > 0 ? (buf[n] = 0, strrchr(buf, ')')) : NULL;
	char st = rp && rp[1] == ' ' ? rp[2] : '?';
	/* Only T is compared: a running child sleeps (S) natively on its
	 * pipe, where a domain's is reported running. */
	printf("%s: stat state %s", what, st == 'T' ? "T" : st == '?' ? "unreadable" : "not T");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	const char *state = "?";
	while (f && fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "State:", 6)) {
			buf[strcspn(buf, "\n")] = 0;
			state = buf + 6 + strspn(buf + 6, " \t");
			if (strcmp(state, "T (stopped)"))
				state = "not T (stopped)";
			break;
		}
	printf(", status State %s\n", state);
	if (f)
		fclose(f);
}

static volatile sig_atomic_t chld_count, chld_code;

/* Only counts and keeps the last code: printing is the main program's. */
static void on_chld_record(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	chld_code = si->si_code;
	chld_count = chld_count + 1;
}

static void set_chld(int flags)
{
	struct sigaction sa = { .sa_sigaction = on_chld_record, .sa_flags = SA_SIGINFO | flags };
	sigaction(SIGCHLD, &sa, NULL);
}

static void block_chld(int how)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	sigprocmask(how, &s, NULL);
}

/* ---- the cases ---- */

static void stop_continue_wait4(void)
{
	printf("== SIGSTOP and SIGCONT, wait4\n");
	struct kid k = spawn(KID_PLAIN);
	kill(k.pid, SIGSTOP);
	do_waitpid("waitpid WUNTRACED", k.pid, WUNTRACED);
	take_chld("after the stop", k.pid, LONG_MS);
	do_waitpid("waitpid WUNTRACED again", k.pid, WUNTRACED | WNOHANG);
	do_waitpid("waitpid WNOHANG (no WUNTRACED)", k.pid, WNOHANG);
	show_proc_state("stopped child", k.pid);
	/* A stopped child reads no orders: no answer however long one waits. */
	put_byte(k.to, 'e');
	printf("stopped child answers: %s\n", get_byte(k.from, 200) ? "yes" : "no");
	kill(k.pid, SIGCONT);
	do_waitpid("waitpid WCONTINUED", k.pid, WCONTINUED);
	do_waitpid("waitpid WCONTINUED again", k.pid, WCONTINUED | WNOHANG);
	do_waitpid("waitpid WUNTRACED after the continue", k.pid, WUNTRACED | WNOHANG);
	char c = get_byte(k.from, LONG_MS);
	printf("continued child answers: %c\n", c ? c : '-');
	take_chld("after the continue", k.pid, LONG_MS);
	show_proc_state("continued child", k.pid);
	put_byte(k.to, 'q');
	do_waitpid("waitpid", k.pid, 0);
	take_chld("after the exit", k.pid, LONG_MS);
	kid_close(&k);
}

static void stop_continue_waitid(void)
{
	printf("== SIGSTOP and SIGCONT, waitid\n");
	struct kid k = spawn(KID_PLAIN);
	do_waitid("waitid WSTOPPED|WNOHANG, running", k.pid, WSTOPPED | WNOHANG);
	kill(k.pid, SIGSTOP);
	do_waitid("waitid WSTOPPED|WNOWAIT", k.pid, WSTOPPED | WNOWAIT);
	do_waitid("waitid WSTOPPED|WNOHANG after WNOWAIT", k.pid, WSTOPPED | WNOHANG);
	do_waitid("waitid WSTOPPED|WNOHANG again", k.pid, WSTOPPED | WNOHANG);
	do_waitid("waitid WEXITED|WNOHANG, stopped", k.pid, WEXITED | WNOHANG);
	take_chld("after the stop", k.pid, LONG_MS);
	kill(k.pid, SIGCONT);
	do_waitid("waitid WCONTINUED|WNOWAIT", k.pid, WCONTINUED | WNOWAIT);
	do_waitid("waitid WCONTINUED|WSTOPPED", k.pid, WCONTINUED | WSTOPPED);
	do_waitid("waitid WCONTINUED|WNOHANG again", k.pid, WCONTINUED | WNOHANG);
	take_chld("after the continue", k.pid, LONG_MS);
	put_byte(k.to, 'q');
	do_waitid("waitid WEXITED", k.pid, WEXITED);
	take_chld("after the exit", k.pid, LONG_MS);
	kid_close(&k);
}

static void nocldstop(void)
{
	printf("== SA_NOCLDSTOP\n");
	set_chld(SA_NOCLDSTOP);
	struct kid k = spawn(KID_PLAIN);
	kill(k.pid, SIGSTOP);
	do_waitpid("waitpid WUNTRACED", k.pid, WUNTRACED);
	chld_pending("after the stop");
	kill(k.pid, SIGCONT);
	do_waitpid("waitpid WCONTINUED", k.pid, WCONTINUED);
	/* Once the child answers it has run since the continue: a SIGCHLD
	 * for it would have been sent by now. */
	put_byte(k.to, 'e');
	char c = get_byte(k.from, LONG_MS);
	printf("continued child answers: %c\n", c ? c : '-');
	chld_pending("after the continue");
	put_byte(k.to, 'q');
	do_waitpid("waitpid", k.pid, 0);
	take_chld("after the exit", k.pid, LONG_MS);
	kid_close(&k);
	set_chld(0);
}

static void chld_handler(void)
{
	printf("== a SIGCHLD handler (SA_RESTART)\n");
	set_chld(SA_RESTART);
	chld_count = 0;
	block_chld(SIG_UNBLOCK);
	struct kid k = spawn(KID_PLAIN);
	kill(k.pid, SIGSTOP);
	do_waitpid("waitpid WUNTRACED", k.pid, WUNTRACED);
	printf("handler runs: %d, last code %s\n", chld_count, code_name(chld_code));
	kill(k.pid, SIGCONT);
	do_waitpid("waitpid WCONTINUED", k.pid, WCONTINUED);
	for (int64_t end = now_ns() + LONG_MS * 1000000LL; chld_count < 2 && now_ns() < end;)
		usleep(1000);
	printf("handler runs: %d, last code %s\n", chld_count, code_name(chld_code));
	put_byte(k.to, 'q');
	do_waitpid("waitpid", k.pid, 0);
	printf("handler runs: %d, last code %s\n", chld_count, code_name(chld_code));
	block_chld(SIG_BLOCK);
	kid_close(&k);
	set_chld(0);
}

static void tstp_handled(void)
{
	printf("== SIGTSTP with a handler\n");
	struct kid k = spawn(KID_TSTP_HANDLER);
	kill(k.pid, SIGTSTP);
	char c = get_byte(k.from, LONG_MS);
	printf("the handler ran: %c\n", c ? c : '-');
	do_waitpid("waitpid WUNTRACED|WNOHANG", k.pid, WUNTRACED | WNOHANG);
	chld_pending("after the handled SIGTSTP");
	put_byte(k.to, 'q');
	do_waitpid("waitpid", k.pid, 0);
	take_chld("after the exit", k.pid, LONG_MS);
	kid_close(&k);
}

static void tstp_default(void)
{
	/* Its own process group, whose parent (this program) is in another
	 * group of the same session: not orphaned, so SIGTSTP stops it. */
	printf("== SIGTSTP by default, then SIGTTIN while stopped\n");
	struct kid k = spawn(KID_OWN_GROUP);
	printf("child's group is its own: %s\n", getpgid(k.pid) == k.pid ? "yes" : "no");
	kill(k.pid, SIGTSTP);
	do_waitpid("waitpid WUNTRACED", k.pid, WUNTRACED);
	take_chld("after the stop", k.pid, LONG_MS);
	/* A stop signal sent to a stopped process stays pending; SIGCONT
	 * discards it, so the child does not stop again. */
	kill(k.pid, SIGTTIN);
	kill(k.pid, SIGCONT);
	do_waitpid("waitpid WUNTRACED|WCONTINUED", k.pid, WUNTRACED | WCONTINUED);
	put_byte(k.to, 'e');
	char c = get_byte(k.from, LONG_MS);
	printf("continued child answers: %c\n", c ? c : '-');
	take_chld("after the continue", k.pid, LONG_MS);
	do_waitpid("waitpid WUNTRACED|WNOHANG", k.pid, WUNTRACED | WNOHANG);
	kill(-k.pid, SIGTTOU);
	do_waitid("group's SIGTTOU, waitid WSTOPPED", k.pid, WSTOPPED);
	take_chld("after the stop", k.pid, LONG_MS);
	kill(k.pid, SIGKILL);
	do_waitpid("SIGKILL while stopped, waitpid", k.pid, 0);
	take_chld("after the kill", k.pid, LONG_MS);
	kid_close(&k);
}

static void fatal_while_stopped(void)
{
	/* No thread of a stopped process takes it: it waits for SIGCONT. */
	printf("== SIGTERM to a stopped child waits for SIGCONT\n");
	struct kid k = spawn(KID_PLAIN);
	kill(k.pid, SIGSTOP);
	do_waitpid("waitpid WUNTRACED", k.pid, WUNTRACED);
	take_chld("after the stop", k.pid, LONG_MS);
	kill(k.pid, SIGTERM);
	do_waitpid("waitpid WNOHANG after SIGTERM", k.pid, WNOHANG);
	show_proc_state("after SIGTERM", k.pid);
	kill(k.pid, SIGCONT);
	do_waitpid("waitpid after SIGCONT", k.pid, 0);
	/* CLD_CONTINUED came first; the CLD_KILLED after it coalesced. */
	take_chld("after the end", k.pid, LONG_MS);
	kid_close(&k);
}

static void cont_discards_stop(void)
{
	printf("== SIGCONT discards a pending (blocked) SIGTSTP\n");
	struct kid k = spawn(KID_BLOCK_TSTP);
	kill(k.pid, SIGTSTP);
	kill(k.pid, SIGCONT);
	do_waitpid("waitpid WCONTINUED|WNOHANG (it was not stopped)", k.pid, WCONTINUED | WNOHANG);
	chld_pending("after SIGCONT to a running child");
	put_byte(k.to, 'p');
	char c = get_byte(k.from, LONG_MS);
	printf("SIGTSTP pending after SIGCONT: %c\n", c ? c : '-');
	c = get_byte(k.from, LONG_MS);
	printf("child goes on after unblocking SIGTSTP: %c\n", c ? c : '-');
	put_byte(k.to, 'q');
	do_waitpid("waitpid WUNTRACED", k.pid, WUNTRACED);
	take_chld("after the exit", k.pid, LONG_MS);
	kid_close(&k);
}

static void stop_discards_cont(void)
{
	printf("== a stop signal discards a pending (blocked) SIGCONT\n");
	struct kid k = spawn(KID_BLOCK_CONT);
	kill(k.pid, SIGCONT);
	kill(k.pid, SIGSTOP);
	do_waitpid("waitpid WUNTRACED", k.pid, WUNTRACED);
	take_chld("after the stop", k.pid, LONG_MS);
	/* The continue's own SIGCONT stays pending (blocked); had the first
	 * one survived the stop, its siginfo (SI_USER) would be the one kept. */
	union sigval v = { .sival_int = 42 };
	sigqueue(k.pid, SIGCONT, v);
	do_waitpid("waitpid WCONTINUED", k.pid, WCONTINUED);
	put_byte(k.to, 'c');
	char c = get_byte(k.from, LONG_MS);
	printf("pending SIGCONT was sent by: %c\n", c ? c : '-');
	take_chld("after the continue", k.pid, LONG_MS);
	put_byte(k.to, 'q');
	do_waitpid("waitpid", k.pid, 0);
	take_chld("after the exit", k.pid, LONG_MS);
	kid_close(&k);
}

static void self_stop(void)
{
	printf("== a child stops itself; the parent waits for it\n");
	struct kid k = spawn(KID_PLAIN);
	put_byte(k.to, 's');
	do_waitpid("waitpid WUNTRACED (blocks until the stop)", k.pid, WUNTRACED);
	take_chld("after the stop", k.pid, LONG_MS);
	kill(k.pid, SIGCONT);
	char c = get_byte(k.from, LONG_MS);
	printf("after its raise(SIGSTOP): %c\n", c ? c : '-');
	take_chld("after the continue", k.pid, LONG_MS);
	put_byte(k.to, 'q');
	do_waitpid("waitpid", k.pid, 0);
	take_chld("after the exit", k.pid, LONG_MS);
	kid_close(&k);
}

static void continued_by_sibling(void)
{
	printf("== the parent waits on a stopped child that a sibling continues\n");
	struct kid k = spawn(KID_PLAIN);
	kill(k.pid, SIGSTOP);
	do_waitpid("waitpid WUNTRACED", k.pid, WUNTRACED);
	take_chld("after the stop", k.pid, LONG_MS);
	int go[2];
	if (pipe2(go, O_CLOEXEC))
		return;
	fflush(stdout);
	pid_t sib = fork();
	if (sib == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		/* Gives the parent time to be asleep in its wait (only which
		 * path the wake-up takes depends on it, not the outcome). */
		usleep(50000);
		_exit(kill(k.pid, SIGCONT) ? 2 : 0);
	}
	close(go[0]);
	put_byte(go[1], 'g');
	close(go[1]);
	do_waitpid("waitpid WCONTINUED (blocks until the sibling's SIGCONT)", k.pid, WCONTINUED);
	do_waitpid("the sibling", sib, 0);
	/* The child already has its order to end when the parent starts the
	 * plain wait: it is answered by the exit alone. */
	put_byte(k.to, 'q');
	do_waitpid("waitpid (blocks until the exit)", k.pid, 0);
	/* Three SIGCHLDs came (continue, sibling's exit, exit) and coalesced. */
	sigset_t w;
	sigemptyset(&w);
	sigaddset(&w, SIGCHLD);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&w, NULL, &zero) > 0)
		;
	kid_close(&k);
}

static void stopped_threads(void)
{
	printf("== a stop stops every thread\n");
	spin_counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (spin_counter == MAP_FAILED)
		return;
	struct kid k = spawn(KID_THREADS);
	for (int64_t end = now_ns() + LONG_MS * 1000000LL; !*spin_counter && now_ns() < end;)
		usleep(1000);
	printf("the spinning thread runs: %s\n", *spin_counter ? "yes" : "no");
	kill(k.pid, SIGSTOP);
	do_waitpid("waitpid WUNTRACED", k.pid, WUNTRACED);
	take_chld("after the stop", k.pid, LONG_MS);
	uint64_t c1 = *spin_counter;
	usleep(100000);
	uint64_t c2 = *spin_counter;
	printf("the spinning thread is stopped: %s\n", c1 == c2 ? "yes" : "no");
	kill(k.pid, SIGCONT);
	for (int64_t end = now_ns() + LONG_MS * 1000000LL; *spin_counter == c2 && now_ns() < end;)
		usleep(1000);
	printf("it runs again after SIGCONT: %s\n", *spin_counter != c2 ? "yes" : "no");
	do_waitpid("waitpid WCONTINUED", k.pid, WCONTINUED);
	take_chld("after the continue", k.pid, LONG_MS);
	put_byte(k.to, 'q');
	do_waitpid("waitpid", k.pid, 0);
	take_chld("after the exit", k.pid, LONG_MS);
	kid_close(&k);
	munmap((void *)spin_counter, 4096);
}

/* `jobctl snap GO`: a child stopped across a snapshot. Once it has
 * printed "ready" the test snapshots the domain, stops it and creates GO
 * (natively GO exists from the start); the restored domain finds the child
 * still stopped, its stop report kept, and continues it. */
static int snap_case(const char *go)
{
	printf("== a stopped child across a snapshot\n");
	struct kid k = spawn(KID_PLAIN);
	kill(k.pid, SIGSTOP);
	do_waitid("waitid WSTOPPED|WNOWAIT", k.pid, WSTOPPED | WNOWAIT);
	take_chld("after the stop", k.pid, LONG_MS);
	/* An order it can answer only once continued. */
	put_byte(k.to, 'e');
	printf("ready\n");
	while (access(go, F_OK))
		usleep(20000);
	show_proc_state("after the restore", k.pid);
	printf("the child answers before SIGCONT: %s\n", get_byte(k.from, 200) ? "yes" : "no");
	do_waitpid("waitpid WUNTRACED|WNOHANG (the report kept)", k.pid, WUNTRACED | WNOHANG);
	kill(k.pid, SIGCONT);
	do_waitpid("waitpid WCONTINUED", k.pid, WCONTINUED);
	char c = get_byte(k.from, LONG_MS);
	printf("continued child answers: %c\n", c ? c : '-');
	take_chld("after the continue", k.pid, LONG_MS);
	put_byte(k.to, 'q');
	do_waitpid("waitpid", k.pid, 0);
	take_chld("after the exit", k.pid, LONG_MS);
	kid_close(&k);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* SIGCHLD stays blocked (sigtimedwait takes it) except where a
	 * handler is being tried. */
	set_chld(0);
	block_chld(SIG_BLOCK);
	if (argc == 3 && !strcmp(argv[1], "snap"))
		return snap_case(argv[2]);
	stop_continue_wait4();
	stop_continue_waitid();
	nocldstop();
	chld_handler();
	tstp_handled();
	tstp_default();
	fatal_while_stopped();
	cont_discards_stop();
	stop_discards_cont();
	self_stop();
	continued_by_sibling();
	stopped_threads();
	printf("== errors\n");
	do_waitpid("waitpid bad option", -1, 0x100);
	siginfo_t si;
	printf("waitid without an event: %s\n", waitid(P_ALL, 0, &si, WNOHANG) ? errname(errno) : "0");
	printf("waitid P_PID 0: %s\n", waitid(P_PID, 0, &si, WEXITED) ? errname(errno) : "0");
	do_waitpid("waitpid WUNTRACED, no children", -1, WUNTRACED);
	printf("waitid WSTOPPED, no children: %s\n", waitid(P_ALL, 0, &si, WSTOPPED) ? errname(errno) : "0");
	return 0;
}
