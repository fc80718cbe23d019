/* ctl_exec.c: the control socket's exec sessions — a process started in the domain for a caller outside, who holds its stdio, signals it and hears its end. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "ctl_exec.h"
#include "ctl_proto.h"
#include "vmm/domain.h"
#include "vmm/spawn.h"

/*
 * A session, after the request line {"cmd":"exec","argv":[...],"env":[...],
 * "env_add":[...],"cwd":"/..."} (env: the whole environment, else the
 * first process's plus env_add; cwd: else the first process's):
 *   server: {"ok":true,"fds":3}
 *   client: one byte with SCM_RIGHTS [stdin, stdout, stderr]
 *   server: {"ok":true,"pid":N}, or {"ok":false,"error":"...","errno":N}
 *   client: {"signal":N} lines, any number (sent to the process)
 *   server: {"exit":WSTATUS} at its end, then closes.
 * A client that goes away takes the process with it (SIGKILL), as a
 * container's exec'd process ends with the runtime that waits for it.
 */

#define MAX_ARGS 4096

struct session {
	struct ctl_execs *set;
	struct domain *d;
	struct json_object *req;
	int fd;
};

void ctl_execs_init(struct ctl_execs *s)
{
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->n = 0;
}

void ctl_execs_wait(struct ctl_execs *s)
{
	pthread_mutex_lock(&s->mu);
	while (s->n > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

/* A non-empty array of strings (empty_ok: or an empty one), at most MAX_ARGS. */
static bool strings_ok(struct json_object *a, bool empty_ok)
{
	if (!json_object_is_type(a, json_type_array))
		return false;
	size_t n = json_object_array_length(a);
	if ((!n && !empty_ok) || n > MAX_ARGS)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
			return false;
	return true;
}

int ctl_exec_check(struct json_object *req, char *err, size_t errlen)
{
	struct json_object *v;
	if (!json_object_object_get_ex(req, "argv", &v) || !strings_ok(v, false)) {
		snprintf(err, errlen, "exec: \"argv\" must be a non-empty array of strings");
		return -1;
	}
	if (!strlen(json_object_get_string(json_object_array_get_idx(v, 0)))) {
		snprintf(err, errlen, "exec: argv[0] is empty");
		return -1;
	}
	static const char *const lists[] = { "env", "env_add" };
	for (int i = 0; i < 2; i++)
		if (json_object_object_get_ex(req, lists[i], &v) && !strings_ok(v, true)) {
			snprintf(err, errlen, "exec: \"%s\" must be an array of strings", lists[i]);
			return -1;
		}
	if (json_object_object_get_ex(req, "cwd", &v) &&
	    (!json_object_is_type(v, json_type_string) || json_object_get_string(v)[0] != '/')) {
		snprintf(err, errlen, "exec: \"cwd\" must be an absolute path");
		return -1;
	}
	return 0;
}

/* A NULL-terminated vector: base (may be NULL) then the strings of a. */
static char **vec(char *const *base, struct json_object *a)
{
	size_t nb = 0, na = a ? json_object_array_length(a) : 0;
	while (base && base[nb])
		nb++;
	char **v = calloc(nb + na + 1, sizeof(char *));
	if (!v)
		return NULL;
	for (size_t i = 0; i < nb; i++)
		v[i] = base[i];
	for (size_t i = 0; i < na; i++)
		v[nb + i] = (char *)json_object_get_string(json_object_array_get_idx(a, i));
	return v;
}

static void answer(int fd, struct json_object *o)
{
	if (o)
		ctl_send_json(fd, o);
	json_object_put(o);
}

static struct json_object *fail_resp(int e, const char *why)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(why));
	json_object_object_add(o, "errno", json_object_new_int(e));
	return o;
}

static struct json_object *ok_resp(const char *key, int v)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, key, json_object_new_int(v));
	return o;
}

/* The caller's three fds: one byte with SCM_RIGHTS. 0, or -errno. */
static int recv_fds(int fd, int out[3])
{
	char byte;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} u;
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct pollfd p = { fd, POLLIN, 0 };
	int r = poll(&p, 1, CTL_REQUEST_MS);
	if (r <= 0)
		return r ? -errno : -ETIMEDOUT;
	ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n ? -errno : -ECONNRESET;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int got = 0;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		got = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	int fds[3] = { -1, -1, -1 };
	if (got > 0)
		memcpy(fds, CMSG_DATA(c), (size_t)(got < 3 ? got : 3) * sizeof(int));
	if (got != 3 || (m.msg_flags & MSG_CTRUNC)) {
		for (int i = 0; i < 3 && i < got; i++)
			close(fds[i]);
		return -EBADMSG;
	}
	memcpy(out, fds, sizeof(fds));
	return 0;
}

/* After the start: the caller's signals in, the process's end out. */
static void watch(struct session *s, int pid, int notify)
{
	struct linebuf *lb = calloc(1, sizeof(*lb));
	if (!lb) {
		dom_spawn_signal(s->d, pid, SIGKILL);
		return;
	}
	for (;;) {
		char *line;
		size_t len;
		int r = ctl_read_line(s->fd, notify, lb, -1, &line, &len);
		if (r == -ECANCELED) {
			int st;
			if (read(notify, &st, sizeof(st)) == (ssize_t)sizeof(st))
				answer(s->fd, ok_resp("exit", st));
			break;
		}
		if (r <= 0 && r != -EMSGSIZE) {
			/* The caller is gone: so is what it started. */
			dom_spawn_signal(s->d, pid, SIGKILL);
			break;
		}
		struct json_object *o = r > 0 ? ctl_parse_line(line, len, NULL, 0) : NULL, *v;
		int sig = o && json_object_object_get_ex(o, "signal", &v) && json_object_is_type(v, json_type_int)
			  ? json_object_get_int(v) : 0;
		json_object_put(o);
		if (sig >= 1 && sig < 65)
			dom_spawn_signal(s->d, pid, sig);
		else
			answer(s->fd, fail_resp(EINVAL, "exec: want {\"signal\":N} (1 to 64)"));
	}
	free(lb);
}

static void *session_main(void *arg)
{
	struct session *s = arg;
	struct json_object *v, *env = NULL, *add = NULL;
	struct spawn_req rq = { .stdio = { -1, -1, -1 }, .notify_fd = -1 };
	int pipefd[2] = { -1, -1 };
	char err[512];
	const struct domain_spec *c = s->d->spec;

	answer(s->fd, ok_resp("fds", 3));
	int r = recv_fds(s->fd, rq.stdio);
	if (r) {
		answer(s->fd, fail_resp(-r, "exec: want one byte with three fds (SCM_RIGHTS)"));
		goto out;
	}
	json_object_object_get_ex(s->req, "argv", &v);
	json_object_object_get_ex(s->req, "env", &env);
	json_object_object_get_ex(s->req, "env_add", &add);
	char **argv = vec(NULL, v), **envp = env ? vec(NULL, env) : vec(c->envp, add);
	rq.argv = argv;
	rq.envp = envp;
	rq.cwd = json_object_object_get_ex(s->req, "cwd", &v) ? json_object_get_string(v) : c->cwd ? c->cwd : "/";
	if (!argv || !envp || pipe2(pipefd, O_CLOEXEC)) {
		answer(s->fd, fail_resp(ENOMEM, "exec: out of memory"));
		for (int i = 0; i < 3; i++)
			close(rq.stdio[i]);
	} else {
		rq.notify_fd = pipefd[1];
		int pid = dom_spawn(s->d, &rq, err, sizeof(err));
		if (pid < 0) {
			answer(s->fd, fail_resp(-pid, err));
		} else {
			answer(s->fd, ok_resp("pid", pid));
			watch(s, pid, pipefd[0]);
		}
	}
	free(argv);
	free(envp);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
out:
	close(s->fd);
	json_object_put(s->req);
	pthread_mutex_lock(&s->set->mu);
	s->set->n--;
	pthread_cond_broadcast(&s->set->cv);
	pthread_mutex_unlock(&s->set->mu);
	free(s);
	return NULL;
}

int ctl_exec_start(struct ctl_execs *set, struct domain *d, struct json_object *req, int fd)
{
	struct session *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct session){ .set = set, .d = d, .req = req, .fd = fd };
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&set->mu);
	int r = -pthread_create(&t, &a, session_main, s);
	if (!r)
		set->n++;
	pthread_mutex_unlock(&set->mu);
	pthread_attr_destroy(&a);
	if (r)
		free(s);
	return r;
}
