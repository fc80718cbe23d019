/* control.c: the per-domain control socket server — a JSON-lines server on a thread of its own that pauses, resumes, kills, snapshots and migrates its domain. */
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
#include "vmm/domain.h"
#include "ctl_exec.h"
#include "ctl_proto.h"
#include "snapshot/migrate.h"
#include "snapshot/snapshot.h"
#include "vmm/status.h"

struct control {
	struct domain *d;
	const struct net_spec *net;
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
	/* A snapshot or migration runs in a worker thread, so that `pdvm list`
	 * and info get answers meanwhile (state "snapshotting", "migrating"). */
	pthread_mutex_t mu;
	const char *busy;       /* under mu: the long operation at hand, or NULL */
	pthread_t worker;
	bool worker_started;
	uint64_t incoming_bytes; /* d == NULL: a migration's target waiting for it */
	struct precopy_progress progress; /* of the migration at hand (info shows it) */
	struct ctl_execs execs;  /* exec sessions (tools/ctl_exec.c) */
};

/* The domain log, or for an incoming domain (none yet) stderr. */
__attribute__((format(printf, 2, 3)))
static void ctl_log(struct control *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (c->d)
		dom_log(c->d, "%s", buf);
	else
		fprintf(stderr, "pdvm: %s: %s\n", c->name, buf);
}

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

/* The long operation at hand (the worker's), or NULL. */
static const char *ctl_busy(struct control *c)
{
	pthread_mutex_lock(&c->mu);
	const char *busy = c->busy;
	pthread_mutex_unlock(&c->mu);
	return busy;
}

static struct json_object *do_info(struct control *c, struct json_object *req, bool run)
{
	(void)run;
	struct json_object *o = ok_response();
	struct dom_info in;
	char up[32];

	(void)req;
	if (!o)
		return NULL;
	if (!c->d) {
		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "pid", json_object_new_int(getpid()));
		json_object_object_add(o, "state", json_object_new_string("incoming"));
		json_object_object_add(o, "memory_limit", json_object_new_int64((int64_t)c->incoming_bytes));
		return o;
	}
	dom_get_info(c->d, &in);
	/* Milliseconds are plenty, and json-c would print a double with 17 digits. */
	snprintf(up, sizeof(up), "%.3f", (double)in.uptime_ns / 1e9);
	json_object_object_add(o, "name", json_object_new_string(in.name));
	json_object_object_add(o, "pid", json_object_new_int(in.pid));
	const char *busy = ctl_busy(c);
	json_object_object_add(o, "state", json_object_new_string(busy ? busy : dom_state_name(in.state)));
	if (busy && !strcmp(busy, "migrating")) {
		static const char *const phases[] = { "connecting", "pre-copy", "paused", "target", "post-copy" };
		struct precopy_progress *p = &c->progress;
		struct json_object *m = json_object_new_object();
		int ph = p->phase;
		json_object_object_add(m, "phase", json_object_new_string(phases[ph >= 0 && ph < 5 ? ph : 0]));
		json_object_object_add(m, "round", json_object_new_int(p->round));
		json_object_object_add(m, "sent_bytes", json_object_new_int64((int64_t)p->sent));
		json_object_object_add(m, "left_pages", json_object_new_int64((int64_t)p->left));
		json_object_object_add(m, "dirty_mbps", json_object_new_double(p->dirty_mbps));
		json_object_object_add(m, "estimated_ms", json_object_new_double(p->est_ms));
		json_object_object_add(o, "migration", m);
	}
	json_object_object_add(o, "memory", json_object_new_int64((int64_t)in.mem_bytes));
	json_object_object_add(o, "memory_limit", json_object_new_int64((int64_t)in.mem_limit));
	json_object_object_add(o, "uptime", json_object_new_double_s((double)in.uptime_ns / 1e9, up));
	json_object_object_add(o, "threads", json_object_new_int(in.nthreads));
	return o;
}

static struct json_object *do_pause(struct control *c, struct json_object *req, bool run)
{
	(void)run;
	int r = dom_pause(c->d);

	(void)req;
	if (r == -EALREADY)
		return error_response("domain is already paused");
	if (r == -ESRCH)
		return error_response("domain is exiting");
	return r ? error_response("%s", strerror(-r)) : ok_response();
}

static struct json_object *do_resume(struct control *c, struct json_object *req, bool run)
{
	(void)run;
	int r = dom_resume(c->d);

	(void)req;
	if (r == -EALREADY)
		return error_response("domain is not paused");
	if (r == -ESRCH)
		return error_response("domain is exiting");
	return r ? error_response("%s", strerror(-r)) : ok_response();
}

static struct json_object *do_kill(struct control *c, struct json_object *req, bool run)
{
	(void)run;
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
		snprintf(err, errlen, "the request needs \"%s\"", key);
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

static struct json_object *do_snapshot(struct control *c, struct json_object *req, bool run)
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
	if (!run)
		return NULL;
	r = snapshot_domain(c->d, c->net, dir, stop, parent, err, sizeof(err));
	if (r)
		return error_response("%s", err[0] ? err : strerror(-r));
	o = ok_response();
	if (o)
		json_object_object_add(o, "dir", json_object_new_string(dir));
	return o;
}

static struct json_object *do_migrate(struct control *c, struct json_object *req, bool run)
{
	struct migrate_opts o = { 0 };
	struct json_object *v;
	char err[1024] = "";

	if (!json_object_object_get_ex(req, "to", &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) != strlen(json_object_get_string(v)))
		return error_response("migrate needs \"to\", a HOST:PORT string");
	o.to = json_object_get_string(v);
	if (json_object_object_get_ex(req, "insecure", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_response("\"insecure\" must be true or false");
		o.insecure = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(req, "copy_writable", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_response("\"copy_writable\" must be true or false");
		o.copy_writable = json_object_get_boolean(v);
	}
	if (path_member(req, "key", false, &o.key, err, sizeof(err)))
		return error_response("%s", err);
	if (json_object_object_get_ex(req, "max_downtime_ms", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > 3600000)
			return error_response("\"max_downtime_ms\" must be a number of milliseconds, 1 to 3600000");
		o.max_downtime_ms = (int)json_object_get_int64(v);
	}
	if (json_object_object_get_ex(req, "timeout_ms", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > 3600000)
			return error_response("\"timeout_ms\" must be a number of milliseconds, 1 to 3600000");
		o.timeout_ms = (int)json_object_get_int64(v);
	}
	if (json_object_object_get_ex(req, "postcopy", &v)) {
		const char *m = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		if (!strcmp(m, "auto"))
			o.postcopy = POSTCOPY_AUTO;
		else if (!strcmp(m, "never"))
			o.postcopy = POSTCOPY_NEVER;
		else if (!strcmp(m, "always"))
			o.postcopy = POSTCOPY_ALWAYS;
		else
			return error_response("\"postcopy\" must be \"never\", \"auto\" or \"always\"");
	}
	if (!run)
		return NULL;
	c->progress.phase = MP_CONNECTING;
	c->progress.round = 0;
	c->progress.sent = c->progress.left = 0;
	c->progress.dirty_mbps = c->progress.est_ms = 0;
	o.progress = &c->progress;
	struct migrate_stats st;
	int r = migrate_domain(c->d, c->net, &o, &st, err, sizeof(err));
	if (r)
		return error_response("%s", err[0] ? err : strerror(-r));
	struct json_object *resp = ok_response(), *s = json_object_new_object(), *pages = json_object_new_array();
	if (!resp || !s || !pages) {
		json_object_put(s);
		json_object_put(pages);
		return resp;
	}
	for (int i = 0; i < st.pre.rounds; i++)
		json_object_array_add(pages, json_object_new_int64((int64_t)st.pre.pages[i]));
	json_object_object_add(s, "rounds", json_object_new_int(st.pre.rounds));
	json_object_object_add(s, "pages_per_round", pages);
	json_object_object_add(s, "precopy_bytes", json_object_new_int64((int64_t)st.pre.bytes));
	json_object_object_add(s, "precopy_ms", json_object_new_double(st.precopy_ms));
	json_object_object_add(s, "pages_left", json_object_new_int64((int64_t)st.pre.left));
	json_object_object_add(s, "estimated_ms", json_object_new_double(st.pre.est_ms));
	json_object_object_add(s, "precopy_stopped", json_object_new_string(st.pre.why ? st.pre.why : ""));
	json_object_object_add(s, "hot_chunks", json_object_new_int64((int64_t)st.pre.hot_chunks));
	json_object_object_add(s, "deferred_pages", json_object_new_int64((int64_t)st.pre.deferred));
	json_object_object_add(s, "dirty_mbps", json_object_new_double(st.pre.dirty_mbps));
	json_object_object_add(s, "link_mbps", json_object_new_double(st.pre.link_mbps));
	json_object_object_add(s, "decision", json_object_new_string(st.pre.decision ? st.pre.decision : ""));
	json_object_object_add(s, "max_downtime_ms", json_object_new_int(o.max_downtime_ms ? o.max_downtime_ms :
									   MIGRATE_MAX_DOWNTIME_MS));
	json_object_object_add(s, "paused_ms", json_object_new_double(st.paused_ms));
	json_object_object_add(s, "image_ms", json_object_new_double(st.image_ms));
	json_object_object_add(s, "send_ms", json_object_new_double(st.send_ms));
	json_object_object_add(s, "target_ms", json_object_new_double(st.target_ms));
	json_object_object_add(s, "image_bytes", json_object_new_int64((int64_t)st.image_bytes));
	json_object_object_add(s, "bytes", json_object_new_int64((int64_t)st.bytes));
	json_object_object_add(s, "postcopy", json_object_new_boolean(st.postcopy));
	if (st.postcopy) {
		struct json_object *p = json_object_new_object();
		if (p) {
			json_object_object_add(p, "pages", json_object_new_int64((int64_t)st.pc.pages));
			json_object_object_add(p, "pushed", json_object_new_int64((int64_t)st.pc.pushed));
			json_object_object_add(p, "asked", json_object_new_int64((int64_t)st.pc.asked));
			json_object_object_add(p, "faults", json_object_new_int64((int64_t)st.pc.target.faults));
			json_object_object_add(p, "fault_wait_ms", json_object_new_double((double)st.pc.target.wait_us / 1e3));
			json_object_object_add(p, "fault_wait_max_ms",
					       json_object_new_double((double)st.pc.target.wait_max_us / 1e3));
			json_object_object_add(p, "ms", json_object_new_double(st.pc.ms));
			json_object_object_add(p, "reconnects", json_object_new_int64((int64_t)st.pc.reconnects));
			json_object_object_add(p, "ended_first", json_object_new_boolean(st.pc.target.ended));
			json_object_object_add(s, "postcopy_stats", p);
		}
	}
	json_object_object_add(resp, "stats", s);
	return resp;
}

static const struct ctl_cmd {
	const char *name;
	const char *const *keys;        /* the members it accepts besides "cmd" */
	/* run false: only check req (NULL: fine, else the error to answer) */
	struct json_object *(*fn)(struct control *c, struct json_object *req, bool run);
	const char *busy;               /* a long one: runs in the worker, the state meanwhile */
} ctl_cmds[] = {
	{ "info", (const char *const[]){ NULL }, do_info, NULL },
	{ "pause", (const char *const[]){ NULL }, do_pause, NULL },
	{ "resume", (const char *const[]){ NULL }, do_resume, NULL },
	{ "kill", (const char *const[]){ NULL }, do_kill, NULL },
	/* No fn: the connection becomes an exec session (tools/ctl_exec.c). */
	{ "exec", (const char *const[]){ "argv", "env", "env_add", "cwd", NULL }, NULL, NULL },
	{ "snapshot", (const char *const[]){ "dir", "stop", "parent", NULL }, do_snapshot, "snapshotting" },
	{ "migrate", (const char *const[]){ "to", "insecure", "key", "max_downtime_ms", "timeout_ms", "postcopy",
					       "copy_writable", NULL }, do_migrate,
	  "migrating" },
};

/* A long request handed to the worker: it answers on fd and closes it. */
struct ctl_job {
	struct control *c;
	const struct ctl_cmd *cmd;
	struct json_object *req;
	int fd;
};

static void *ctl_worker(void *arg)
{
	struct ctl_job *j = arg;
	struct json_object *resp = j->cmd->fn(j->c, j->req, true);
	if (!resp)
		ctl_log(j->c, "control: out of memory for a response");
	else
		ctl_send_json(j->fd, resp);
	json_object_put(resp);
	json_object_put(j->req);
	close(j->fd);
	pthread_mutex_lock(&j->c->mu);
	j->c->busy = NULL;
	pthread_mutex_unlock(&j->c->mu);
	free(j);
	return NULL;
}

/* Starts cmd in the worker (the previous one has ended: busy was NULL).
 * Takes req and fd. 0, or -errno (both untouched). */
static int ctl_start_job(struct control *c, const struct ctl_cmd *cmd, struct json_object *req, int fd)
{
	struct ctl_job *j = malloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	*j = (struct ctl_job){ .c = c, .cmd = cmd, .req = req, .fd = fd };
	if (c->worker_started)
		pthread_join(c->worker, NULL);
	c->worker_started = false;
	pthread_mutex_lock(&c->mu);
	c->busy = cmd->busy;
	pthread_mutex_unlock(&c->mu);
	int r = -pthread_create(&c->worker, NULL, ctl_worker, j);
	if (r) {
		pthread_mutex_lock(&c->mu);
		c->busy = NULL;
		pthread_mutex_unlock(&c->mu);
		free(j);
		return r;
	}
	c->worker_started = true;
	return 0;
}

/* One request line to one response object (NULL only when out of memory),
 * or for a long request started in the worker, NULL with *taken set (the
 * worker answers on fd). */
static struct json_object *ctl_handle(struct control *c, const char *line, size_t len, int fd, bool *taken)
{
	const struct ctl_cmd *cmd = NULL;
	struct json_object *req, *v, *resp;
	char err[256];
	const char *name;

	req = ctl_parse_line(line, len, err, sizeof(err));
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
		resp = error_response("unknown cmd \"%.64s\" (known: info, pause, resume, kill, exec, snapshot, migrate)",
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
	const char *busy = ctl_busy(c);
	if (!c->d && strcmp(cmd->name, "info")) {
		resp = error_response("domain %s is incoming (a migration is bringing it here): it does not run yet",
				      c->name);
	} else if (busy && strcmp(cmd->name, "info")) {
		resp = error_response("domain is %s: try again when that has ended", busy);
	} else if (!cmd->fn) {
		if (ctl_exec_check(req, err, sizeof(err))) {
			resp = error_response("%s", err);
		} else {
			int r = ctl_exec_start(&c->execs, c->d, req, fd);
			if (!r) {
				*taken = true;
				return NULL;
			}
			resp = error_response("starting exec: %s", strerror(-r));
		}
	} else if (cmd->busy && (resp = cmd->fn(c, req, false))) {
		/* A bad request is answered here; the connection goes on. */
	} else if (cmd->busy) {
		int r = ctl_start_job(c, cmd, req, fd);
		if (!r) {
			*taken = true;
			return NULL;
		}
		resp = error_response("starting %s: %s", cmd->name, strerror(-r));
	} else {
		resp = cmd->fn(c, req, true);
	}
out:
	json_object_put(req);
	return resp;
}

/* Serves one connection until it closes, idles for CTL_REQUEST_MS, misbehaves,
 * or control_stop is called. Returns whether the worker took fd (a long
 * request: the connection is the worker's until it has answered). */
static bool ctl_serve(struct control *c, int fd)
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
		ctl_log(c, "control: SO_PEERCRED: %s", strerror(errno));
		return false;
	}
	if (cred.uid != geteuid() && cred.uid != 0) {
		ctl_log(c, "control: refused a client of uid %u (pid %d)", cred.uid, cred.pid);
		resp = error_response("permission denied");
		if (resp)
			ctl_send_json(fd, resp);
		json_object_put(resp);
		return false;
	}
	/* A client that does not read its answers must not hold us either. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ctl_log(c, "control: SO_SNDTIMEO: %s", strerror(errno));
		return false;
	}
	c->lb.len = c->lb.used = 0;
	c->lb.eof = c->lb.skipping = false;
	/* Each request gets CTL_REQUEST_MS from the previous answer; an over-long
	 * line does not earn more time, so a stream without newlines ends. */
	int64_t deadline = ctl_deadline_after(CTL_REQUEST_MS);

	for (;;) {
		r = ctl_read_line(fd, c->wakefd, &c->lb, deadline, &line, &len);
		if (r == -EMSGSIZE) {
			resp = error_response("request longer than %d bytes", CTL_LINE_MAX);
		} else if (r <= 0) {
			return false; /* closed, idle too long, or we are stopping */
		} else {
			bool taken = false;
			resp = ctl_handle(c, line, len, fd, &taken);
			if (taken)
				return true;
			deadline = ctl_deadline_after(CTL_REQUEST_MS);
		}
		if (!resp) {
			ctl_log(c, "control: out of memory for a response");
			return false;
		}
		r = ctl_send_json(fd, resp);
		json_object_put(resp);
		if (r)
			return false;
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
			ctl_log(c, "control: poll: %s", strerror(errno));
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
			ctl_log(c, "control: accept: %s", strerror(errno));
			struct pollfd w = { c->wakefd, POLLIN, 0 };

			if (poll(&w, 1, 100) > 0)
				break;
			continue;
		}
		if (!ctl_serve(c, fd))
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
		ctl_log(c, "control: flock %s: %s", c->dir, strerror(errno));
	if (fstatat(c->dirfd, sock, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == c->dev && st.st_ino == c->ino &&
	    unlinkat(c->dirfd, sock, 0) < 0)
		ctl_log(c, "control: unlink %s/%s: %s", c->dir, sock, strerror(errno));
	if (flock(c->dirfd, LOCK_UN) < 0)
		ctl_log(c, "control: flock %s: %s", c->dir, strerror(errno));
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
	pthread_mutex_destroy(&c->mu);
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
	r = ctl_sock_addr(c->dirfd, c->dir, c->name, &sa);
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

static int ctl_start(struct domain *d, const char *name, const struct net_spec *net, uint64_t incoming_bytes,
		     struct control **out, char *err, size_t errlen)
{
	struct control *c;
	sigset_t all, old;
	int r;

	*out = NULL;
	if (!ctl_name_valid(name)) {
		snprintf(err, errlen, "bad domain name \"%s\": %s", name, ctl_bad_name_why);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->d = d;
	c->net = net;
	c->lfd = c->wakefd = -1;
	pthread_mutex_init(&c->mu, NULL);
	ctl_execs_init(&c->execs);
	c->incoming_bytes = incoming_bytes;
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
	/* The domain's guest must never reach these sockets (sock.c). */
	struct stat dst;
	if (d && fstat(c->dirfd, &dst) == 0) {
		d->deny_dev = dst.st_dev;
		d->deny_ino = dst.st_ino;
		d->deny_dir_set = true;
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
	 * and signals meant for the process are for the vCPU threads to take.
	 * SIGSYS stays open: blocked, seccomp's would kill without a word. */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
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
	*out = c;
	return 0;
fail:
	ctl_free(c);
	return r;
}

void control_stop(struct control *c)
{
	uint64_t one = 1;

	if (!c)
		return;
	/* The thread finishes the request at hand (a kill's answer still goes
	 * out), then sees the eventfd and returns. */
	if (write(c->wakefd, &one, sizeof(one)) != sizeof(one)) {
		/* Cannot happen for an eventfd at 0; if it did, the thread would
		 * still use c: leave it (and the socket) be rather than free it. */
		ctl_log(c, "control: waking the control thread: %s", strerror(errno));
		return;
	}
	pthread_join(c->thread, NULL);
	/* A snapshot or migration under way ends first (its answer goes out). */
	if (c->worker_started)
		pthread_join(c->worker, NULL);
	/* Exec sessions end with their processes, which the domain's end
	 * has ended (spawn_domain_ended): their last answers go out. */
	ctl_execs_wait(&c->execs);
	ctl_free(c);
}

int control_start(struct domain *d, const char *name, const struct net_spec *net, struct control **out,
		  char *err, size_t errlen)
{
	return ctl_start(d, name, net, 0, out, err, errlen);
}

int control_start_incoming(const char *name, uint64_t mem_bytes, struct control **out, char *err, size_t errlen)
{
	return ctl_start(NULL, name, NULL, mem_bytes, out, err, errlen);
}

int control_hook_start(struct domain *d, void *attach)
{
	struct control_attach *a = attach;
	char err[512] = "";
	const char *name = d->spec->name;
	int r = control_start(d, name, a->net, &a->ctl, err, sizeof(err));
	if (r == -EEXIST || r == -EINVAL) {
		fprintf(stderr, "pdvm: %s: %s\n", name, err);
		return EXIT_PDVM_ERROR;
	}
	if (r) {
		/* The program can run without it; only control is lost. */
		fprintf(stderr, "pdvm: %s: warning: no control socket (%s): pdvm list, pause and "
			"snapshot will not reach this domain\n", name, err);
		dom_log(d, "no control socket: %s", err);
	}
	return 0;
}

void control_hook_stop(struct domain *d, void *attach)
{
	struct control_attach *a = attach;
	(void)d;
	control_stop(a->ctl);
	a->ctl = NULL;
}
