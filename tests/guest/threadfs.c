/* threadfs.c: a thread's own working directory and umask (Linux's fs_struct) — unshare(CLONE_FS) in a threaded process, threads made with and without CLONE_FS, fork from a thread of its own directory, /proc/self/cwd and /proc/thread-self/cwd — printed so that a native run and a domain's can be compared line by line. Usage: threadfs WRITABLE-DIR [GO]: with GO the program sets its threads up, says "ready", waits for the file GO to exist (a snapshot is taken meanwhile) and then checks again. */
#include "guest.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static pthread_barrier_t bar;
static const char *waiting;     /* the file GO */

/* Whether the calling thread's working directory ends in "/" name. */
static int cwd_is(const char *name)
{
	char buf[PATH_MAX];
	size_t n = strlen(name), l;

	if (!getcwd(buf, sizeof(buf)))
		return -1;
	l = strlen(buf);
	return l > n && buf[l - n - 1] == '/' && !strcmp(buf + l - n, name);
}

static int link_is(const char *link, const char *name)
{
	char buf[PATH_MAX];
	ssize_t l = readlink(link, buf, sizeof(buf) - 1);
	size_t n = strlen(name);

	if (l < 0)
		return -1;
	buf[l] = '\0';
	return (size_t)l > n && buf[l - n - 1] == '/' && !strcmp(buf + l - n, name);
}

static mode_t umask_now(void)
{
	mode_t m = umask(0);

	umask(m);
	return m;
}

static void *second(void *arg)
{
	(void)arg;
	/* Made with CLONE_FS by a thread of its own fs: shares that one. */
	show("second: cwd is a", cwd_is("a"));
	show("second: umask 077", umask_now() == 077);
	show("second: chdir ../b", chdir("../b"));
	return NULL;
}

static void *first(void *arg)
{
	pthread_t t2;

	(void)arg;
	show("first: unshare(CLONE_FS)", unshare(CLONE_FS));
	show("first: chdir a", chdir("a"));
	umask(077);
	show("first: cwd is a", cwd_is("a"));
	int fd = open("x", O_CREAT | O_WRONLY, 0666);
	show("first: create x", fd >= 0);
	close(fd);
	pthread_barrier_wait(&bar);     /* main checks */
	pthread_barrier_wait(&bar);
	pthread_create(&t2, NULL, second, NULL);
	pthread_join(t2, NULL);
	show("first: cwd is b (second moved it)", cwd_is("b"));
	show("first: /proc/thread-self/cwd is b", link_is("/proc/thread-self/cwd", "b"));
	if (waiting) {
		pthread_barrier_wait(&bar);  /* ready for the snapshot */
		pthread_barrier_wait(&bar);  /* restored */
		show("first after the wait: cwd is b", cwd_is("b"));
		show("first after the wait: umask 077", umask_now() == 077);
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(cwd_is("b") == 1 && umask_now() == 077 ? 0 : 1);
	int st = -1;
	waitpid(pid, &st, 0);
	show("first: a fork child has b and 077", WIFEXITED(st) ? WEXITSTATUS(st) == 0 : -1);
	return NULL;
}

/* A thread of clone without CLONE_FS: raw system calls only (it runs on
 * the creator's TLS). */
static volatile int nofs_done;
static long nofs_chdir;

static int nofs_main(void *arg)
{
	(void)arg;
	nofs_chdir = syscall(SYS_chdir, "b");
	syscall(SYS_umask, 0);
	nofs_done = 1;
	syscall(SYS_exit, 0);
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t t1;

	if (argc < 2 || chdir(argv[1]))
		return 2;
	waiting = argc > 2 ? argv[2] : NULL;
	umask(022);
	mkdir("a", 0755);
	mkdir("b", 0755);
	show("unshare(CLONE_FS) alone", unshare(CLONE_FS));
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t1, NULL, first, NULL);
	pthread_barrier_wait(&bar);
	show("main: cwd is still the start", cwd_is(strrchr(argv[1], '/') + 1));
	show("main: umask still 022", umask_now() == 022);
	show("main: x is not here", access("x", F_OK));
	show("main: a/x is", access("a/x", F_OK));
	show("main: /proc/self/cwd is the start", link_is("/proc/self/cwd", strrchr(argv[1], '/') + 1));
	pthread_barrier_wait(&bar);
	if (waiting) {
		pthread_barrier_wait(&bar);
		printf("ready\n");
		fflush(stdout);
		while (access(waiting, F_OK))
			usleep(20000);
		show("main after the wait: cwd is the start", cwd_is(strrchr(argv[1], '/') + 1));
		show("main after the wait: umask 022", umask_now() == 022);
		pthread_barrier_wait(&bar);
	}
	pthread_join(t1, NULL);

	/* clone without CLONE_FS: a copy; its chdir and umask stay its own. */
	char *stack = malloc(65536);
	long tid = clone(nofs_main, stack + 65536,
			 CLONE_VM | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, NULL);
	show("clone without CLONE_FS", tid > 0);
	while (!nofs_done)
		sched_yield();
	show("no-CLONE_FS thread: chdir b", nofs_chdir);
	show("main: cwd is still the start after it", cwd_is(strrchr(argv[1], '/') + 1));
	show("main: umask still 022 after it", umask_now() == 022);
	unlink("a/x");
	rmdir("a");
	rmdir("b");
	return 0;
}
