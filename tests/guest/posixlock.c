/* posixlock.c: POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW) between a parent and its children — conflicts, F_GETLK's holder and pid, splitting and merging, release on close of another fd and at exit, kept across exec, F_SETLKW waking, EINTR and restart, EDEADLK, OFD locks against POSIX ones, errors — printed so that a native run and a domain's can be compared line by line. Usage: posixlock WRITABLE-DIR [interop | hold N MS] */
#include "guest.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

static pid_t parent, child, holder;
static const char *self;        /* argv[0], for the exec test */

/* A pid as the output names it: pids differ between runs. */
static const char *who(pid_t p)
{
	static char buf[4][24];
	static int slot;

	if (p == parent)
		return "parent";
	if (p == child && child)
		return "child";
	if (p == holder && holder)
		return "holder";
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%d", (int)p);
	return buf[slot];
}

static const char *tname(int type)
{
	return type == F_RDLCK ? "read" : type == F_WRLCK ? "write" : type == F_UNLCK ? "unlocked" : "?";
}

/* guest.h's show, flushed at once: parent and children write in turn. */
static void shown(const char *what, long r)
{
	show(what, r);
	fflush(stdout);
}

static int lk(int fd, int cmd, int type, int whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = (short)type, .l_whence = (short)whence, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* F_GETLK (or F_OFD_GETLK) and the answer, whole. */
static void getlk(const char *what, int fd, int cmd, int type, int whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = (short)type, .l_whence = (short)whence, .l_start = start,
			    .l_len = len, .l_pid = cmd == F_OFD_GETLK ? 0 : 12345 };

	if (fcntl(fd, cmd, &fl) < 0) {
		printf("%s: %s\n", what, errname(errno));
	} else if (fl.l_type == F_UNLCK) {
		/* Only l_type changes when nothing conflicts. */
		printf("%s: unlocked (whence %d start %lld len %lld pid %s)\n", what, fl.l_whence,
		       (long long)fl.l_start, (long long)fl.l_len, who(fl.l_pid));
	} else {
		printf("%s: %s start %lld len %lld pid %s whence %d\n", what, tname(fl.l_type),
		       (long long)fl.l_start, (long long)fl.l_len, who(fl.l_pid), fl.l_whence);
	}
	fflush(stdout);
}

/* Runs fn in a child process (its own fd table: no locks of the parent's
 * are its) and waits for it. */
static void in_child(void (*fn)(int fd), int fd)
{
	fflush(stdout);
	pid_t c = fork();

	if (c == 0) {
		child = getpid();
		fn(fd);
		fflush(stdout);
		_exit(0);
	}
	child = c;
	waitpid(c, NULL, 0);
	child = 0;
}

static void probe_whole(int fd)
{
	getlk("child: getlk write whole file", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0);
}

static void probe_ranges(int fd)
{
	getlk("child: getlk write whole file", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	getlk("child: getlk read 200..250 (read lock there)", fd, F_GETLK, F_RDLCK, SEEK_SET, 200, 51);
	getlk("child: getlk write 250..260", fd, F_GETLK, F_WRLCK, SEEK_SET, 250, 11);
	getlk("child: getlk read 1000 (to-EOF lock)", fd, F_GETLK, F_RDLCK, SEEK_SET, 1000, 1);
	getlk("child: getlk write 100..199 (free)", fd, F_GETLK, F_WRLCK, SEEK_SET, 100, 100);
	shown("child: setlk read 200..210", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 200, 11));
	shown("child: setlk write 50..60", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 50, 11));
	shown("child: setlk write 100..199", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 100, 100));
	shown("child: setlkw write 150..160 (own lock, no wait)", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 150, 11));
	/* The parent still sees its own locks? Not in F_GETLK: only the
	 * child's are reported to it (after this child exits: none). */
}

static void probe_split(int fd)
{
	getlk("child: getlk write 0..99", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 100);
	getlk("child: getlk write 40..59 (unlocked hole)", fd, F_GETLK, F_WRLCK, SEEK_SET, 40, 20);
	getlk("child: getlk write 45..99", fd, F_GETLK, F_WRLCK, SEEK_SET, 45, 55);
	getlk("child: getlk read 10..19 (downgraded)", fd, F_GETLK, F_RDLCK, SEEK_SET, 10, 10);
	getlk("child: getlk read 5..19", fd, F_GETLK, F_RDLCK, SEEK_SET, 5, 15);
	getlk("child: getlk write 10..19", fd, F_GETLK, F_WRLCK, SEEK_SET, 10, 10);
	getlk("child: getlk read 20..39", fd, F_GETLK, F_RDLCK, SEEK_SET, 20, 20);
	getlk("child: getlk read 60 (merged 60..149)", fd, F_GETLK, F_RDLCK, SEEK_SET, 60, 1);
	getlk("child: getlk read 150..", fd, F_GETLK, F_RDLCK, SEEK_SET, 150, 0);
}

static void wait_byte(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static void send_byte(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(3);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void arm_alarm(int ms, bool restart)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0 };
	struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 } };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

/* exec'd child: holds the lock it took before exec until told to go. */
static int exec_child(char **argv)
{
	int fd = atoi(argv[2]), to = atoi(argv[3]), from = atoi(argv[4]);

	send_byte(to, 'r');
	wait_byte(from);
	getlk("exec'd child: getlk write 0..9 (own lock)", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 10);
	return 0;
}

/* Waits for a file named `name` to appear (the test script's go-ahead). */
static void wait_file(const char *name)
{
	while (access(name, F_OK))
		usleep(10 * 1000);
}

/*
 * posixlock DIR interop: the locks of two processes, as another host
 * process sees them (tests/e2e/guest_programs.sh looks with F_GETLK while
 * this waits): write 0..9 (parent), read 100..199 (child), read 150..249
 * taken and given back by the parent, and a close of another fd of the
 * file by a third process. Then a lock the script holds: F_GETLK's answer, and
 * F_SETLKW waiting until the script lets it go.
 */
static int interop(void)
{
	int fd = open("lockfile", O_RDWR | O_CREAT, 0644), to_p[2], to_c[2];

	if (fd < 0 || pipe(to_p) || pipe(to_c))
		return 2;
	shown("parent: setlk write 0..9", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 100, 100);
		send_byte(to_p[1], 'r');
		wait_byte(to_c[0]);
		_exit(0);
	}
	child = c;
	wait_byte(to_p[0]);
	shown("parent: setlk read 150..249", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 150, 100));
	shown("parent: unlock 150..249", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 150, 100));
	/* A third process's close releases its own locks (none), but it is a
	 * close of pdvm's: the host drops all of pdvm's locks on the file. */
	fflush(stdout);
	pid_t c2 = fork();
	if (c2 == 0)
		_exit(close(open("lockfile", O_RDONLY)) ? 1 : 0);
	int st = 0;
	waitpid(c2, &st, 0);
	shown("second child: close of another fd of the file", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	printf("ready\n");
	fflush(stdout);
	wait_file("go");
	getlk("parent: getlk write 300..309 (held outside)", fd, F_GETLK, F_WRLCK, SEEK_SET, 300, 10);
	shown("parent: setlk write 300..309", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 300, 10));
	shown("parent: setlkw write 300..309", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 300, 10));
	send_byte(to_c[1], 'g');
	waitpid(c, NULL, 0);
	return 0;
}

/*
 * posixlock DIR hold N MS: locks held across a snapshot (tests/e2e/snapshot.sh).
 * The parent write-locks 0..9, a child read-locks 100..199 and waits; then
 * N lines, MS apart, each a third process's F_GETLK of both ranges.
 */
static void hold_probe(int fd)
{
	struct flock a = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	struct flock b = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 1 };

	if (fcntl(fd, F_GETLK, &a) || fcntl(fd, F_GETLK, &b))
		_exit(3);
	printf("%s %lld %lld %s, %s %lld %lld %s", tname(a.l_type), (long long)a.l_start, (long long)a.l_len,
	       who(a.l_pid), tname(b.l_type), (long long)b.l_start, (long long)b.l_len, who(b.l_pid));
}

static int hold(int n, int ms)
{
	int fd = open("lockfile", O_RDWR | O_CREAT, 0644), to_p[2], to_c[2];

	if (fd < 0 || pipe(to_p) || pipe(to_c) || lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10))
		return 2;
	fflush(stdout);
	if ((holder = fork()) == 0) {
		if (lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 100, 100))
			_exit(2);
		send_byte(to_p[1], 'r');
		wait_byte(to_c[0]);
		_exit(0);
	}
	wait_byte(to_p[0]);
	for (int i = 1; i <= n; i++) {
		printf("%d ", i);
		in_child(hold_probe, fd);
		printf("\n");
		fflush(stdout);
		usleep((useconds_t)ms * 1000);
	}
	send_byte(to_c[1], 'g');
	waitpid(holder, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "exec-child"))
		return exec_child(argv);
	if (argc == 5 && !strcmp(argv[2], "hold")) {
		if (chdir(argv[1]))
			return 2;
		parent = getpid();
		return hold(atoi(argv[3]), atoi(argv[4]));
	}
	if (argc == 3 && !strcmp(argv[2], "interop")) {
		if (chdir(argv[1]))
			return 2;
		parent = getpid();
		return interop();
	}
	static char exe[PATH_MAX];
	if (argc != 2 || !realpath(argv[0], exe) || chdir(argv[1]))
		return 2;
	self = exe;
	parent = getpid();
	unlink("lockfile");
	int fd = open("lockfile", O_RDWR | O_CREAT, 0644);
	int rd = open("lockfile", O_RDONLY), wr = open("lockfile", O_WRONLY);
	int pfd = open("lockfile", O_PATH);
	if (fd < 0 || rd < 0 || wr < 0 || pfd < 0 || ftruncate(fd, 1000))
		return 2;

	/* ---- errors and ranges, one process ---- */
	shown("setlk bad type", lk(fd, F_SETLK, 99, SEEK_SET, 0, 1));
	shown("setlk bad whence", lk(fd, F_SETLK, F_WRLCK, 7, 0, 1));
	shown("getlk bad type", lk(fd, F_GETLK, 99, SEEK_SET, 0, 1));
	shown("getlk bad whence", lk(fd, F_GETLK, F_WRLCK, 7, 0, 1));
	getlk("getlk type unlocked", fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1);
	shown("setlk write on read-only fd", lk(rd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	shown("setlk read on write-only fd", lk(wr, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	shown("setlk unlock on read-only fd", lk(rd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1));
	shown("setlk read on read-only fd", lk(rd, F_SETLK, F_RDLCK, SEEK_SET, 900, 1));
	shown("setlk write on write-only fd", lk(wr, F_SETLK, F_WRLCK, SEEK_SET, 901, 1));
	shown("setlk bad type on read-only fd", lk(rd, F_SETLK, 99, SEEK_SET, 0, 1));
	shown("setlk O_PATH fd", lk(pfd, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	shown("getlk O_PATH fd", lk(pfd, F_GETLK, F_RDLCK, SEEK_SET, 0, 1));
	shown("setlk bad fd", lk(-1, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	shown("setlk closed fd", lk(999, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	shown("setlk bad pointer", fcntl(fd, F_SETLK, (struct flock *)8));
	shown("getlk bad pointer", fcntl(fd, F_GETLK, (struct flock *)8));
	shown("setlk negative start", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1));
	shown("setlk negative len past 0", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 3, -5));
	shown("setlk start overflow", lk(fd, F_SETLK, F_WRLCK, SEEK_END, LLONG_MAX, 1));
	shown("setlk len overflow", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX - 5, 10));
	shown("setlk max range", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX - 5, 6));
	shown("unlock max range", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, LLONG_MAX - 5, 6));
	shown("getlk start overflow", lk(fd, F_GETLK, F_WRLCK, SEEK_END, LLONG_MAX, 1));
	shown("setlk on a pipe", ({ int pp[2]; pipe(pp) ? -1 : lk(pp[1], F_SETLK, F_WRLCK, SEEK_SET, 0, 1); }));
	getlk("getlk own lock is no conflict", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	shown("unlock all", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));

	/* negative lengths and SEEK_CUR/SEEK_END: [5, 9], [105, 114], [990, 994] */
	shown("lseek 100", lseek(fd, 100, SEEK_SET));
	shown("setlk negative len (5..9)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, -5));
	shown("setlk SEEK_CUR +5 len 10 (105..114)", lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, 5, 10));
	shown("setlk SEEK_END -10 len 5 (990..994)", lk(fd, F_SETLK, F_RDLCK, SEEK_END, -10, 5));
	shown("setlk SEEK_CUR -101", lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, -101, 1));
	in_child(probe_whole, fd);
	getlk("child view: write 100..200", fd, F_GETLK, F_WRLCK, SEEK_SET, 100, 100);
	shown("unlock all", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		child = getpid();
		getlk("child: getlk SEEK_CUR -100 len 0", fd, F_GETLK, F_WRLCK, SEEK_CUR, -100, 0);
		getlk("child: getlk SEEK_END -1 len -5", fd, F_GETLK, F_WRLCK, SEEK_END, -1, -5);
		_exit(0);
	}
	waitpid(c, NULL, 0);

	/* ---- conflicts and F_GETLK between processes ---- */
	shown("parent: setlk write 0..99", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 100));
	shown("parent: setlk read 200..299", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 200, 100));
	shown("parent: setlk write 500..", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 500, 0));
	in_child(probe_ranges, fd);
	getlk("parent: getlk write whole file (child gone)", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0);

	/* ---- splitting, downgrading, merging ---- */
	shown("parent: unlock 40..59", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 40, 20));
	shown("parent: read 10..19 inside write 0..39", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 10, 10));
	shown("parent: unlock 200..", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 200, 0));
	shown("parent: write 100..149 (merges with 60..99)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 100, 50));
	in_child(probe_split, fd);

	/* ---- closing another fd of the file releases every lock on it ---- */
	int other = open("lockfile", O_RDONLY);
	shown("parent: close another fd of the file", close(other));
	in_child(probe_whole, fd);
	int dupfd = dup(fd);
	shown("parent: setlk write 0..9", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	shown("parent: dup2 over a dup of the fd", dup2(rd, dupfd));
	in_child(probe_whole, fd);
	shown("parent: setlk write 0..9", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	shown("parent: close the O_PATH fd", close(pfd));
	in_child(probe_whole, fd);
	shown("parent: unlock all", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));

	/* ---- a child's lock, and its release when the child exits ---- */
	int to_p[2], to_c[2];
	if (pipe(to_p) || pipe(to_c))
		return 2;
	fflush(stdout);
	c = fork();
	if (c == 0) {
		child = getpid();
		shown("child: setlk write 0..9", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
		int f2 = open("lockfile", O_RDONLY);
		send_byte(to_p[1], 'r');
		wait_byte(to_c[0]);
		/* The parent's close of its other fd is no release of ours. */
		getlk("child: getlk from another description", f2, F_GETLK, F_RDLCK, SEEK_SET, 0, 0);
		_exit(0);
	}
	child = c;
	wait_byte(to_p[0]);
	getlk("parent: getlk write 0..99 (child holds)", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 100);
	shown("parent: setlk read 5", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 5, 1));
	shown("parent: setlk read 10", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 10, 1));
	other = open("lockfile", O_RDONLY);
	close(other);
	getlk("parent: getlk write 0..99 after closing another fd", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 100);
	send_byte(to_c[1], 'g');
	waitpid(c, NULL, 0);
	getlk("parent: getlk write 0..99 after the child exited", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 100);
	child = 0;

	/* ---- exec keeps a process's locks ---- */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		char a2[16], a3[16], a4[16];
		lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10);
		snprintf(a2, sizeof(a2), "%d", fd);
		snprintf(a3, sizeof(a3), "%d", to_p[1]);
		snprintf(a4, sizeof(a4), "%d", to_c[0]);
		execl(self, self, "exec-child", a2, a3, a4, (char *)NULL);
		send_byte(to_p[1], 'x');
		_exit(4);
	}
	child = c;
	wait_byte(to_p[0]);
	getlk("parent: getlk write 0..99 (exec'd child holds)", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 100);
	send_byte(to_c[1], 'g');
	waitpid(c, NULL, 0);
	child = 0;
	getlk("parent: getlk after the exec'd child exited", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 100);

	/* ---- F_SETLKW waits until the holder unlocks ---- */
	shown("parent: setlk write 0..9", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		child = getpid();
		int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 5, 10);
		send_byte(to_p[1], r == 0 ? 'y' : 'n');
		wait_byte(to_c[0]);
		_exit(0);
	}
	child = c;
	struct pollfd pl = { .fd = to_p[0], .events = POLLIN };
	shown("child still waiting after 200 ms", poll(&pl, 1, 200) == 0);
	shown("parent: unlock 0..9", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 10));
	char got = 0;
	shown("child got the lock", read(to_p[0], &got, 1) == 1 && got == 'y');
	getlk("parent: getlk write 0..99", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 100);
	send_byte(to_c[1], 'g');
	waitpid(c, NULL, 0);
	child = 0;

	/* ---- a signal interrupts F_SETLKW: EINTR, or a restart with SA_RESTART ---- */
	shown("parent: setlk write 0..9", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		child = getpid();
		arm_alarm(100, false);
		shown("child: setlkw interrupted", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 10));
		shown("child: alarms", alarms);
		arm_alarm(100, true);
		send_byte(to_p[1], 'r');
		shown("child: setlkw restarted after SA_RESTART handler", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 10));
		shown("child: alarms", alarms);
		_exit(0);
	}
	child = c;
	wait_byte(to_p[0]);
	usleep(300 * 1000);     /* the alarm has come and gone */
	/* Said once the child has said what it got: their lines race else. */
	int u = lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 10);
	waitpid(c, NULL, 0);
	shown("parent: unlock 0..9", u);
	child = 0;

	/* ---- EDEADLK: two processes each waiting for the other ---- */
	shown("parent: setlk write 0..9", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		child = getpid();
		lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 10);
		send_byte(to_p[1], 'r');
		int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 10);
		send_byte(to_p[1], r == 0 ? 'y' : errno == EDEADLK ? 'd' : 'n');
		_exit(0);
	}
	child = c;
	wait_byte(to_p[0]);
	usleep(100 * 1000);     /* the child is blocked by now (else it is the one to see EDEADLK) */
	int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 10, 10);
	int pe = r < 0 ? errno : 0;
	if (pe == EDEADLK)
		lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 10);
	got = 0;
	if (read(to_p[0], &got, 1) != 1)
		got = 0;
	waitpid(c, NULL, 0);
	child = 0;
	/* Exactly one of the two hears EDEADLK; the other gets its lock. */
	shown("deadlock: one EDEADLK", (pe == EDEADLK) != (got == 'd'));
	shown("parent: unlock all", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));

	/* ---- OFD locks against POSIX locks ---- */
	int ofd = open("lockfile", O_RDWR);
	shown("parent: setlk write 0..9", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	getlk("parent: ofd getlk write 0..9 (own POSIX lock conflicts)", ofd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 10);
	shown("parent: ofd setlk write 0..9", lk(ofd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	shown("parent: ofd setlk write 20..29", lk(ofd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 20, 10));
	shown("parent: setlk write 20..29 (own OFD lock)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 20, 10));
	getlk("parent: getlk write 20..29", fd, F_GETLK, F_WRLCK, SEEK_SET, 20, 10);
	fflush(stdout);
	c = fork();
	if (c == 0) {
		child = getpid();
		int o2 = open("lockfile", O_RDWR);
		getlk("child: ofd getlk write 0..9", o2, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 10);
		shown("child: ofd setlk write 0..9", lk(o2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10));
		getlk("child: getlk write 20..29", fd, F_GETLK, F_WRLCK, SEEK_SET, 20, 10);
		shown("child: ofd getlk nonzero pid", ({ struct flock f = { .l_type = F_WRLCK, .l_pid = 1 };
							 fcntl(o2, F_OFD_GETLK, &f); }));
		send_byte(to_p[1], 'r');
		/* Waits for the parent's POSIX lock to go. */
		shown("child: ofd setlkw write 0..9", lk(o2, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 10));
		send_byte(to_p[1], 'r');
		wait_byte(to_c[0]);
		_exit(0);
	}
	child = c;
	wait_byte(to_p[0]);
	usleep(100 * 1000);
	u = lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 10);
	wait_byte(to_p[0]);     /* the child has its lock and has said so */
	shown("parent: unlock 0..9", u);
	getlk("parent: getlk write 0..9 (child's OFD lock)", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 10);
	/* A POSIX waiter behind an OFD lock: woken when the OFD lock goes. */
	fflush(stdout);
	pid_t c2 = fork();
	if (c2 == 0) {
		child = 0;
		shown("second child: setlkw write 0..9 behind the OFD lock", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 10));
		_exit(0);
	}
	usleep(100 * 1000);
	send_byte(to_c[1], 'g');        /* the child exits: its OFD lock goes with its description */
	waitpid(c, NULL, 0);
	waitpid(c2, NULL, 0);
	child = 0;
	close(ofd);
	getlk("parent: getlk write whole file at the end", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	return 0;
}
