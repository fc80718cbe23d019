/* scmcred.c: SCM_CREDENTIALS and SO_PEERCRED between a parent and its child — explicit and implicit (SO_PASSCRED) credentials over socketpairs and a path socket, forged pids and ids (EPERM), malformed messages, truncation, SO_PEERCRED of a socketpair and of both ends of a connection — printed so that a native run and a domain's can be compared line by line. Usage: scmcred WRITABLE-DIR */
#include "guest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static pid_t parent, child, other;

/* A pid as the output names it: pids differ between runs. */
static const char *who(pid_t p)
{
	static char buf[4][24];
	static int slot;

	if (p == parent)
		return "parent";
	if (p == child && child)
		return "child";
	if (p == other && other)
		return "other";
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%d", (int)p);
	return buf[slot];
}

/* guest.h's show, flushed at once: parent and children write in turn. */
static void shown(const char *what, long r)
{
	show(what, r);
	fflush(stdout);
}

/* sendmsg of `len` bytes ("x...") with SCM_CREDENTIALS (pid, uid, gid)
 * when `creds`, its cmsg_len `clen` (0: the right one). */
static long send_creds(int fd, size_t len, bool creds, pid_t pid, uid_t uid, gid_t gid, size_t clen)
{
	char data[8] = "xxxxxxx";
	struct iovec iov = { data, len };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct ucred uc = { .pid = pid, .uid = uid, .gid = gid };

	memset(&u, 0, sizeof(u));
	if (creds) {
		m.msg_control = u.b;
		m.msg_controllen = sizeof(u.b);
		u.h.cmsg_level = SOL_SOCKET;
		u.h.cmsg_type = SCM_CREDENTIALS;
		u.h.cmsg_len = clen ? clen : CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(&u.h), &uc, sizeof(uc));
	}
	return sendmsg(fd, &m, 0);
}

/* recvmsg with `cap` bytes of control space; prints what came. */
static void recv_creds(const char *what, int fd, size_t cap, int flags)
{
	char data[16], ctl[256];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = cap };
	long n = recvmsg(fd, &m, flags);

	if (n < 0) {
		printf("%s: %s\n", what, errname(errno));
		fflush(stdout);
		return;
	}
	printf("%s: %ld bytes, flags %#x, control %zu", what, n, m.msg_flags, (size_t)m.msg_controllen);
	for (struct cmsghdr *c = m.msg_controllen ? CMSG_FIRSTHDR(&m) : NULL; c; c = CMSG_NXTHDR(&m, c)) {
		printf(", cmsg level %d type %d len %zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;
			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			printf(" pid %s uid %s gid %s", who(uc.pid), uc.uid == getuid() ? "mine" : "other",
			       uc.gid == getgid() ? "mine" : "other");
		}
	}
	printf("\n");
	fflush(stdout);
}

static void peercred(const char *what, int fd)
{
	struct ucred uc;
	socklen_t l = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: pid %s uid %s gid %s len %u\n", what, who(uc.pid), uc.uid == getuid() ? "mine" : "other",
		       uc.gid == getgid() ? "mine" : "other", (unsigned)l);
	fflush(stdout);
}

/* A child whose output comes after the parent's, whole (child_done):
 * their lines would interleave as they run. */
static int child_out[2];

static pid_t fork_logged(void)
{
	fflush(stdout);
	if (pipe(child_out))
		exit(2);
	pid_t c = fork();
	if (c == 0) {
		child = getpid();
		dup2(child_out[1], 1);
	}
	close(child_out[1]);
	if (c > 0)
		child = c;
	return c;
}

static void child_done(pid_t c)
{
	char b[4096];
	ssize_t n;

	fflush(stdout);
	waitpid(c, NULL, 0);
	while ((n = read(child_out[0], b, sizeof(b))) > 0)
		if (write(1, b, (size_t)n) != n)
			exit(2);
	close(child_out[0]);
	child = 0;
}

static int passcred(int fd)
{
	int on = 1;

	return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
}

static void one_process(int type, const char *tn)
{
	int sv[2];
	char w[128];

	if (socketpair(AF_UNIX, type, 0, sv))
		exit(2);
	snprintf(w, sizeof(w), "%s: SO_PASSCRED on end 0", tn);
	shown(w, passcred(sv[0]));
	pid_t me = getpid();
	snprintf(w, sizeof(w), "%s: send own credentials", tn);
	shown(w, send_creds(sv[1], 1, true, me, getuid(), getgid(), 0));
	snprintf(w, sizeof(w), "%s: receive", tn);
	recv_creds(w, sv[0], 256, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	snprintf(w, sizeof(w), "%s: send no credentials", tn);
	shown(w, send_creds(sv[1], 2, false, 0, 0, 0, 0));
	snprintf(w, sizeof(w), "%s: receive implicit", tn);
	recv_creds(w, sv[0], 256, MSG_DONTWAIT);
	snprintf(w, sizeof(w), "%s: send forged pid", tn);
	shown(w, send_creds(sv[1], 1, true, other, getuid(), getgid(), 0));
	snprintf(w, sizeof(w), "%s: send forged uid 0", tn);
	shown(w, send_creds(sv[1], 1, true, me, 0, getgid(), 0));
	snprintf(w, sizeof(w), "%s: send forged gid 0", tn);
	shown(w, send_creds(sv[1], 1, true, me, getuid(), 0, 0));
	snprintf(w, sizeof(w), "%s: send uid -1", tn);
	shown(w, send_creds(sv[1], 1, true, me, (uid_t)-1, getgid(), 0));
	snprintf(w, sizeof(w), "%s: send short cmsg", tn);
	shown(w, send_creds(sv[1], 1, true, me, getuid(), getgid(), CMSG_LEN(8)));
	snprintf(w, sizeof(w), "%s: send pid 0", tn);
	shown(w, send_creds(sv[1], 1, true, 0, getuid(), getgid(), 0));
	snprintf(w, sizeof(w), "%s: send to the end without SO_PASSCRED", tn);
	shown(w, send_creds(sv[0], 3, true, me, getuid(), getgid(), 0));
	snprintf(w, sizeof(w), "%s: receive without SO_PASSCRED", tn);
	recv_creds(w, sv[1], 256, MSG_DONTWAIT);
	snprintf(w, sizeof(w), "%s: send own credentials", tn);
	shown(w, send_creds(sv[1], 4, true, me, getuid(), getgid(), 0));
	snprintf(w, sizeof(w), "%s: receive with 8 bytes of control space", tn);
	recv_creds(w, sv[0], 8, MSG_DONTWAIT);
	snprintf(w, sizeof(w), "%s: SO_PEERCRED end 0", tn);
	peercred(w, sv[0]);
	snprintf(w, sizeof(w), "%s: SO_PEERCRED end 1", tn);
	peercred(w, sv[1]);
	close(sv[0]);
	close(sv[1]);
}

static void wait_byte(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

/* Parent and child, each with one end (and, with `sloppy`, the parent
 * keeping the child's end open too). Each message waits for the one
 * before it to be read: a stream would join them. */
static void two_processes(int type, const char *tn, bool sloppy)
{
	int sv[2], go[2];
	char w[128];

	if (socketpair(AF_UNIX, type, 0, sv) || pipe(go))
		exit(2);
	passcred(sv[0]);
	passcred(sv[1]);
	pid_t c = fork_logged();
	if (c == 0) {
		close(sv[0]);
		snprintf(w, sizeof(w), "%s%s: child: SO_PEERCRED", tn, sloppy ? " (both ends open)" : "");
		peercred(w, sv[1]);
		snprintf(w, sizeof(w), "%s: child: send the parent's pid", tn);
		shown(w, send_creds(sv[1], 1, true, parent, getuid(), getgid(), 0));
		snprintf(w, sizeof(w), "%s: child: send own credentials", tn);
		shown(w, send_creds(sv[1], 1, true, child, getuid(), getgid(), 0));
		wait_byte(go[0]);
		snprintf(w, sizeof(w), "%s: child: send no credentials", tn);
		shown(w, send_creds(sv[1], 2, false, 0, 0, 0, 0));
		snprintf(w, sizeof(w), "%s: child: receive the parent's", tn);
		recv_creds(w, sv[1], 256, 0);
		fflush(stdout);
		_exit(0);
	}
	if (!sloppy)
		close(sv[1]);
	snprintf(w, sizeof(w), "%s: parent: receive the child's explicit", tn);
	recv_creds(w, sv[0], 256, 0);
	if (write(go[1], "g", 1) != 1)
		exit(2);
	snprintf(w, sizeof(w), "%s: parent: receive the child's implicit", tn);
	recv_creds(w, sv[0], 256, 0);
	snprintf(w, sizeof(w), "%s: parent: SO_PEERCRED", tn);
	peercred(w, sv[0]);
	snprintf(w, sizeof(w), "%s: parent: send no credentials", tn);
	shown(w, send_creds(sv[0], 3, false, 0, 0, 0, 0));
	child_done(c);
	close(sv[0]);
	if (sloppy)
		close(sv[1]);
	close(go[0]);
	close(go[1]);
}

/* A listener on a path, a child connecting to it. */
static void path_socket(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX, .sun_path = "sock" };
	int l = socket(AF_UNIX, SOCK_STREAM, 0);

	unlink("sock");
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4))
		exit(2);
	shown("path: SO_PASSCRED on the listener", passcred(l));
	peercred("path: SO_PEERCRED of the listener", l);
	pid_t c = fork_logged();
	if (c == 0) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
			_exit(2);
		peercred("path: child: SO_PEERCRED of the connection", s);
		shown("path: child: send no credentials", send_creds(s, 2, false, 0, 0, 0, 0));
		char b;
		shown("path: child: wait for the parent", read(s, &b, 1));
		shown("path: child: send own credentials", send_creds(s, 1, true, child, getuid(), getgid(), 0));
		shown("path: child: wait for the end", read(s, &b, 1));
		fflush(stdout);
		_exit(0);
	}
	int s = accept(l, NULL, NULL);
	peercred("path: parent: SO_PEERCRED of the accepted connection", s);
	recv_creds("path: parent: receive the child's implicit", s, 256, 0);
	if (write(s, "g", 1) != 1)
		exit(2);
	recv_creds("path: parent: receive the child's explicit", s, 256, 0);
	close(s);
	child_done(c);
	close(l);
	unlink("sock");
}

int main(int argc, char **argv)
{
	if (argc != 2 || chdir(argv[1]))
		return 2;
	alarm(60);      /* a lost message ends the run instead of hanging it */
	parent = getpid();
	/* A live process that is not this one, for forged pids. */
	other = fork();
	if (other == 0) {
		pause();
		_exit(0);
	}
	one_process(SOCK_STREAM, "stream");
	one_process(SOCK_DGRAM, "dgram");
	one_process(SOCK_SEQPACKET, "seqpacket");
	two_processes(SOCK_STREAM, "stream", false);
	two_processes(SOCK_DGRAM, "dgram", false);
	two_processes(SOCK_DGRAM, "dgram", true);
	path_socket();
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t ll = sizeof(lo);
	if (u >= 0 && !bind(u, (struct sockaddr *)&lo, sizeof(lo)) && !getsockname(u, (struct sockaddr *)&lo, &ll) &&
	    !connect(u, (struct sockaddr *)&lo, sizeof(lo)))
	{
		shown("udp: send credentials", send_creds(u, 1, true, getpid(), getuid(), getgid(), 0));
		shown("udp: send forged credentials", send_creds(u, 1, true, other, 0, 0, 0));
	}
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	return 0;
}
