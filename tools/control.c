/* control.c: the per-domain control socket — a JSON-lines server on a thread of its own, and the pdvm commands that talk to it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "control.h"
#include "domain.h"

/*
 * Protocol: one JSON object per line each way. A request is
 *   {"cmd":"info"|"pause"|"resume"|"kill"}
 *   {"cmd":"snapshot","dir":"/abs","stop":bool (optional),"parent":"/abs" (optional)}
 * and its response {"ok":true, ...} or {"ok":false,"error":"why"}. A connection
 * may carry several requests, one after another.
 */

#define CTL_NAME_MAX		64
#define CTL_LINE_MAX		(64 * 1024)	/* longest line either way, '\n' included */
#define CTL_REQUEST_MS		5000		/* a request line must arrive within this */
#define CTL_BACKLOG		16
#define CTL_PROBE_MS		2000		/* control_start asking an existing socket */
#define CTL_LIST_MS		10000		/* pdvm list, per domain */
#define CTL_COMMAND_MS		60000		/* pause, resume, kill */
#define CTL_SUFFIX		".sock"

#define EXIT_FAILED	1
#define EXIT_USAGE	2

/* ---- shared by the server and the client ---- */

const char *control_dir(void)
{
	const char *d = getenv("PDVM_RUN_DIR");

	return d && *d ? d : "/run/pdvm";
}

/* The same rule as config.c's domain names (docker's), as names become file
 * names here: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CTL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

static const char bad_name_why[] =
	"use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit";

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -1 (no deadline) stays -1: poll waits forever. */
static int64_t deadline_after(int ms)
{
	return ms < 0 ? -1 : mono_ms() + ms;
}

/* The address of DIR/NAME.sock. sun_path holds only 108 bytes, so a longer
 * path is reached through /proc/self/fd/DIRFD, which the kernel resolves to
 * the directory itself (for bind and connect alike). */
static int sock_addr(int dirfd, const char *dir, const char *name, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s" CTL_SUFFIX, dir, name);
	if (n > 0 && (size_t)n < sizeof(sa->sun_path))
		return 0;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s" CTL_SUFFIX,
		     dirfd, name);
	return n > 0 && (size_t)n < sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

/* Lines arrive in pieces: what has been read but not yet returned. */
struct linebuf {
	size_t len;             /* bytes held */
	size_t used;            /* the line returned last, dropped on the next call */
	bool eof;
	char buf[CTL_LINE_MAX + 1];
};

/* Reads the next line of fd (its '\n' replaced by a NUL) into *line, *len.
 * 1 with a line (a last line without '\n' counts), 0 at the end, or
 * -ETIMEDOUT when deadline (CLOCK_MONOTONIC ms, -1: none) passes,
 * -ECANCELED when wakefd (if >= 0) becomes readable, -EMSGSIZE for a line
 * longer than CTL_LINE_MAX, -errno. */
static int read_line(int fd, int wakefd, struct linebuf *lb, int64_t deadline,
		     char **line, size_t *len)
{
	size_t scanned = 0;

	if (lb->used) {
		memmove(lb->buf, lb->buf + lb->used, lb->len - lb->used);
		lb->len -= lb->used;
		lb->used = 0;
	}
	for (;;) {
		char *nl = memchr(lb->buf + scanned, '\n', lb->len - scanned);

		if (nl || (lb->eof && lb->len)) {
			*len = nl ? (size_t)(nl - lb->buf) : lb->len;
			lb->buf[*len] = '\0';
			lb->used = nl ? *len + 1 : lb->len;
			*line = lb->buf;
			return 1;
		}
		if (lb->eof)
			return 0;
		scanned = lb->len;
		if (lb->len >= CTL_LINE_MAX)
			return -EMSGSIZE;

		struct pollfd p[2] = { { fd, POLLIN, 0 }, { wakefd, POLLIN, 0 } };
		int timeout = -1;

		if (deadline >= 0) {
			int64_t left = deadline - mono_ms();

			timeout = left > 0 ? (int)left : 0;
		}
		int r = poll(p, 2, timeout);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ETIMEDOUT;
		if (p[1].revents)
			return -ECANCELED;

		ssize_t n = recv(fd, lb->buf + lb->len, CTL_LINE_MAX - lb->len, 0);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			lb->eof = true;
		lb->len += (size_t)n;
	}
}

/* MSG_NOSIGNAL: a peer that went away is an error to report, not SIGPIPE. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends o as one line. */
static int send_json(int fd, struct json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(o,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	char *line;
	int r;

	if (!s)
		return -ENOMEM;
	/* One send for the line and its '\n': a reader never sees half a line
	 * because we were slow, and the copy is small. */
	line = malloc(len + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, len);
	line[len] = '\n';
	r = send_all(fd, line, len + 1);
	free(line);
	return r;
}

/* Parses one whole line as one JSON value; NULL with the reason in err. */
static struct json_object *parse_line(const char *s, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (strlen(s) != len) {
		snprintf(err, errlen, "malformed JSON: a NUL byte in the line");
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* -1: the string is NUL-terminated, which also ends a trailing number. */
	o = json_tokener_parse_ex(tok, s, -1);
	if (!o) {
		snprintf(err, errlen, "malformed JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
	} else {
		for (const char *p = s + json_tokener_get_parse_end(tok); *p; p++) {
			if (*p != ' ' && *p != '\t' && *p != '\r') {
				snprintf(err, errlen, "malformed JSON: more after the value");
				json_object_put(o);
				o = NULL;
				break;
			}
		}
	}
	json_tokener_free(tok);
	return o;
}

/* Connects to DIR/NAME.sock: the socket fd, or -errno as connect(2) gave it
 * (ENOENT: no socket; ECONNREFUSED: nobody listens, a stale socket).
 * timeout_ms >= 0 bounds the connect (it waits while the backlog is full)
 * and every later send. */
static int ctl_connect(int dirfd, const char *dir, const char *name, int timeout_ms)
{
	struct sockaddr_un sa;
	int fd, r = sock_addr(dirfd, dir, name, &sa);

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (timeout_ms >= 0) {
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
			r = -errno;
			close(fd);
			return r;
		}
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		r = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		close(fd);
		return r;
	}
	return fd;
}

/*
 * The one round trip everything uses: connects to NAME's socket, sends req,
 * reads one response object into *resp (whether "ok" is true or false).
 * 0, or -ENOENT when no domain has the name (no socket, or a stale one),
 * or -errno with the reason in err. timeout_ms < 0: wait as long as it takes.
 */
static int ctl_call(int dirfd, const char *dir, const char *name, struct json_object *req,
		    int timeout_ms, struct json_object **resp, char *err, size_t errlen)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct linebuf *lb = NULL;
	struct json_object *o = NULL, *ok;
	char *line;
	size_t len;
	int fd, r;

	*resp = NULL;
	fd = ctl_connect(dirfd, dir, name, timeout_ms);
	if (fd == -ENOENT || fd == -ECONNREFUSED || fd == -ENOTDIR) {
		snprintf(err, errlen, "no such domain");
		return -ENOENT;
	}
	if (fd < 0) {
		snprintf(err, errlen, fd == -ETIMEDOUT ? "the domain does not answer (busy?)"
			 : "cannot connect to its control socket: %s", strerror(-fd));
		return fd;
	}
	r = send_json(fd, req);
	if (r) {
		snprintf(err, errlen, "sending the request: %s", strerror(-r));
		goto out;
	}
	lb = malloc(sizeof(*lb));
	if (!lb) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	lb->len = lb->used = 0;
	lb->eof = false;
	r = read_line(fd, -1, lb, deadline, &line, &len);
	if (r <= 0) {
		if (r == 0)
			snprintf(err, errlen, "the domain closed the connection without answering");
		else if (r == -ETIMEDOUT)
			snprintf(err, errlen, "no answer within %d s (the domain may be busy)",
				 timeout_ms / 1000);
		else
			snprintf(err, errlen, "reading the answer: %s", strerror(-r));
		r = r ? r : -ECONNRESET;
		goto out;
	}
	o = parse_line(line, len, err, errlen);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &ok) || !json_object_is_type(ok, json_type_boolean)) {
		if (o)
			snprintf(err, errlen, "malformed answer: no \"ok\" member");
		json_object_put(o);
		r = -EPROTO;
		goto out;
	}
	*resp = o;
	r = 0;
out:
	free(lb);
	close(fd);
	return r;
}

/* ---- the server ---- */

struct control {
	struct domain *d;
	char name[CTL_NAME_MAX + 1];
	char dir[PATH_MAX];
	int dirfd;              /* the directory: flock'ed around bind and unlink */
	int lfd;                /* the listening socket */
	int wakefd;             /* eventfd: readable once control_stop is called */
	dev_t dev;              /* our socket file: only it is ever unlinked */
	ino_t ino;
	bool bound;
	pthread_t thread;
	struct linebuf lb;
};

static struct json_object *error_response(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static struct json_object *error_response(const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o) {
		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(o, "error", json_object_new_string(msg));
	}
	return o;
}

static struct json_object *ok_response(void)
{
	struct json_object *o = json_object_new_object();

	if (o)
		json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static struct json_object *do_info(struct control *c, struct json_object *req)
{
	struct json_object *o = ok_response();
	struct dom_info in;
	char up[32];

	(void)req;
	if (!o)
		return NULL;
	dom_get_info(c->d, &in);
	/* Milliseconds are plenty, and json-c would print a double with 17 digits. */
	snprintf(up, sizeof(up), "%.3f", (double)in.uptime_ns / 1e9);
	json_object_object_add(o, "name", json_object_new_string(in.name));
	json_object_object_add(o, "pid", json_object_new_int(in.pid));
	json_object_object_add(o, "state", json_object_new_string(dom_state_name(in.state)));
	json_object_object_add(o, "memory", json_object_new_int64((int64_t)in.mem_bytes));
	json_object_object_add(o, "memory_limit", json_object_new_int64((int64_t)in.mem_limit));
	json_object_object_add(o, "uptime", json_object_new_double_s((double)in.uptime_ns / 1e9, up));
	json_object_object_add(o, "threads", json_object_new_int(in.nthreads));
	return o;
}

static struct json_object *do_pause(struct control *c, struct json_object *req)
{
	int r = dom_pause(c->d);

	(void)req;
	if (r == -EALREADY)
		return error_response("domain is already paused");
	if (r == -ESRCH)
		return error_response("domain is exiting");
	return r ? error_response("%s", strerror(-r)) : ok_response();
}

static struct json_object *do_resume(struct control *c, struct json_object *req)
{
	int r = dom_resume(c->d);

	(void)req;
	if (r == -EALREADY)
		return error_response("domain is not paused");
	if (r == -ESRCH)
		return error_response("domain is exiting");
	return r ? error_response("%s", strerror(-r)) : ok_response();
}

static struct json_object *do_kill(struct control *c, struct json_object *req)
{
	(void)req;
	dom_kill(c->d);
	return ok_response();
}

/* An optional absolute path member: 0 with *out (NULL if absent or null),
 * or -1 with the reason in err. */
static int path_member(struct json_object *req, const char *key, bool required,
		       const char **out, char *err, size_t errlen)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "snapshot needs \"%s\"", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -1;
	}
	*out = json_object_get_string(v);
	if ((*out)[0] != '/' || strlen(*out) != (size_t)json_object_get_string_len(v)) {
		snprintf(err, errlen, "\"%s\" must be an absolute path", key);
		return -1;
	}
	return 0;
}

static struct json_object *do_snapshot(struct control *c, struct json_object *req)
{
	const char *dir, *parent;
	struct json_object *v, *o;
	bool stop = false;
	char err[1024] = "";
	int r;

	if (path_member(req, "dir", true, &dir, err, sizeof(err)) ||
	    path_member(req, "parent", false, &parent, err, sizeof(err)))
		return error_response("%s", err);
	if (json_object_object_get_ex(req, "stop", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_response("\"stop\" must be true or false");
		stop = json_object_get_boolean(v);
	}
	r = dom_snapshot(c->d, dir, stop, parent, err, sizeof(err));
	if (r)
		return error_response("%s", err[0] ? err : strerror(-r));
	o = ok_response();
	if (o)
		json_object_object_add(o, "dir", json_object_new_string(dir));
	return o;
}

static const struct ctl_cmd {
	const char *name;
	const char *const *keys;        /* the members it accepts besides "cmd" */
	struct json_object *(*fn)(struct control *c, struct json_object *req);
} ctl_cmds[] = {
	{ "info", (const char *const[]){ NULL }, do_info },
	{ "pause", (const char *const[]){ NULL }, do_pause },
	{ "resume", (const char *const[]){ NULL }, do_resume },
	{ "kill", (const char *const[]){ NULL }, do_kill },
	{ "snapshot", (const char *const[]){ "dir", "stop", "parent", NULL }, do_snapshot },
};

/* One request line to one response object (NULL only when out of memory). */
static struct json_object *ctl_handle(struct control *c, const char *line, size_t len)
{
	const struct ctl_cmd *cmd = NULL;
	struct json_object *req, *v, *resp;
	char err[256];
	const char *name;

	req = parse_line(line, len, err, sizeof(err));
	if (!req)
		return error_response("%s", err);
	if (!json_object_is_type(req, json_type_object)) {
		resp = error_response("a request must be a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(req, "cmd", &v) || !json_object_is_type(v, json_type_string)) {
		resp = error_response("a request needs a \"cmd\" string");
		goto out;
	}
	name = json_object_get_string(v);
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (!strcmp(name, ctl_cmds[i].name))
			cmd = &ctl_cmds[i];
	if (!cmd) {
		resp = error_response("unknown cmd \"%.64s\" (known: info, pause, resume, kill, snapshot)",
				      name);
		goto out;
	}
	/* Unknown members are refused, not ignored: a misspelt "stop" must not
	 * leave a domain running that the caller meant to end. */
	struct json_object_iterator it = json_object_iter_begin(req);
	struct json_object_iterator end = json_object_iter_end(req);

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		bool known = !strcmp(key, "cmd");

		for (const char *const *k = cmd->keys; *k && !known; k++)
			known = !strcmp(key, *k);
		if (!known) {
			resp = error_response("%s: unknown member \"%.64s\"", cmd->name, key);
			goto out;
		}
	}
	resp = cmd->fn(c, req);
out:
	json_object_put(req);
	return resp;
}

/* Serves one connection until it closes, idles for CTL_REQUEST_MS, misbehaves,
 * or control_stop is called. */
static void ctl_serve(struct control *c, int fd)
{
	struct timeval tv = { CTL_REQUEST_MS / 1000, 0 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct json_object *resp;
	char *line;
	size_t len;
	int r;

	/* The directory is private, but it may be the user's own choice with
	 * looser permissions: only our user (and root) may control us. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		dom_log(c->d, "control: SO_PEERCRED: %s", strerror(errno));
		return;
	}
	if (cred.uid != geteuid() && cred.uid != 0) {
		dom_log(c->d, "control: refused a client of uid %u (pid %d)", cred.uid, cred.pid);
		resp = error_response("permission denied");
		if (resp)
			send_json(fd, resp);
		json_object_put(resp);
		return;
	}
	/* A client that does not read its answers must not hold us either. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		dom_log(c->d, "control: SO_SNDTIMEO: %s", strerror(errno));
		return;
	}
	c->lb.len = c->lb.used = 0;
	c->lb.eof = false;
	for (;;) {
		r = read_line(fd, c->wakefd, &c->lb, deadline_after(CTL_REQUEST_MS), &line, &len);
		if (r == -EMSGSIZE) {
			resp = error_response("request longer than %d bytes", CTL_LINE_MAX);
			if (resp)
				send_json(fd, resp);
			json_object_put(resp);
			return;
		}
		if (r <= 0)
			return; /* closed, idle too long, or we are stopping */
		resp = ctl_handle(c, line, len);
		if (!resp) {
			dom_log(c->d, "control: out of memory for a response");
			return;
		}
		r = send_json(fd, resp);
		json_object_put(resp);
		if (r)
			return;
	}
}

static void *ctl_thread(void *arg)
{
	struct control *c = arg;

	for (;;) {
		struct pollfd p[2] = { { c->lfd, POLLIN, 0 }, { c->wakefd, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			dom_log(c->d, "control: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		int fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
				continue;
			/* Out of fds or memory: say so, back off, try again
			 * (waking at once for control_stop). */
			dom_log(c->d, "control: accept: %s", strerror(errno));
			struct pollfd w = { c->wakefd, POLLIN, 0 };

			if (poll(&w, 1, 100) > 0)
				break;
			continue;
		}
		ctl_serve(c, fd);
		close(fd);
	}
	return NULL;
}

/* Removes our socket file if it is still ours: once the name is free, a new
 * domain may have taken it over. The directory lock orders us with that
 * domain's control_start. */
static void ctl_unlink(struct control *c)
{
	char sock[CTL_NAME_MAX + sizeof(CTL_SUFFIX)];
	struct stat st;

	if (!c->bound)
		return;
	snprintf(sock, sizeof(sock), "%s" CTL_SUFFIX, c->name);
	if (flock(c->dirfd, LOCK_EX) < 0)
		dom_log(c->d, "control: flock %s: %s", c->dir, strerror(errno));
	if (fstatat(c->dirfd, sock, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == c->dev && st.st_ino == c->ino &&
	    unlinkat(c->dirfd, sock, 0) < 0)
		dom_log(c->d, "control: unlink %s/%s: %s", c->dir, sock, strerror(errno));
	if (flock(c->dirfd, LOCK_UN) < 0)
		dom_log(c->d, "control: flock %s: %s", c->dir, strerror(errno));
	c->bound = false;
}

static void ctl_free(struct control *c)
{
	if (c->lfd >= 0)
		close(c->lfd);
	c->lfd = -1; /* closed before the unlink: a late client sees a stale socket */
	ctl_unlink(c);
	if (c->wakefd >= 0)
		close(c->wakefd);
	if (c->dirfd >= 0)
		close(c->dirfd);
	free(c);
}

/* Creates the control directory if missing, opens it, and refuses one that
 * other users could write to: they could put their own socket in place of a
 * domain's and receive its commands. The open fd, or -errno with err. */
static int open_run_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "cannot create the control directory %s: %s "
			 "(set PDVM_RUN_DIR to use another)", dir, strerror(errno));
		return r;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "control directory %s: %s", dir,
			 errno == ENOTDIR ? "exists and is not a directory" : strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "control directory %s: %s", dir, strerror(errno));
		close(fd);
		return r;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "control directory %s is writable by other users (mode %04o), "
			 "who could take over the domains' sockets; make it private (chmod 700) "
			 "or set PDVM_RUN_DIR", dir, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "control directory %s belongs to uid %u, not to you; "
			 "set PDVM_RUN_DIR to a directory of your own", dir, (unsigned)st.st_uid);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* With the directory locked: takes over NAME.sock if nobody answers on it. */
static int ctl_claim_name(struct control *c, const char *sock, char *err, size_t errlen)
{
	struct json_object *req, *resp = NULL, *pid;
	char why[256];
	struct stat st;
	int r;

	if (fstatat(c->dirfd, sock, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(err, errlen, "%s/%s: %s", c->dir, sock, strerror(errno));
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s/%s exists and is not a socket; remove it", c->dir, sock);
		return -EEXIST;
	}
	req = json_object_new_object();
	if (!req) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_object_object_add(req, "cmd", json_object_new_string("info"));
	r = ctl_call(c->dirfd, c->dir, c->name, req, CTL_PROBE_MS, &resp, why, sizeof(why));
	json_object_put(req);
	if (r == -ENOENT) {
		/* Stale: its domain ended without removing it (killed, crashed). */
		if (unlinkat(c->dirfd, sock, 0) < 0 && errno != ENOENT) {
			r = -errno;
			snprintf(err, errlen, "removing the stale socket %s/%s: %s", c->dir, sock,
				 strerror(errno));
			return r;
		}
		return 0;
	}
	if (r == 0 && json_object_object_get_ex(resp, "pid", &pid) &&
	    json_object_is_type(pid, json_type_int))
		snprintf(err, errlen, "a domain named %s is already running (pid %d)", c->name,
			 json_object_get_int(pid));
	else if (r == 0)
		snprintf(err, errlen, "a domain named %s is already running", c->name);
	else
		snprintf(err, errlen, "a domain named %s is already running (%s/%s: %s)", c->name,
			 c->dir, sock, why);
	json_object_put(resp);
	return -EEXIST;
}

static int ctl_bind(struct control *c, char *err, size_t errlen)
{
	char sock[CTL_NAME_MAX + sizeof(CTL_SUFFIX)];
	struct sockaddr_un sa;
	struct stat st;
	int r;

	snprintf(sock, sizeof(sock), "%s" CTL_SUFFIX, c->name);
	r = sock_addr(c->dirfd, c->dir, c->name, &sa);
	if (r) {
		snprintf(err, errlen, "%s/%s: %s", c->dir, sock, strerror(-r));
		return r;
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->lfd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	/* Two pdvm starting with the same name at once: the lock makes the
	 * check for a live owner and the bind one step. */
	if (flock(c->dirfd, LOCK_EX) < 0) {
		r = -errno;
		snprintf(err, errlen, "locking %s: %s", c->dir, strerror(errno));
		return r;
	}
	r = ctl_claim_name(c, sock, err, errlen);
	if (r)
		goto unlock;
	if (bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno == EADDRINUSE ? -EEXIST : -errno;
		snprintf(err, errlen, "binding %s/%s: %s", c->dir, sock, strerror(errno));
		goto unlock;
	}
	if (fstatat(c->dirfd, sock, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s/%s: %s", c->dir, sock, strerror(errno));
		unlinkat(c->dirfd, sock, 0);
		goto unlock;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->bound = true;
	/* Owner only, whatever the umask and the directory's mode. */
	if (fchmodat(c->dirfd, sock, 0600, 0) < 0 || listen(c->lfd, CTL_BACKLOG) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s/%s: %s", c->dir, sock, strerror(errno));
		goto unlock;
	}
	r = 0;
unlock:
	if (flock(c->dirfd, LOCK_UN) < 0 && !r) {
		r = -errno;
		snprintf(err, errlen, "unlocking %s: %s", c->dir, strerror(errno));
	}
	return r;
}

int control_start(struct domain *d, const char *name, char *err, size_t errlen)
{
	struct control *c;
	sigset_t all, old;
	int r;

	d->ctl = NULL;
	if (!name_valid(name)) {
		snprintf(err, errlen, "bad domain name \"%s\": %s", name, bad_name_why);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->d = d;
	c->lfd = c->wakefd = -1;
	snprintf(c->name, sizeof(c->name), "%s", name);
	if ((size_t)snprintf(c->dir, sizeof(c->dir), "%s", control_dir()) >= sizeof(c->dir)) {
		snprintf(err, errlen, "control directory path too long");
		free(c);
		return -ENAMETOOLONG;
	}
	c->dirfd = open_run_dir(c->dir, err, errlen);
	if (c->dirfd < 0) {
		r = c->dirfd;
		ctl_free(c);
		return r;
	}
	r = ctl_bind(c, err, errlen);
	if (r)
		goto fail;
	c->wakefd = eventfd(0, EFD_CLOEXEC);
	if (c->wakefd < 0) {
		r = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/* The thread starts with every signal blocked (it inherits our mask):
	 * the vCPU kick signal must never land here and cut a request short,
	 * and signals meant for the process are for the vCPU threads to take. */
	sigfillset(&all);
	r = -pthread_sigmask(SIG_SETMASK, &all, &old);
	if (r) {
		snprintf(err, errlen, "pthread_sigmask: %s", strerror(-r));
		goto fail;
	}
	r = -pthread_create(&c->thread, NULL, ctl_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		snprintf(err, errlen, "starting the control thread: %s", strerror(-r));
		goto fail;
	}
	d->ctl = c;
	return 0;
fail:
	ctl_free(c);
	return r;
}

void control_stop(struct domain *d)
{
	struct control *c = d->ctl;
	uint64_t one = 1;

	if (!c)
		return;
	d->ctl = NULL;
	/* The thread finishes the request at hand (a kill's answer still goes
	 * out), then sees the eventfd and returns. */
	if (write(c->wakefd, &one, sizeof(one)) != sizeof(one)) {
		/* Cannot happen for an eventfd at 0; if it did, the thread would
		 * still use c: leave it (and the socket) be rather than free it. */
		dom_log(d, "control: waking the control thread: %s", strerror(errno));
		return;
	}
	pthread_join(c->thread, NULL);
	ctl_free(c);
}

/* ---- the client commands ---- */

/* Prints "pdvm CMD: MSG" and the pointer to --help; returns EXIT_USAGE. */
static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "pdvm %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nSee 'pdvm %s --help'.\n", cmd);
	return EXIT_USAGE;
}

/* getopt_long for the client commands, with pdvm run's error messages.
 * Returns the option, -1 at the end, or -2 after printing a usage error. */
static int next_opt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int opt = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (opt == ':') {
		usage_error(argv[0], "option '%s' needs a value", argv[optind - 1]);
		return -2;
	}
	if (opt == '?') {
		if (optopt && !strncmp(argv[optind - 1], "--", 2)) {
			usage_error(argv[0], "option '%s' takes no value", argv[optind - 1]);
		} else if (optopt) {
			char o[3] = { '-', (char)optopt, 0 };

			usage_error(argv[0], "unknown option '%s'", o);
		} else {
			usage_error(argv[0], "unknown option '%s'", argv[optind - 1]);
		}
		return -2;
	}
	return opt;
}

/* Opens the control directory for a client; -errno, with ENOENT meaning
 * there are no domains (nothing ever ran here). */
static int open_dir_client(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static struct json_object *simple_request(const char *cmd)
{
	struct json_object *req = json_object_new_object();

	if (req)
		json_object_object_add(req, "cmd", json_object_new_string(cmd));
	return req;
}

/* Sends req to NAME and reports failure as "pdvm CMD: NAME: why". */
static int client_request(const char *cmd, const char *name, struct json_object *req,
			  int timeout_ms)
{
	const char *dir = control_dir();
	struct json_object *resp = NULL, *e;
	char err[512];
	int dirfd, r, rc = EXIT_FAILED;

	if (!req) {
		fprintf(stderr, "pdvm %s: out of memory\n", cmd);
		return EXIT_FAILED;
	}
	dirfd = open_dir_client(dir);
	if (dirfd == -ENOENT) {
		fprintf(stderr, "pdvm %s: %s: no such domain\n", cmd, name);
		return EXIT_FAILED;
	}
	if (dirfd < 0) {
		fprintf(stderr, "pdvm %s: %s: %s\n", cmd, dir, strerror(-dirfd));
		return EXIT_FAILED;
	}
	r = ctl_call(dirfd, dir, name, req, timeout_ms, &resp, err, sizeof(err));
	close(dirfd);
	if (r) {
		fprintf(stderr, "pdvm %s: %s: %s\n", cmd, name, err);
	} else if (!json_object_get_boolean(json_object_object_get(resp, "ok"))) {
		fprintf(stderr, "pdvm %s: %s: %s\n", cmd, name,
			json_object_object_get_ex(resp, "error", &e) ? json_object_get_string(e)
								    : "failed (no reason given)");
	} else {
		rc = 0;
	}
	json_object_put(resp);
	return rc;
}

/* pause, resume and kill: one NAME, one request, silence on success. */
static int simple_command(int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = next_opt(argc, argv, ":h", opts)) != -1) {
		if (opt == -2)
			return EXIT_USAGE;
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		}
	}
	if (optind >= argc)
		return usage_error(argv[0], "%s", "no NAME given");
	if (optind + 1 < argc)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind + 1]);
	if (!name_valid(argv[optind])) {
		fprintf(stderr, "pdvm %s: bad domain name \"%s\": %s\n", argv[0], argv[optind],
			bad_name_why);
		return EXIT_USAGE;
	}
	struct json_object *req = simple_request(argv[0]);
	int rc = client_request(argv[0], argv[optind], req, CTL_COMMAND_MS);

	json_object_put(req);
	return rc;
}

int cmd_pause(int argc, char **argv)
{
	return simple_command(argc, argv,
		"Usage: pdvm pause NAME\n"
		"\n"
		"Pauses the running domain NAME: every thread of its program stops where it\n"
		"is (a blocked system call is restarted on resume); its memory stays as it is.\n"
		"'pdvm resume NAME' lets it go on.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 when paused, 1 if it failed (no such domain, already paused,\n"
		"exiting), 2 for a usage error.\n");
}

int cmd_resume(int argc, char **argv)
{
	return simple_command(argc, argv,
		"Usage: pdvm resume NAME\n"
		"\n"
		"Lets the domain NAME, paused with 'pdvm pause', go on.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 when resumed, 1 if it failed (no such domain, not paused,\n"
		"exiting), 2 for a usage error.\n");
}

int cmd_kill(int argc, char **argv)
{
	return simple_command(argc, argv,
		"Usage: pdvm kill NAME\n"
		"\n"
		"Ends the domain NAME at once, as SIGKILL would end a process (paused or not):\n"
		"its 'pdvm run' exits with status 137.\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 when the domain was told to end, 1 if it failed (no such\n"
		"domain), 2 for a usage error.\n");
}

/* An absolute version of path, relative to the current directory (which is
 * the client's, not the domain's); malloc'ed, NULL with errno set. */
static char *absolute_path(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&out, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path) < 0)
		return NULL;
	return out;
}

int cmd_snapshot(int argc, char **argv)
{
	static const char usage[] =
		"Usage: pdvm snapshot [--stop] [--parent PARENT_DIR] NAME DIR\n"
		"\n"
		"Writes a snapshot image of the running domain NAME to the directory DIR: the\n"
		"domain pauses while it is written, then goes on (or ends, with --stop).\n"
		"Relative paths are taken from the current directory. pdvm waits for the image\n"
		"however long it takes. Options may also come after NAME and DIR.\n"
		"\n"
		"Options:\n"
		"      --stop               end the domain once the image is written\n"
		"      --parent PARENT_DIR  write an incremental image: only what changed since\n"
		"                           PARENT_DIR, an earlier snapshot of this domain\n"
		"  -h, --help               show this help\n"
		"\n"
		"Exit status: 0 when the image is written, 1 if it failed (no such domain,\n"
		"the image could not be written), 2 for a usage error.\n";
	enum { OPT_STOP = 256, OPT_PARENT };
	static const struct option opts[] = {
		{ "stop", no_argument, NULL, OPT_STOP },
		{ "parent", required_argument, NULL, OPT_PARENT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *parent = NULL;
	char *dir = NULL, *par = NULL;
	struct json_object *req;
	bool stop = false;
	int opt, rc;

	opterr = 0;
	optind = 1;
	while ((opt = next_opt(argc, argv, ":h", opts)) != -1) {
		switch (opt) {
		case -2:
			return EXIT_USAGE;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case OPT_STOP:
			stop = true;
			break;
		case OPT_PARENT:
			parent = optarg;
			break;
		}
	}
	if (argc - optind < 2)
		return usage_error(argv[0], "%s", argc == optind ? "no NAME and DIR given"
							    : "no DIR given");
	if (argc - optind > 2)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind + 2]);
	if (!name_valid(argv[optind])) {
		fprintf(stderr, "pdvm %s: bad domain name \"%s\": %s\n", argv[0], argv[optind],
			bad_name_why);
		return EXIT_USAGE;
	}
	if (!argv[optind + 1][0] || (parent && !parent[0]))
		return usage_error(argv[0], "%s", "empty directory name");
	dir = absolute_path(argv[optind + 1]);
	par = parent ? absolute_path(parent) : NULL;
	if (!dir || (parent && !par)) {
		fprintf(stderr, "pdvm %s: %s\n", argv[0], strerror(errno));
		free(dir);
		free(par);
		return EXIT_FAILED;
	}
	req = simple_request("snapshot");
	if (req) {
		json_object_object_add(req, "dir", json_object_new_string(dir));
		json_object_object_add(req, "stop", json_object_new_boolean(stop));
		if (par)
			json_object_object_add(req, "parent", json_object_new_string(par));
	}
	/* No timeout: writing the image of a big domain takes as long as it takes. */
	rc = client_request(argv[0], argv[optind], req, -1);
	json_object_put(req);
	free(dir);
	free(par);
	return rc;
}

/* 12.3M: what ls -h and docker print. */
static void human_size(char *buf, size_t n, uint64_t bytes)
{
	static const char units[] = "KMGTP";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, n, "%lluB", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < (int)sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, v < 99.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* 5s, 3m12s, 2h05m, 4d03h: as docker ps shows ages, but exact. */
static void human_uptime(char *buf, size_t n, double secs)
{
	unsigned long long s = secs > 0 ? (unsigned long long)secs : 0;

	if (s < 60)
		snprintf(buf, n, "%llus", s);
	else if (s < 3600)
		snprintf(buf, n, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, n, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, n, "%llud%02lluh", s / 86400, s % 86400 / 3600);
}

static int sock_entry(const struct dirent *e)
{
	size_t n = strlen(e->d_name), sl = strlen(CTL_SUFFIX);

	return n > sl && !strcmp(e->d_name + n - sl, CTL_SUFFIX);
}

/* With ECONNREFUSED the socket's domain is gone; remove the file, under the
 * lock a starting domain holds while it claims the name, and only if the
 * socket is still refused then. */
static void remove_stale(int dirfd, const char *dir, const char *name, const char *file)
{
	if (flock(dirfd, LOCK_EX) < 0)
		return;
	int fd = ctl_connect(dirfd, dir, name, CTL_LIST_MS);

	if (fd == -ECONNREFUSED)
		unlinkat(dirfd, file, 0); /* may fail (not our directory): harmless */
	else if (fd >= 0)
		close(fd);
	flock(dirfd, LOCK_UN);
}

int cmd_list(int argc, char **argv)
{
	static const char usage[] =
		"Usage: pdvm list [--json]\n"
		"\n"
		"Lists the running domains: those with a control socket in $PDVM_RUN_DIR\n"
		"(default /run/pdvm). Columns: NAME; PID, of the 'pdvm run' process; STATE,\n"
		"running, paused or exiting (unknown: it did not answer, e.g. busy writing a\n"
		"snapshot; the reason goes to stderr); MEMORY, guest memory in use; UPTIME.\n"
		"Sockets left behind by domains that ended abruptly are removed.\n"
		"\n"
		"Options:\n"
		"      --json   print a JSON array of the domains' info objects instead\n"
		"               (name, pid, state, memory, memory_limit, uptime, threads)\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0, or 1 if the directory cannot be read, 2 for a usage error.\n";
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = control_dir();
	struct dirent **ents = NULL;
	struct json_object *arr, *req;
	bool json = false;
	int opt, n = 0, dirfd, width = 4;

	opterr = 0;
	optind = 1;
	while ((opt = next_opt(argc, argv, ":h", opts)) != -1) {
		if (opt == -2)
			return EXIT_USAGE;
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (opt == 'j')
			json = true;
	}
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind]);

	arr = json_object_new_array();
	req = simple_request("info");
	if (!arr || !req) {
		fprintf(stderr, "pdvm list: out of memory\n");
		json_object_put(arr);
		json_object_put(req);
		return EXIT_FAILED;
	}
	dirfd = open_dir_client(dir);
	if (dirfd >= 0) {
		/* scandir by path, not through dirfd: the lock and the sockets use
		 * dirfd, the listing needs its own stream. */
		n = scandir(dir, &ents, sock_entry, alphasort);
		if (n < 0) {
			int e = errno;

			close(dirfd);
			dirfd = -e;
			n = 0;
		}
	}
	if (dirfd < 0 && dirfd != -ENOENT) { /* no directory: nothing ever ran, an empty list */
		fprintf(stderr, "pdvm list: %s: %s\n", dir, strerror(-dirfd));
		json_object_put(arr);
		json_object_put(req);
		return EXIT_FAILED;
	}
	for (int i = 0; i < n; i++) {
		char name[CTL_NAME_MAX + 1], err[512];
		size_t len = strlen(ents[i]->d_name) - strlen(CTL_SUFFIX);
		struct json_object *resp = NULL, *row;
		int r;

		if (len > CTL_NAME_MAX)
			continue; /* not a domain's: its name would be too long */
		memcpy(name, ents[i]->d_name, len);
		name[len] = '\0';
		if (!name_valid(name))
			continue;
		r = ctl_call(dirfd, dir, name, req, CTL_LIST_MS, &resp, err, sizeof(err));
		if (r == -ENOENT) {
			remove_stale(dirfd, dir, name, ents[i]->d_name);
			continue;
		}
		if (!r && !json_object_get_boolean(json_object_object_get(resp, "ok"))) {
			struct json_object *e = json_object_object_get(resp, "error");

			snprintf(err, sizeof(err), "%s", e ? json_object_get_string(e) : "failed");
			r = -EPROTO;
		}
		if (r) {
			fprintf(stderr, "pdvm list: %s: %s\n", name, err);
			json_object_put(resp);
			resp = json_object_new_object();
			if (!resp)
				continue;
			json_object_object_add(resp, "name", json_object_new_string(name));
			json_object_object_add(resp, "state", json_object_new_string("unknown"));
			json_object_object_add(resp, "error", json_object_new_string(err));
		}
		json_object_object_del(resp, "ok");
		/* The table prints these: make sure a row has them. */
		if (!json_object_is_type(json_object_object_get(resp, "name"), json_type_string))
			json_object_object_add(resp, "name", json_object_new_string(name));
		if (!json_object_is_type(json_object_object_get(resp, "state"), json_type_string))
			json_object_object_add(resp, "state", json_object_new_string("unknown"));
		row = resp;
		if (json_object_array_add(arr, row) < 0)
			json_object_put(row);
		else if ((int)len > width)
			width = (int)len;
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (dirfd >= 0)
		close(dirfd);
	json_object_put(req);

	if (json) {
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("%-*s %8s %-8s %8s %s\n", width, "NAME", "PID", "STATE", "MEMORY", "UPTIME");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *o = json_object_array_get_idx(arr, i), *v;
			char mem[16] = "-", up[32] = "-", pid[16] = "-";

			if (json_object_object_get_ex(o, "pid", &v))
				snprintf(pid, sizeof(pid), "%d", json_object_get_int(v));
			if (json_object_object_get_ex(o, "memory", &v))
				human_size(mem, sizeof(mem), (uint64_t)json_object_get_int64(v));
			if (json_object_object_get_ex(o, "uptime", &v))
				human_uptime(up, sizeof(up), json_object_get_double(v));
			printf("%-*s %8s %-8s %8s %s\n", width,
			       json_object_get_string(json_object_object_get(o, "name")), pid,
			       json_object_get_string(json_object_object_get(o, "state")), mem, up);
		}
	}
	json_object_put(arr);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "pdvm list: writing the list: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	return 0;
}
