/* test_config.c: unit tests for tools/config.c — sizes, domain.cfg parsing and errors, overrides, defaults. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/config.h"
#include "check.h"

static char dir[PATH_MAX];     /* a fresh directory under /tmp for the files */

/* Writes text to DIR/name and returns the path (static buffer). */
static const char *write_cfg(const char *name, const char *text)
{
	static char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

static size_t strv_count(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static void test_sizes(void)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "1048576", 1048576 }, { "4K", 4096 }, { "4k", 4096 },
		{ "512M", 512ULL << 20 }, { "512m", 512ULL << 20 }, { "2G", 2ULL << 30 },
		{ "1T", 1ULL << 40 }, { "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "M", "-1", "+5", " 5", "5 ", "12Q", "1.5G", "0x10", "5MB", "5MM",
		"18446744073709551616", "17179869184G", "99999999999999999999999K", NULL,
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		CHECK(config_parse_size(good[i].s, &v) == 0 && v == good[i].v,
		      "\"%s\" -> %llu", good[i].s, (unsigned long long)v);
	}
	for (size_t i = 0; bad[i]; i++) {
		v = 12345;
		CHECK(config_parse_size(bad[i], &v) == -1 && v == 12345,
		      "\"%s\" accepted as %llu", bad[i], (unsigned long long)v);
	}
	/* 16777215T is the largest T value that fits; one more overflows. */
	CHECK(config_parse_size("16777215T", &v) == 0 && v == 16777215ULL << 40, "16777215T");
	CHECK(config_parse_size("16777216T", &v) == -1, "16777216T overflows");
	CHECK(config_parse_size(NULL, &v) == -1, "NULL");
}

/* Loads text as NAME and expects an error containing every fragment. */
static void expect_error(const char *name, const char *text, const char *const frags[])
{
	struct domain_config c = { 0 };
	char err[1024] = "";
	const char *path = write_cfg(name, text);
	int r = config_load(&c, path, err, sizeof(err));

	CHECK(r == -1, "%s: loaded, expected an error", name);
	CHECK(!strncmp(err, path, strlen(path)), "%s: error does not name the file: %s", name, err);
	for (size_t i = 0; frags[i]; i++)
		CHECK(strstr(err, frags[i]), "%s: error lacks \"%s\": %s", name, frags[i], err);
	CHECK(c.dom.name == NULL && c.dom.argv == NULL, "%s: config not cleared after error", name);
	config_free(&c);
}

#define ERR(name, text, ...) expect_error(name, text, (const char *const[]){ __VA_ARGS__, NULL })

static void test_errors(void)
{
	ERR("syntax.cfg", "name = \"x\";\ncommand = [\"/bin/true\"]\nmemory = ;\n", ":3: ");
	ERR("unterminated.cfg", "name = \"x;\n", ".cfg:");
	ERR("unknown.cfg", "command = [\"/bin/true\"];\n\nmemroy = \"64M\";\n",
	    ":3: memroy: unknown key", "did you mean 'memory'");
	ERR("unknown2.cfg", "command = [\"/bin/true\"];\nnetwork = 1;\n", ":2: network: unknown key");
	ERR("badsize.cfg", "command = [\"/bin/true\"];\n\n\n\n\n\nmemory = \"12Q\";\n",
	    ":7: memory: bad size \"12Q\" (use e.g. 512M, 2G)");
	ERR("small.cfg", "command = [\"/bin/true\"];\nmemory = \"8M\";\n", ":2: memory: 8M is out of range");
	ERR("big.cfg", "command = [\"/bin/true\"];\nmemory = \"65G\";\n", ":2: memory: 65G is out of range");
	ERR("negmem.cfg", "command = [\"/bin/true\"];\nmemory = -5;\n", ":2: memory: ");
	ERR("floatmem.cfg", "command = [\"/bin/true\"];\nmemory = 1.5;\n", ":2: memory: want a size");
	ERR("type1.cfg", "command = \"/bin/true\";\n", ":1: command: want a list of strings");
	ERR("type2.cfg", "command = [\"/bin/true\"];\nname = 5;\n", ":2: name: want a string, got an integer");
	ERR("type3.cfg", "command = [\"/bin/true\"];\nverbose = \"yes\";\n", ":2: verbose: want true or false");
	/* [] arrays must be of one type (libconfig checks); () lists may mix. */
	ERR("type4.cfg", "command = [\"/bin/true\"];\nenv = [\"A=1\",\n 2];\n", ":3: ");
	ERR("type4b.cfg", "command = [\"/bin/true\"];\nenv = (\"A=1\",\n 2);\n",
	    ":3: env: element 2: want a string");
	ERR("type5.cfg", "command = [\"/bin/true\"];\nroot = [\"/\"];\n", ":2: root: want a string, got a list");
	ERR("both.cfg", "command = [\"/bin/true\"];\nprogram = \"/bin/false\";\n",
	    ":2: program: both 'command' and 'program'");
	ERR("cmdargs.cfg", "command = [\"/bin/true\"];\nargs = [\"x\"];\n", ":2: args: ");
	ERR("argsonly.cfg", "args = [\"x\"];\n", ":1: args: 'args' needs 'program'");
	ERR("none.cfg", "name = \"x\";\nmemory = \"64M\";\n", "no command");
	ERR("empty.cfg", "", "no command");
	ERR("emptycmd.cfg", "command = [];\n", ":1: command: empty");
	ERR("badenv.cfg", "command = [\"/bin/true\"];\nenv = [\"A=1\", \"NOEQUALS\"];\n",
	    ":2: env: bad entry \"NOEQUALS\"");
	ERR("badenv2.cfg", "command = [\"/bin/true\"];\nenv = [\"=x\"];\n", "env: bad entry");
	ERR("badname.cfg", "name = \"a b\";\ncommand = [\"/bin/true\"];\n", ":1: name: bad name \"a b\"");
	ERR("badname2.cfg", "name = \"-x\";\ncommand = [\"/bin/true\"];\n", ":1: name: bad name");
	ERR("badcwd.cfg", "command = [\"/bin/true\"];\ncwd = \"tmp\";\n", ":2: cwd: \"tmp\" is not an absolute path");
	ERR("badwr.cfg", "command = [\"/bin/true\"];\nwritable = [\"/tmp\", \"var\"];\n", ":2: writable: ");
	ERR("dup.cfg", "command = [\"/bin/true\"];\nname = \"a\";\nname = \"b\";\n", ":3: ");
	ERR("group.cfg", "command = [\"/bin/true\"];\nnet = { a = 1; };\n", ":2: a: unknown key in net");
	ERR("netmode.cfg", "command = [\"/bin/true\"];\nnet = { mode = \"bridge\"; };\n", ":2: net.mode: want host or netns");
	ERR("netpub.cfg", "command = [\"/bin/true\"];\nnet = { publish = [\"80\"]; };\n", ":2: net.publish: want HOSTPORT:DOMAINPORT");
	ERR("netpub2.cfg", "command = [\"/bin/true\"];\nnet = { publish = [\"8080:70000\"]; };\n", ":2: net.publish: ");
	ERR("netaddr.cfg", "command = [\"/bin/true\"];\nnet = { address = \"10.231.0.1\"; };\n", ":2: net.address: ");
	ERR("netstr.cfg", "command = [\"/bin/true\"];\nnet = \"netns\";\n", ":2: net: want a group");

	/* A missing file: FILE: strerror. */
	{
		struct domain_config c = { 0 };
		char err[1024] = "", path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/missing.cfg", dir);
		CHECK(config_load(&c, path, err, sizeof(err)) == -1, "missing file loaded");
		CHECK(strstr(err, "missing.cfg: No such file or directory"), "missing: %s", err);
		config_free(&c);
	}
}

static void test_good(void)
{
	struct domain_config c = { 0 };
	char err[1024] = "", sub[PATH_MAX + 16], *realsub;
	const char *path;

	/* Everything set; relative root and log resolve against the file's directory. */
	snprintf(sub, sizeof(sub), "%s/rootfs", dir);
	CHECK(mkdir(sub, 0755) == 0, "mkdir %s", sub);
	realsub = realpath(sub, NULL);
	path = write_cfg("full.cfg",
		"# a comment\n"
		"name = \"web-1\";\n"
		"program = \"/bin/busybox\";\n"
		"args = [\"sh\", \"-c\", \"echo hi\"];\n"
		"env = [\"A=1\", \"B=2\", \"A=3\"];\n"
		"cwd = \"/tmp\";\n"
		"root = \"rootfs\";\n"
		"writable = [\"/tmp\", \"/var/run\"];\n"
		"memory = \"64M\";\n"
		"log = \"logs/web.log\";\n"
		"net = { mode = \"netns\"; publish = [\"8080:80\", \"5353:53/udp\"]; address = \"10.231.0.7\"; };\n"
		"verbose = true;\n"
		"map_root_user = true;\n"
		"trace = \"traces/web\";\n");
	CHECK(config_load(&c, path, err, sizeof(err)) == 0, "full.cfg: %s", err);
	CHECK(c.dom.name && !strcmp(c.dom.name, "web-1"), "name %s", c.dom.name);
	CHECK(c.dom.program && !strcmp(c.dom.program, "/bin/busybox"), "program %s", c.dom.program);
	CHECK(strv_count(c.dom.argv) == 4 && !strcmp(c.dom.argv[0], "/bin/busybox") &&
	      !strcmp(c.dom.argv[1], "sh") && !strcmp(c.dom.argv[3], "echo hi"), "argv");
	CHECK(strv_count(c.dom.envp) == 2 && !strcmp(c.dom.envp[0], "A=3") && !strcmp(c.dom.envp[1], "B=2"),
	      "env list is the whole environment, later duplicate wins");
	CHECK(c.dom.cwd && !strcmp(c.dom.cwd, "/tmp"), "cwd %s", c.dom.cwd);
	CHECK(c.net.mode && !strcmp(c.net.mode, "netns") && strv_count(c.net.publish) == 2 &&
	      !strcmp(c.net.publish[1], "5353:53/udp") && c.net.address && !strcmp(c.net.address, "10.231.0.7"), "net group");
	CHECK(c.dom.root && realsub && !strcmp(c.dom.root, realsub), "root %s, want %s", c.dom.root, realsub);
	CHECK(strv_count(c.dom.writable) == 2 && !strcmp(c.dom.writable[1], "/var/run"), "writable");
	CHECK(c.dom.memory == 64ULL << 20, "memory %llu", (unsigned long long)c.dom.memory);
	CHECK(c.dom.log && c.dom.log[0] == '/' && strstr(c.dom.log, "/logs/web.log"), "log %s", c.dom.log);
	CHECK(c.dom.verbose, "verbose");
	CHECK(c.dom.map_root, "map_root_user");
	CHECK(c.trace && c.trace[0] == '/' && strstr(c.trace, "/traces/web"), "trace relative to the file: %s", c.trace);
	config_defaults(&c);
	CHECK(strv_count(c.dom.envp) == 2, "defaults must not add to an explicit env");
	CHECK(!strcmp(c.dom.log + strlen(c.dom.log) - 12, "logs/web.log"), "log kept %s", c.dom.log);
	config_free(&c);
	CHECK(c.dom.name == NULL && c.dom.envp == NULL, "config_free clears");

	/* Minimal file: name from the file name, defaults everywhere else. */
	path = write_cfg("my-app.cfg", "command = [\"/bin/busybox\", \"echo\", \"hi\"];\n");
	CHECK(config_load(&c, path, err, sizeof(err)) == 0, "my-app.cfg: %s", err);
	CHECK(c.dom.name && !strcmp(c.dom.name, "my-app"), "name from file: %s", c.dom.name);
	CHECK(!strcmp(c.dom.program, "/bin/busybox") && strv_count(c.dom.argv) == 3, "command");
	CHECK(c.dom.envp == NULL && c.dom.memory == 0, "unset before defaults");
	config_defaults(&c);
	CHECK(strv_count(c.dom.envp) == 2 && !strncmp(c.dom.envp[0], "PATH=/usr/local/sbin:", 21) &&
	      !strcmp(c.dom.envp[1], "HOME=/"), "default env");
	CHECK(!strcmp(c.dom.cwd, "/") && !strcmp(c.dom.root, "/"), "default cwd/root");
	CHECK(c.dom.writable && c.dom.writable[0] == NULL, "default writable is an empty list");
	CHECK(c.dom.memory == 512ULL << 20, "default memory");
	CHECK(!strcmp(c.dom.log, "/var/log/pdvm/my-app.log"), "default log %s", c.dom.log);
	CHECK(!c.dom.verbose, "verbose default");
	CHECK(!c.dom.map_root, "map_root_user default: the host's ids");

	/* Command-line overrides. */
	CHECK(config_set(&c, "memory", "1G", err, sizeof(err)) == 0 && c.dom.memory == 1ULL << 30, "set memory");
	CHECK(config_set(&c, "memory", "12Q", err, sizeof(err)) == -1 &&
	      !strcmp(err, "memory: bad size \"12Q\" (use e.g. 512M, 2G)"), "set bad memory: %s", err);
	CHECK(config_set(&c, "env", "HOME=/root", err, sizeof(err)) == 0 &&
	      strv_count(c.dom.envp) == 2 && !strcmp(c.dom.envp[1], "HOME=/root"), "env override");
	CHECK(config_set(&c, "env", "X=1", err, sizeof(err)) == 0 && strv_count(c.dom.envp) == 3, "env add");
	CHECK(config_set(&c, "env", "X", err, sizeof(err)) == -1, "env without =");
	CHECK(config_set(&c, "writable", "/a", err, sizeof(err)) == 0 &&
	      config_set(&c, "writable", "/b", err, sizeof(err)) == 0 &&
	      strv_count(c.dom.writable) == 2, "writable appends");
	CHECK(config_set(&c, "name", "x/y", err, sizeof(err)) == -1 && !strncmp(err, "name: bad name", 14),
	      "bad name: %s", err);
	CHECK(config_set(&c, "cwd", "rel", err, sizeof(err)) == -1, "relative cwd");
	CHECK(config_set(&c, "program", "/x", err, sizeof(err)) == -1, "program is not an override");
	CHECK(!c.dom.trap_backend, "trap_backend default is auto (unset)");
	CHECK(config_set(&c, "trap_backend", "ring0", err, sizeof(err)) == 0 && !strcmp(c.dom.trap_backend, "ring0"),
	      "trap_backend ring0");
	CHECK(config_set(&c, "trap_backend", "auto", err, sizeof(err)) == 0 && !c.dom.trap_backend,
	      "trap_backend auto clears it");
	CHECK(config_set(&c, "trap_backend", "kvm", err, sizeof(err)) == -1 &&
	      !strcmp(err, "trap_backend: want auto, pvm or ring0, got 'kvm'"), "bad trap_backend: %s", err);
	config_free(&c);

	path = write_cfg("trap.cfg", "command = [\"/x\"];\ntrap_backend = \"pvm\";\n");
	CHECK(config_load(&c, path, err, sizeof(err)) == 0 && c.dom.trap_backend && !strcmp(c.dom.trap_backend, "pvm"),
	      "trap_backend from the file: %s", err);
	config_free(&c);
	path = write_cfg("trapbad.cfg", "command = [\"/x\"];\ntrap_backend = \"fast\";\n");
	CHECK(config_load(&c, path, err, sizeof(err)) == -1 && strstr(err, "trap_backend") && strstr(err, ":2:"),
	      "bad trap_backend in the file names the line: %s", err);
	config_free(&c);

	/* Integer memory (int and int64), page rounding, memory as a string of bytes. */
	path = write_cfg("intmem.cfg", "command = [\"/x\"];\nmemory = 33554433;\n");
	CHECK(config_load(&c, path, err, sizeof(err)) == 0 && c.dom.memory == (32ULL << 20) + 4096,
	      "int memory rounded up: %llu %s", (unsigned long long)c.dom.memory, err);
	config_free(&c);
	path = write_cfg("int64mem.cfg", "command = [\"/x\"];\nmemory = 8589934592L;\n");
	CHECK(config_load(&c, path, err, sizeof(err)) == 0 && c.dom.memory == 8ULL << 30,
	      "int64 memory: %llu %s", (unsigned long long)c.dom.memory, err);
	config_free(&c);

	/* program without args: argv is just the program. A name the file name
	 * cannot give (bad characters) is sanitized. */
	path = write_cfg("odd name!.cfg", "program = \"/bin/true\";\n");
	CHECK(config_load(&c, path, err, sizeof(err)) == 0, "odd name: %s", err);
	CHECK(strv_count(c.dom.argv) == 1 && !strcmp(c.dom.argv[0], "/bin/true"), "argv[0] = program");
	CHECK(c.dom.name && !strcmp(c.dom.name, "odd_name_"), "sanitized name %s", c.dom.name);
	config_free(&c);

	/* The -- form: defaults derive the name from the program. */
	c.dom.program = strdup("/usr/bin/my.tool");
	config_defaults(&c);
	CHECK(!strcmp(c.dom.name, "my.tool") && strv_count(c.dom.argv) == 1, "name from program %s", c.dom.name);
	CHECK(!strcmp(c.dom.log, "/var/log/pdvm/my.tool.log"), "log %s", c.dom.log);
	config_free(&c);

	/* env from the command line on an empty config starts from the defaults. */
	CHECK(config_set(&c, "env", "Z=9", err, sizeof(err)) == 0 && strv_count(c.dom.envp) == 3, "env on defaults");
	config_free(&c);
	free(realsub);
}

/* The identity: syntax at config_set, meaning at config_resolve_user. */
static void test_user(void)
{
	char err[256];
	static const char *const bad[] = { "", "-x", "4294967295", "12:", "12:x", "a b", "x/y",
		"an-account-name-longer-than-32-chars", NULL };
	for (int i = 0; bad[i]; i++) {
		struct domain_config c = { 0 };
		CHECK(config_set(&c, "user", bad[i], err, sizeof(err)) == -1 && strstr(err, "user:"),
		      "bad user '%s' accepted", bad[i]);
		config_free(&c);
	}
	struct domain_config c = { 0 };
	CHECK(config_set(&c, "user", "123:456", err, sizeof(err)) == 0 &&
	      config_resolve_user(&c, err, sizeof(err)) == 0, "123:456: %s", err);
	if (geteuid() == 0) {
		CHECK(c.dom.cred.uid == 123 && c.dom.cred.gid == 456 && !c.dom.cred.as_root && !c.dom.cred.own, "123:456 resolved");
		CHECK(config_set(&c, "user", "root", err, sizeof(err)) == 0 &&
		      config_resolve_user(&c, err, sizeof(err)) == 0 && c.dom.cred.as_root && c.dom.cred.uid == 0 &&
		      c.dom.cred.gid == 0, "root is the opt-in");
		CHECK(config_set(&c, "user", "0:1000", err, sizeof(err)) == 0 &&
		      config_resolve_user(&c, err, sizeof(err)) == 0 && c.dom.cred.as_root && c.dom.cred.gid == 0,
		      "uid 0 is root whatever the group");
		CHECK(config_set(&c, "user", "no-such-account-anywhere", err, sizeof(err)) == 0 &&
		      config_resolve_user(&c, err, sizeof(err)) == -1 && strstr(err, "no account"),
		      "an unknown account: %s", err);
		CHECK(config_set(&c, "user", "nobody", err, sizeof(err)) == 0 &&
		      config_resolve_user(&c, err, sizeof(err)) == 0 && c.dom.cred.uid == 65534, "nobody by name");
	} else {
		CHECK(c.dom.cred.own && c.dom.cred.uid == geteuid(), "unprivileged: own identity");
	}
	CHECK(config_set(&c, "abstract_unix", "host", err, sizeof(err)) == 0 && c.dom.abstract_host &&
	      config_set(&c, "abstract_unix", "own", err, sizeof(err)) == 0 && !c.dom.abstract_host &&
	      config_set(&c, "abstract_unix", "all", err, sizeof(err)) == -1, "abstract_unix");
	config_free(&c);
}

int main(void)
{
	test_user();
	char cmd[PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "/tmp/pdvm-test-config.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_sizes();
	test_errors();
	test_good();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("warning: could not remove %s\n", dir);
	printf("test_config: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
