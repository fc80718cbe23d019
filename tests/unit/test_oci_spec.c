/* test_oci_spec.c: unit tests for tools/oci_spec.c — a bundle's config.json to a domain.cfg (read back by tools/config.c), each refused field named, and podman 4.3.1's generated config taken whole. */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/config.h"
#include "tools/oci_spec.h"
#include "check.h"

static char dir[PATH_MAX];     /* the bundle: DIR/config.json, DIR/rootfs */

static void write_json(struct json_object *o)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PLAIN)) {
		perror(path);
		exit(1);
	}
}

static struct json_object *base(void)
{
	return json_tokener_parse(
		"{ \"ociVersion\": \"1.0.2\","
		"  \"process\": { \"args\": [\"/bin/sh\", \"-c\", \"echo 'quoted' \\\"too\\\"\"], \"env\": [\"PATH=/bin\", \"A=b=c\"],"
		"                 \"cwd\": \"/tmp\", \"user\": { \"uid\": 0, \"gid\": 0, \"umask\": 18 }, \"noNewPrivileges\": true,"
		"                 \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"soft\": 512, \"hard\": 2048 } ] },"
		"  \"root\": { \"path\": \"rootfs\" }, \"hostname\": \"box-1\","
		"  \"mounts\": [ { \"destination\": \"/proc\", \"type\": \"proc\" },"
		"              { \"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/etc\", \"options\": [\"rbind\", \"ro\", \"nosuid\"] },"
		"              { \"destination\": \"/etc/hosts\", \"type\": \"bind\", \"source\": \"/etc/hosts\", \"options\": [\"bind\", \"rprivate\"] },"
		"              { \"destination\": \"/run\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"] } ],"
		"  \"linux\": { \"namespaces\": [ { \"type\": \"pid\" } ], \"maskedPaths\": [\"/proc/kcore\", \"/proc/acpi\"], \"readonlyPaths\": [\"/proc/sys\"], \"resources\": { \"memory\": { \"limit\": 67108864 } } } }");
}

/* Loads the bundle; the error (or "" when it loaded). */
static const char *load(struct oci_spec *s)
{
	static char err[512];
	err[0] = 0;
	if (oci_spec_load(dir, s, err, sizeof(err)) == 0)
		return "";
	return err;
}

static void test_good(void)
{
	struct json_object *o = base();
	struct oci_spec s;
	write_json(o);
	const char *e = load(&s);
	CHECK(!*e, "%s", e);
	if (*e) {
		json_object_put(o);
		return;
	}
	CHECK(!strcmp(s.args[0], "/bin/sh") && !strcmp(s.args[2], "echo 'quoted' \"too\""));
	CHECK(!s.readonly && !s.user_set && s.memory == 64ULL << 20);
	CHECK(!strcmp(s.annotations, "{}"), "%s", s.annotations);
	/* The domain.cfg it writes reads back through tools/config.c. */
	char cfg[PATH_MAX + 16], err[512];
	snprintf(cfg, sizeof(cfg), "%s/domain.cfg", dir);
	CHECK(oci_spec_write_cfg(&s, "box1", cfg, err, sizeof(err)) == 0, "%s", err);
	struct domain_config c = { 0 };
	CHECK(config_load(&c, cfg, err, sizeof(err)) == 0, "%s", err);
	CHECK(c.dom.name && !strcmp(c.dom.name, "box1"));
	CHECK(c.dom.argv && !strcmp(c.dom.argv[2], "echo 'quoted' \"too\""), "%s", c.dom.argv ? c.dom.argv[2] : "");
	CHECK(c.dom.envp && !strcmp(c.dom.envp[1], "A=b=c") && !c.dom.envp[2]);
	CHECK(c.dom.cwd && !strcmp(c.dom.cwd, "/tmp"));
	CHECK(c.dom.writable && !strcmp(c.dom.writable[0], "/"));
	CHECK(c.dom.memory == 64ULL << 20);
	CHECK(c.dom.hostname && !strcmp(c.dom.hostname, "box-1"));
	CHECK(c.dom.rlimit_set == 1u << 7 && c.dom.rlimit_cur[7] == 512 && c.dom.rlimit_max[7] == 2048);
	CHECK(!c.user, "uid 0 must stay pdvm's account, got %s", c.user);
	CHECK(c.masked && !strcmp(c.masked[1], "/proc/acpi") && !c.masked[2] && c.rdonly &&
	      !strcmp(c.rdonly[0], "/proc/sys"));
	CHECK(c.tmpfs_mounts && !strcmp(c.tmpfs_mounts[0], "/run:nosuid,strictatime,mode=755,size=65536k") &&
	      !c.tmpfs_mounts[1], "tmpfs %s", c.tmpfs_mounts ? c.tmpfs_mounts[0] : "(none)");
	/* Bind mounts are volumes, read-only where the options say so. */
	CHECK(c.volumes && c.volumes[0] && !strcmp(c.volumes[0], "/etc:/data:ro") && c.volumes[1] &&
	      !strcmp(c.volumes[1], "/etc/hosts:/etc/hosts") && !c.volumes[2], "volumes %s",
	      c.volumes && c.volumes[0] ? c.volumes[0] : "(none)");
	config_free(&c);
	oci_spec_free(&s);

	/* A user other than root is the host identity; read-only root. */
	json_object_object_add(json_object_object_get(json_object_object_get(o, "process"), "user"), "uid",
			       json_object_new_int(1234));
	json_object_object_add(json_object_object_get(o, "root"), "readonly", json_object_new_boolean(1));
	write_json(o);
	e = load(&s);
	CHECK(!*e, "%s", e);
	if (!*e) {
		CHECK(s.user_set && s.uid == 1234 && s.gid == 0 && s.readonly);
		CHECK(oci_spec_write_cfg(&s, "box2", cfg, err, sizeof(err)) == 0, "%s", err);
		struct domain_config c2 = { 0 };
		CHECK(config_load(&c2, cfg, err, sizeof(err)) == 0, "%s", err);
		CHECK(c2.user && !strcmp(c2.user, "1234:0"), "%s", c2.user);
		CHECK(!c2.dom.writable);
		config_free(&c2);
		oci_spec_free(&s);
	}
	json_object_put(o);
}

/* One change to the base config, and the field the error must name. */
static void refused(const char *patch_path, const char *json, const char *field)
{
	struct json_object *o = base(), *at = o;
	char p[128], *save, *tok;
	snprintf(p, sizeof(p), "%s", patch_path);
	char *last = strrchr(p, '.');
	if (last) {
		*last++ = 0;
		for (tok = strtok_r(p, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
			at = json_object_object_get(at, tok);
	} else {
		last = p;
	}
	json_object_object_add(at, last, json_tokener_parse(json));
	write_json(o);
	struct oci_spec s;
	const char *e = load(&s);
	CHECK(*e && strstr(e, field), "patch %s = %s: want an error naming %s, got '%s'", patch_path, json, field, e);
	if (!*e)
		oci_spec_free(&s);
	json_object_put(o);
}

static void test_refused(void)
{
	refused("ociVersion", "\"2.0.0\"", "ociVersion");
	refused("process.args", "[]", "process.args");
	refused("process.args", "[\"/bin/sh\", 3]", "process.args");
	refused("process.env", "[\"NOEQUALS\"]", "process.env");
	refused("process.cwd", "\"tmp\"", "process.cwd");
	refused("process.consoleSize", "{\"height\": 70000, \"width\": 80}", "process.consoleSize");
	refused("process.user.uid", "-1", "process.user");
	refused("process.user.umask", "63", "process.user.umask");
	refused("process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1, \"soft\": 2}]", "process.rlimits[0]");
	refused("process.rlimits", "[{\"type\": \"RLIMIT_FOO\", \"hard\": 1, \"soft\": 1}]", "process.rlimits[0]");
	refused("root.path", "\"missing\"", "root.path");
	refused("hostname", "\"box/1\"", "hostname");
	refused("hooks", "{\"prestart\": [{\"path\": \"true\"}]}", "hooks.prestart[0].path");
	refused("hooks", "{\"poststop\": [{\"path\": \"/bin/true\", \"timeout\": 0}]}", "hooks.poststop[0].timeout");
	refused("hooks", "{\"poststop\": [{\"path\": \"/bin/true\", \"env\": [\"NOEQ\"]}]}", "hooks.poststop[0].env");
	refused("hooks", "{\"onStart\": []}", "hooks.onStart");
	refused("mounts", "[{\"destination\": \"/data\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"huge=always\"]}]", "mounts[0]");
	refused("mounts", "[{\"destination\": \"/data\", \"type\": \"nfs\", \"source\": \"srv:/x\"}]", "mounts[0]");
	refused("mounts", "[{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"etc\"}]", "mounts[0]");
	refused("mounts", "[{\"destination\": \"/a/../b\", \"type\": \"bind\", \"source\": \"/etc\"}]", "mounts[0]");
	refused("mounts", "[{\"destination\": \"/\", \"type\": \"bind\", \"source\": \"/etc\"}]", "mounts[0]");
	refused("mounts", "[{\"destination\": \"/p\", \"type\": \"bind\", \"source\": \"/etc\", \"options\": [\"noexec\"]}]",
		"mounts[0].options[0]");
	refused("linux.namespaces", "[{\"type\": \"network\", \"path\": \"run/netns/x\"}]", "linux.namespaces[0]");
	refused("linux.namespaces", "[{\"type\": \"user\"}]", "linux.namespaces[0]");
	refused("linux.resources.memory", "{\"limit\": 1000}", "linux.resources.memory.limit");
	refused("linux.resources.devices", "[{\"allow\": true, \"access\": \"rwm\"}]", "linux.resources.devices[0]");
	refused("linux.resources.devices", "[{\"allow\": false}, {\"allow\": true, \"type\": \"b\", \"major\": 8, \"minor\": 0}]",
		"linux.resources.devices[1]");
	refused("linux.resources.devices", "[{\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 1}]",
		"linux.resources.devices[0]");  /* /dev/mem */
	refused("linux.resources.cpu", "{\"shares\": 512}", "linux.resources.cpu.shares");
	refused("linux.resources.cpu", "{\"quota\": 50000}", "linux.resources.cpu.quota");
	refused("linux.seccomp", "{}", "linux.seccomp.defaultAction");
	refused("linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
		"linux.seccomp.syscalls[0].action");
	refused("linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_AARCH64\"]}",
		"linux.seccomp.architectures");
	refused("linux.maskedPaths", "[\"proc/kcore\"]", "linux.maskedPaths");
	refused("linux.readonlyPaths", "[\"/proc/../etc\"]", "linux.readonlyPaths");
	refused("vm", "{}", "vm");
	refused("process.capabilities", "{\"bounding\": [\"CAP_KILL\", \"CAP_SYS_ADMIN\"]}", "process.capabilities.bounding");
	refused("process.capabilities", "{\"effective\": [\"CAP_NET_ADMIN\"]}", "process.capabilities.effective");
	refused("linux.sysctl", "{\"kernel.shmmax\": \"1\"}", "linux.sysctl.kernel.shmmax");
	refused("linux.sysctl", "{\"net.ipv4.ip_forward\": \"1\"}", "linux.sysctl.net.ipv4.ip_forward"); /* no netns path */
	refused("linux.namespaces", "[{\"type\": \"ipc\", \"path\": \"/proc/1/ns/ipc\"}]", "linux.namespaces[0]");
	refused("linux.resources.pids", "{\"limit\": \"many\"}", "linux.resources.pids.limit");
}

/* containerd 1.6.20's config.json for `ctr run` (captured here; its
 * runc shim execs pdvm-oci): a device allow list, cpu shares, a /run tmpfs,
 * root's supplementary groups. It loads whole. */
static void test_containerd(void)
{
	struct json_object *o = json_object_from_file("tests/fixtures/oci/containerd-1.6.20-config.json");
	CHECK(o != NULL, "tests/fixtures/oci/containerd-1.6.20-config.json: %s", json_util_get_last_err());
	if (!o)
		return;
	write_json(o);
	json_object_put(o);
	struct oci_spec s;
	const char *e = load(&s);
	CHECK(!*e, "containerd's config: %s", e);
	if (!*e) {
		CHECK(s.container_fs && s.new_netns && s.tmpfs && !strncmp(s.tmpfs[0], "/run:", 5) && s.gids_not_held &&
		      s.notice && strstr(s.notice, "additionalGids"));
		oci_spec_free(&s);
	}
}

/* A network namespace without a path is an empty one of the container's
 * own, where its net.* sysctls go. */
static void test_new_netns(void)
{
	struct json_object *o = base();
	json_object_object_add(json_object_object_get(o, "linux"), "namespaces",
			       json_tokener_parse("[{\"type\": \"network\"}]"));
	json_object_object_add(json_object_object_get(o, "linux"), "sysctl",
			       json_tokener_parse("{\"net.ipv4.ping_group_range\": \"0 0\"}"));
	write_json(o);
	struct oci_spec s;
	const char *e = load(&s);
	CHECK(!*e, "%s", e);
	if (!*e) {
		CHECK(s.new_netns && !s.netns && s.sysctl && !strcmp(s.sysctl[0], "net.ipv4.ping_group_range=0 0"));
		oci_spec_free(&s);
	}
	json_object_put(o);
}

/* podman 4.3.1's config.json for `podman run IMAGE sh -c ...` (captured on
 * a machine of this project, tests/fixtures/oci) loads whole: each of its
 * fields honoured as the manual says. */
static void test_podman(void)
{
	struct json_object *o = json_object_from_file("tests/fixtures/oci/podman-4.3.1-config.json");
	CHECK(o != NULL, "tests/fixtures/oci/podman-4.3.1-config.json: %s", json_util_get_last_err());
	if (!o)
		return;
	json_object_object_add(json_object_object_get(o, "root"), "path", json_object_new_string("rootfs"));
	struct oci_spec s;
	write_json(o);
	const char *e = load(&s);
	CHECK(!*e, "podman's config: %s", e);
	if (!*e) {
		/* Its network namespace joined, the sysctl set there, the
		 * capabilities taken as not held (and said), binds as volumes. */
		CHECK(s.netns && !strcmp(s.netns, "/run/netns/netns-NETNS"), "%s", s.netns);
		CHECK(s.sysctl && s.sysctl[0] && !strcmp(s.sysctl[0], "net.ipv4.ping_group_range=0 0") && !s.sysctl[1]);
		CHECK(s.notice && strstr(s.notice, "process.capabilities"));
		CHECK(s.seccomp && strstr(s.seccomp, "SCMP_ACT_ERRNO"));
		CHECK(s.pids == 2048 && s.volumes && s.volumes[3] && strstr(s.volumes[3], ":/etc/hostname") &&
		      !s.volumes[4], "pids %lld", (long long)s.pids);
		oci_spec_free(&s);
	}
	json_object_put(o);
}

/* What podman 4.3.1 hands a runtime's exec --process (captured here): the
 * engine's capabilities taken as not held, the rest as asked; a process
 * with a capability beyond them refused, naming the field. */
static void test_exec_process(void)
{
	struct oci_spec s;
	char err[512], path[PATH_MAX + 32];
	const char *f = "tests/fixtures/oci/podman-4.3.1-exec-process.json";
	int r = oci_spec_load_process(f, &s, err, sizeof(err));
	CHECK(r == 0, "%s: %s", f, err);
	if (!r) {
		CHECK(s.args && !strcmp(s.args[0], "sh") && s.args[2] && !s.args[3]);
		CHECK(s.env && !strcmp(s.env[3], "A=b") && s.cwd && !strcmp(s.cwd, "/bin") && !s.user_set);
		CHECK(s.ulimits && s.ulimits[0] && s.ulimits[1] && !s.ulimits[2]);
		CHECK(s.notice && strstr(s.notice, "process.capabilities"));
		oci_spec_free(&s);
	}
	struct json_object *o = json_object_from_file(f);
	struct json_object *caps = json_object_object_get(o, "capabilities");
	json_object_array_add(json_object_object_get(caps, "effective"), json_object_new_string("CAP_SYS_ADMIN"));
	snprintf(path, sizeof(path), "%s/process.json", dir);
	json_object_to_file(path, o);
	json_object_put(o);
	r = oci_spec_load_process(path, &s, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "process.capabilities.effective") && strstr(err, "CAP_SYS_ADMIN"), "%s", err);
	r = oci_spec_load_process("/nonexistent/process.json", &s, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "/nonexistent/process.json"), "%s", err);
}

int main(void)
{
	char cmd[PATH_MAX + 16], root[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "/tmp/pdvm-test-oci.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(root, sizeof(root), "%s/rootfs", dir);
	mkdir(root, 0755);
	test_good();
	test_refused();
	test_new_netns();
	test_podman();
	test_containerd();
	test_exec_process();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("warning: could not remove %s\n", dir);
	printf("test_oci_spec: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
