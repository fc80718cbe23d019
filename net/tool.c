/* tool.c: runs ip and nft (posix_spawn, from a spawner process forked before the VMM's threads) with a script on stdin, keeping the first line of any complaint. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"

extern char **environ;

/* The first executable `name` under the system directories into buf, or NULL. */
static const char *tool_path(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Runs the tool here, in this process's current network namespace. */
static int run_local(const char *name, const char *const args[], const char *input, char *out, size_t outlen,
		     char *err, size_t errlen)
{
	char pbuf[64];
	const char *path = tool_path(name, pbuf, sizeof(pbuf));
	if (!path) {
		snprintf(err, errlen, "%s not found (Debian packages iproute2 and nftables)", name);
		return -ENOENT;
	}
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)name;
	for (int i = 0; args[i] && argc < 31; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	int in[2], o[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(o, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, o[1], 2);
	pid_t pid;
	int e = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(o[1]);
	if (e) {
		close(in[1]);
		close(o[0]);
		snprintf(err, errlen, "running %s: %s", path, strerror(e));
		return -e;
	}
	/* The scripts are small: they fit the pipe, so writing first is safe. */
	size_t len = input ? strlen(input) : 0, off = 0;
	while (off < len) {
		ssize_t w = write(in[1], input + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	char msg[4096];
	size_t got = 0;
	ssize_t n;
	while ((n = read(o[0], msg + got, sizeof(msg) - 1 - got)) > 0 && got < sizeof(msg) - 1)
		got += (size_t)n;
	msg[got] = '\0';
	while (read(o[0], (char[256]){ 0 }, 256) > 0) /* drain the rest */
		;
	close(o[0]);
	if (out && outlen)
		snprintf(out, outlen, "%s", msg);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	snprintf(err, errlen, "%s: %s", name, got ? msg : "failed");
	return strstr(msg, "ermission") || strstr(msg, "not permitted") ? -EPERM : -EIO;
}

/*
 * The spawner. A seccomp filter outlives execve, so a filtered VMM could
 * not run ip and nft (and should not be able to exec at all). A child
 * forked before any thread, before the domain's namespace is entered and
 * before any filter, runs them on request: it stays root, unfiltered, in
 * the host's network namespace, and does nothing else. A request is one
 * SOCK_SEQPACKET message: flags, the tool's name, its arguments and its
 * stdin, NUL-separated, with the namespace to run in as an fd (SCM_RIGHTS)
 * unless it is the host's. The answer: the status, then err and out.
 */
#define REQ_MAX 65536
#define REQ_ARGS 30
static int spawner_fd = -1;
static pthread_mutex_t spawner_lock = PTHREAD_MUTEX_INITIALIZER;

struct answer {
	int rc;
	char err[512];
	char out[4096];
};

static void serve(int sock)
{
	static char req[REQ_MAX + 1];
	int hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { req, REQ_MAX };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			_exit(0); /* pdvm is gone */
		req[n] = '\0';
		int nsfd = -1;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&nsfd, CMSG_DATA(c), sizeof(int));
		/* name \0 argc args... \0 input */
		const char *args[REQ_ARGS + 1], *p = req, *end = req + n;
		const char *name = p;
		p += strlen(p) + 1;
		int argc = p < end ? atoi(p) : 0;
		p += p < end ? strlen(p) + 1 : 0;
		int k = 0;
		for (; k < argc && k < REQ_ARGS && p < end; k++, p += strlen(p) + 1)
			args[k] = p;
		args[k] = NULL;
		const char *input = p < end ? p : "";
		struct answer a = { 0 };
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) {
			a.rc = -errno;
			snprintf(a.err, sizeof(a.err), "%.64s: entering the caller's network namespace: %s", name,
				 strerror(errno));
		} else {
			a.rc = run_local(name, args, input, a.out, sizeof(a.out), a.err, sizeof(a.err));
		}
		if (nsfd >= 0) {
			close(nsfd);
			if (hostns >= 0)
				setns(hostns, CLONE_NEWNET);
		}
		if (send(sock, &a, sizeof(a), MSG_NOSIGNAL) < 0)
			_exit(0);
	}
}

int tool_spawner_start(char *err, size_t errlen)
{
	int sv[2];
	if (spawner_fd >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "spawner socketpair: %s", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		snprintf(err, errlen, "forking the spawner: %s", strerror(e));
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "pdvm-spawner");
		/* Signals to pdvm's process group (a ^C, timeout's TERM) are
		 * pdvm's to handle: the spawner must outlive them to tear the
		 * network down at pdvm's exit. It ends when pdvm does. */
		static const int ign[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
		for (size_t i = 0; i < sizeof(ign) / sizeof(ign[0]); i++)
			signal(ign[i], SIG_IGN);
		serve(sv[1]);
	}
	close(sv[1]);
	spawner_fd = sv[0];
	return 0;
}

bool tool_spawner_running(void)
{
	return spawner_fd >= 0;
}

static int run(const char *name, const char *const args[], const char *input, char *out, size_t outlen,
	       char *err, size_t errlen, bool host)
{
	if (spawner_fd < 0)
		return run_local(name, args, input, out, outlen, err, errlen);
	static char req[REQ_MAX];
	pthread_mutex_lock(&spawner_lock);
	size_t len = 0, inlen = input ? strlen(input) : 0;
	int argc = 0;
	while (args[argc] && argc < REQ_ARGS)
		argc++;
	len = (size_t)snprintf(req, sizeof(req), "%s%c%d%c", name, 0, argc, 0);
	for (int i = 0; i < argc && len < sizeof(req); i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "%s%c", args[i], 0);
	int r = 0;
	if (len + inlen + 1 > sizeof(req)) {
		snprintf(err, errlen, "%s: script too long (%zu bytes)", name, inlen);
		r = -E2BIG;
		goto out;
	}
	memcpy(req + len, input ? input : "", inlen);
	len += inlen;
	/* The caller's namespace, unless the host's is asked for. */
	int nsfd = host ? -1 : open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { req, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nsfd >= 0) {
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &nsfd, sizeof(int));
	}
	static struct answer a;
	ssize_t n = sendmsg(spawner_fd, &m, MSG_NOSIGNAL);
	if (nsfd >= 0)
		close(nsfd);
	if (n >= 0) {
		do
			n = recv(spawner_fd, &a, sizeof(a), 0);
		while (n < 0 && errno == EINTR);
	}
	if (n != (ssize_t)sizeof(a)) {
		r = n < 0 ? -errno : -EPIPE;
		snprintf(err, errlen, "%s: the spawner did not answer: %s", name, strerror(-r));
		goto out;
	}
	if (out && outlen)
		snprintf(out, outlen, "%s", a.out);
	if ((r = a.rc))
		snprintf(err, errlen, "%s", a.err);
out:
	pthread_mutex_unlock(&spawner_lock);
	return r;
}

int tool_run(const char *name, const char *const args[], const char *input, char *out, size_t outlen,
	     char *err, size_t errlen)
{
	return run(name, args, input, out, outlen, err, errlen, false);
}

int tool_run_host(const char *name, const char *const args[], const char *input, char *err, size_t errlen)
{
	return run(name, args, input, NULL, 0, err, errlen, true);
}

int tool_nft(const char *script, char *err, size_t errlen)
{
	return tool_run("nft", (const char *const[]){ "-f", "-", NULL }, script, NULL, 0, err, errlen);
}
