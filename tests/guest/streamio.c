/* streamio.c: pipes and sockets as an exitless server meets them — non-blocking echo loops carry every byte, a blocking read that has to wait gets what another thread writes later, MSG_WAITALL waits for all of it, and a write to a pipe nobody reads has run its SIGPIPE handler by the time it returns EPIPE. Usage: streamio [ROUNDS] */
#include "guest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

static volatile sig_atomic_t got_pipe;

static void on_pipe(int sig)
{
	(void)sig;
	got_pipe = 1;
}

/* Sends a[i] through one end and reads it at the other, n times; returns
 * how many came back different (or did not come). */
static int echo(int wfd, int rfd, int n, int sock)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		unsigned char out[64], in[64];
		for (int k = 0; k < 64; k++)
			out[k] = (unsigned char)(i * 7 + k);
		ssize_t w = sock ? send(wfd, out, 64, 0) : write(wfd, out, 64);
		ssize_t r = sock ? recv(rfd, in, 64, 0) : read(rfd, in, 64);
		if (w != 64 || r != 64 || memcmp(in, out, 64))
			bad++;
	}
	return bad;
}

struct later {
	int fd;
	int delay_us;
	int parts;
};

static void *write_later(void *arg)
{
	struct later *l = arg;
	for (int p = 0; p < l->parts; p++) {
		usleep((useconds_t)l->delay_us);
		char b[32];
		memset(b, 'a' + p, sizeof(b));
		if (write(l->fd, b, sizeof(b)) != (ssize_t)sizeof(b))
			return (void *)1;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3000;
	signal(SIGPIPE, on_pipe);

	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0, "socketpair");
	int bad = echo(sv[0], sv[1], rounds, 1);
	check(bad == 0, "non-blocking socket echo: %d of %d rounds wrong", bad, rounds);
	close(sv[0]);
	close(sv[1]);

	int p[2];
	check(pipe2(p, O_NONBLOCK) == 0, "pipe2");
	bad = echo(p[1], p[0], rounds, 0);
	check(bad == 0, "non-blocking pipe echo: %d of %d rounds wrong", bad, rounds);
	close(p[0]);
	close(p[1]);

	/* A blocking read with nothing there waits for the writer. */
	int waited_bad = 0;
	for (int i = 0; i < 20; i++) {
		int q[2];
		if (pipe(q)) {
			waited_bad++;
			continue;
		}
		struct later l = { q[1], 2000, 1 };
		pthread_t th;
		pthread_create(&th, NULL, write_later, &l);
		char b[64];
		ssize_t r = read(q[0], b, sizeof(b));
		void *ret;
		pthread_join(th, &ret);
		if (r != 32 || b[0] != 'a' || ret)
			waited_bad++;
		close(q[0]);
		close(q[1]);
	}
	check(waited_bad == 0, "blocking pipe reads wait for a later write (%d of 20 wrong)", waited_bad);

	/* MSG_WAITALL: two writes, one receive of both. */
	int waitall_bad = 0;
	for (int i = 0; i < 10; i++) {
		int s[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, s)) {
			waitall_bad++;
			continue;
		}
		struct later l = { s[1], 2000, 2 };
		pthread_t th;
		pthread_create(&th, NULL, write_later, &l);
		char b[64];
		ssize_t r = recv(s[0], b, sizeof(b), MSG_WAITALL);
		pthread_join(th, NULL);
		if (r != 64 || b[0] != 'a' || b[32] != 'b')
			waitall_bad++;
		close(s[0]);
		close(s[1]);
	}
	check(waitall_bad == 0, "recv MSG_WAITALL gets both writes (%d of 10 wrong)", waitall_bad);

	/* SIGPIPE runs before the write returns, as Linux delivers it on the
	 * way back from the call. */
	int late = 0, wrong = 0;
	for (int i = 0; i < rounds / 3; i++) {
		int q[2];
		if (pipe2(q, O_NONBLOCK)) {
			wrong++;
			continue;
		}
		close(q[0]);
		got_pipe = 0;
		ssize_t w = write(q[1], "x", 1);
		int e = errno;
		if (!got_pipe)
			late++;
		if (w != -1 || e != EPIPE)
			wrong++;
		close(q[1]);
	}
	check(late == 0 && wrong == 0, "SIGPIPE handled before write returned EPIPE (%d late, %d wrong, of %d)", late,
	      wrong, rounds / 3);
	return done_testing();
}
