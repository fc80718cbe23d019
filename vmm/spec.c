/* spec.c: a domain spec's name rules, its ulimit syntax, and its release. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "gfilter.h"

bool spec_name_char_ok(char ch, bool first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return !first && (ch == '_' || ch == '.' || ch == '-');
}

int spec_check_name(const char *s, char *why, size_t n)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++) {
		if (!spec_name_char_ok(s[i], i == 0)) {
			snprintf(why, n, "bad name \"%s\" (use letters, digits, '_', '.', '-'; "
				 "start with a letter or digit)", s);
			return -1;
		}
	}
	if (len == 0 || len > SPEC_NAME_MAX) {
		snprintf(why, n, "bad name \"%s\" (1 to %d characters)", s, SPEC_NAME_MAX);
		return -1;
	}
	return 0;
}

int spec_check_hostname(const char *s, char *why, size_t n)
{
	size_t len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') && ch != '-' &&
		    ch != '.' && ch != '_') {
			snprintf(why, n, "bad host name \"%s\" (use letters, digits, '-', '.', '_')", s);
			return -1;
		}
	}
	if (len == 0 || len > SPEC_HOSTNAME_MAX) {
		snprintf(why, n, "bad host name \"%s\" (1 to %d characters)", s, SPEC_HOSTNAME_MAX);
		return -1;
	}
	return 0;
}

static const char *const limit_names[SPEC_NLIMITS] = {
	"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
	"memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
};      /* in RLIMIT_* order */

static int limit_value(const char *s, size_t len, uint64_t *v)
{
	char buf[32], *end;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (!strcmp(buf, "unlimited") || !strcmp(buf, "-1")) {
		*v = ~0ULL;
		return 0;
	}
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

int spec_parse_ulimit(const char *s, int *res, uint64_t *cur, uint64_t *max, char *why, size_t n)
{
	const char *eq = strchr(s, '=');
	*res = -1;
	for (int i = 0; eq && i < SPEC_NLIMITS; i++)
		if (strlen(limit_names[i]) == (size_t)(eq - s) && !strncmp(s, limit_names[i], (size_t)(eq - s)))
			*res = i;
	if (*res < 0) {
		snprintf(why, n, "'%s': want NAME=SOFT[:HARD] with NAME one of cpu, fsize, data, stack, core, rss, "
			 "nproc, nofile, memlock, as, locks, sigpending, msgqueue, nice, rtprio, rttime", s);
		return -1;
	}
	const char *v = eq + 1, *colon = strchr(v, ':');
	if (limit_value(v, colon ? (size_t)(colon - v) : strlen(v), cur) ||
	    limit_value(colon ? colon + 1 : v, strlen(colon ? colon + 1 : v), max)) {
		snprintf(why, n, "'%s': want numbers or unlimited", s);
		return -1;
	}
	if (*cur > *max) {
		snprintf(why, n, "'%s': the soft limit is above the hard one", s);
		return -1;
	}
	return 0;
}

int spec_strv_push(char ***v, char *s)
{
	size_t k = 0;
	while (*v && (*v)[k])
		k++;
	char **n = realloc(*v, (k + 2) * sizeof(*n));
	if (!n)
		return -1;
	n[k] = s;
	n[k + 1] = NULL;
	*v = n;
	return 0;
}

void spec_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void spec_free(struct domain_spec *s)
{
	free(s->name);
	free(s->program);
	spec_strv_free(s->argv);
	spec_strv_free(s->envp);
	free(s->cwd);
	free(s->root);
	spec_strv_free(s->writable);
	free(s->log);
	free(s->hostname);
	free(s->trap_backend);
	gfilter_free(s->gfilter);
	spec_strv_free(s->tmpfs);
	memset(s, 0, sizeof(*s));
}
