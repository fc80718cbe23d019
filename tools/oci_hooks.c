/* oci_hooks.c: config.json's hooks — checked when the bundle is read, run by pdvm-oci at their points of a container's life with its state on stdin. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "oci_hooks.h"

static const char *const stages[] = { "prestart", "createRuntime", "createContainer", "startContainer",
				      "poststart", "poststop", NULL };

static int bad(char *err, size_t n, const char *stage, size_t i, const char *field, const char *why)
{
	snprintf(err, n, "config.json: hooks.%s[%zu]%s%s: %s", stage, i, *field ? "." : "", field, why);
	return -1;
}

static bool strings(struct json_object *a, bool kv)
{
	if (!json_object_is_type(a, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *s = json_object_array_get_idx(a, i);
		if (!json_object_is_type(s, json_type_string))
			return false;
		const char *v = json_object_get_string(s);
		if (kv && (!strchr(v, '=') || v[0] == '='))
			return false;
	}
	return true;
}

int oci_hooks_check(struct json_object *hooks, char *err, size_t n)
{
	if (!json_object_is_type(hooks, json_type_object)) {
		snprintf(err, n, "config.json: hooks: want an object");
		return -1;
	}
	json_object_object_foreach(hooks, stage, list) {
		bool known = false;
		for (int s = 0; stages[s] && !known; s++)
			known = !strcmp(stage, stages[s]);
		if (!known) {
			snprintf(err, n, "config.json: hooks.%s: not a hook of the runtime spec", stage);
			return -1;
		}
		if (!json_object_is_type(list, json_type_array)) {
			snprintf(err, n, "config.json: hooks.%s: want an array of hooks", stage);
			return -1;
		}
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *h = json_object_array_get_idx(list, i), *v;
			if (!json_object_is_type(h, json_type_object))
				return bad(err, n, stage, i, "", "want an object");
			json_object_object_foreach(h, key, val) {
				(void)val;
				if (strcmp(key, "path") && strcmp(key, "args") && strcmp(key, "env") && strcmp(key, "timeout"))
					return bad(err, n, stage, i, key, "unknown field");
			}
			if (!json_object_object_get_ex(h, "path", &v) || !json_object_is_type(v, json_type_string) ||
			    json_object_get_string(v)[0] != '/')
				return bad(err, n, stage, i, "path", "want an absolute path");
			if (json_object_object_get_ex(h, "args", &v) && !strings(v, false))
				return bad(err, n, stage, i, "args", "want an array of strings");
			if (json_object_object_get_ex(h, "env", &v) && !strings(v, true))
				return bad(err, n, stage, i, "env", "want an array of KEY=VALUE strings");
			if (json_object_object_get_ex(h, "timeout", &v) &&
			    (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0 ||
			     json_object_get_int64(v) > 86400))
				return bad(err, n, stage, i, "timeout", "want seconds, from 1 to 86400");
		}
	}
	return 0;
}

/* A NULL-terminated copy of an array of strings (NULL: an empty one). */
static char **vec(struct json_object *a, const char *first)
{
	size_t n = a ? json_object_array_length(a) : 0;
	char **v = calloc(n + 2, sizeof(char *));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = (char *)json_object_get_string(json_object_array_get_idx(a, i));
	if (!n && first)
		v[0] = (char *)first;
	return v;
}

/* One hook: fork, the state on a pipe to its stdin, wait with its
 * timeout. 0, or -1 with why in err. */
static int run_one(struct json_object *h, const char *state, int netns_fd, char *why, size_t n)
{
	struct json_object *v;
	const char *path = json_object_get_string(json_object_object_get(h, "path"));
	long timeout = json_object_object_get_ex(h, "timeout", &v) ? (long)json_object_get_int64(v) : 0;
	char **argv = vec(json_object_object_get(h, "args"), path);
	char **envp = vec(json_object_object_get(h, "env"), NULL);
	int in[2];
	if (!argv || !envp || pipe2(in, O_CLOEXEC)) {
		snprintf(why, n, "%s", argv && envp ? strerror(errno) : "out of memory");
		free(argv);
		free(envp);
		return -1;
	}
	fflush(NULL);
	pid_t c = fork();
	if (c == 0) {
		if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET))
			_exit(126);
		dup2(in[0], 0);
		signal(SIGPIPE, SIG_DFL);
		execve(path, argv, envp);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(in[0]);
	free(argv);
	free(envp);
	if (c < 0) {
		snprintf(why, n, "fork: %s", strerror(errno));
		close(in[1]);
		return -1;
	}
	/* A hook that does not read its stdin must not block us. */
	signal(SIGPIPE, SIG_IGN);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	if (write(in[1], state, strlen(state)) < 0 && errno != EPIPE && errno != EAGAIN)
		snprintf(why, n, "writing its state: %s", strerror(errno));
	close(in[1]);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int st = 0;
	for (;;) {
		pid_t w = waitpid(c, &st, timeout ? WNOHANG : 0);
		if (w == c)
			break;
		if (w < 0 && errno != EINTR) {
			snprintf(why, n, "waitpid: %s", strerror(errno));
			return -1;
		}
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (timeout && t.tv_sec - t0.tv_sec >= timeout) {
			kill(c, SIGKILL);
			waitpid(c, NULL, 0);
			snprintf(why, n, "timed out after %ld s (killed)", timeout);
			return -1;
		}
		usleep(10 * 1000);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		snprintf(why, n, "exit status %d%s", WEXITSTATUS(st),
			 WEXITSTATUS(st) == 127 ? " (not found?)" : WEXITSTATUS(st) == 126 ? " (cannot run?)" : "");
	else
		snprintf(why, n, "killed by signal %d", WTERMSIG(st));
	return -1;
}

int oci_hooks_run(const char *hooks_json, const char *stage, const char *id, const char *status, pid_t pid,
		  const char *bundle, const char *annotations, int netns_fd, char *err, size_t n)
{
	if (!hooks_json)
		return 0;
	struct json_object *hooks = json_tokener_parse(hooks_json), *list;
	if (!hooks || !json_object_object_get_ex(hooks, stage, &list)) {
		json_object_put(hooks);
		return 0;
	}
	/* The state, as `state` prints it (the runtime spec's state). */
	struct json_object *s = json_object_new_object();
	json_object_object_add(s, "ociVersion", json_object_new_string("1.1.0"));
	json_object_object_add(s, "id", json_object_new_string(id));
	json_object_object_add(s, "status", json_object_new_string(status));
	json_object_object_add(s, "pid", json_object_new_int(pid));
	json_object_object_add(s, "bundle", json_object_new_string(bundle));
	struct json_object *ann = annotations ? json_tokener_parse(annotations) : NULL;
	json_object_object_add(s, "annotations", ann ? ann : json_object_new_object());
	const char *state = json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN);
	int r = 0;
	for (size_t i = 0; i < json_object_array_length(list) && !r; i++) {
		struct json_object *h = json_object_array_get_idx(list, i);
		char why[256] = "";
		if ((r = run_one(h, state, netns_fd, why, sizeof(why))))
			snprintf(err, n, "hooks.%s[%zu] (%s): %s", stage, i,
				 json_object_get_string(json_object_object_get(h, "path")), why);
	}
	json_object_put(s);
	json_object_put(hooks);
	return r;
}
