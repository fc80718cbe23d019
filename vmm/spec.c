/* spec.c: a domain spec's name rule and its release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

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
	memset(s, 0, sizeof(*s));
}
