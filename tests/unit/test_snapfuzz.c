/* test_snapfuzz.c: builds a snapshot image without KVM, checks restore accepts it, then mutates it 2,400 times (bit flips, truncation, section swaps, hand edits with fixed checksums) and checks every restore check ends cleanly. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/config.h"
#include "vmm/domain.h"
#include "vmm/files.h"
#include "snapshot/image.h"
#include "snapshot/restore.h"
#include "snapshot/sections.h"
#include "snapshot/snap_mem.h"
#include "snapshot/snap_state.h"
#include "vmm/syscall.h"
#include "vmm/trap.h"
#include "vmm/uaccess.h"

#define ITERATIONS 2400

static char base[256], img[512], work[512];
static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *what)
{
	printf("FAIL: %s\n", what);
	exit(1);
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		die("strdup");
	return p;
}

static char **list(const char *a, const char *b)
{
	char **v = calloc(3, sizeof(*v));
	v[0] = xstrdup(a);
	if (b)
		v[1] = xstrdup(b);
	return v;
}

/* Writes a section body as section_write would: the table's version word first. */
static void put(struct img_writer *w, const char *name, struct sbuf *b)
{
	char err[512];
	const struct section *s = section_find(name);
	struct sbuf v = { 0 };
	if (!s)
		die(name);
	sb_u32(&v, s->version);
	sb_put(&v, b->p, b->len);
	if (b->oom || v.oom || img_put(w, name, s->version, s->required, v.p, v.len, err, sizeof(err)))
		die(err);
	sb_free(&v);
	sb_free(b);
}

static uint64_t set_user(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	(void)va, (void)size, (void)arg;
	return pte | PTE_U;
}

/* What an image claims about its own policy, rewritten just before the
 * domain section is written (NULL: the truth). */
static void (*policy_lie)(struct domain_spec *c);

/* Hand-made hostile images: page tables that would give the guest its own
 * tables or the trap stub. */
enum craft { CRAFT_NONE, CRAFT_USER_MAPS_TABLE, CRAFT_USER_KERNEL_PAGE, CRAFT_STUB_GARBAGE, CRAFT_BAD_NAME,
	     CRAFT_STRAY_CACHED_PAGE };

/* A small domain without KVM: memory with data and zero pages, a file
 * shared by two fds, a pipe holding data, two thread records; in dir,
 * made hostile as `craft` says. */
static void make_image(const char *dir, enum craft craft)
{
	static struct domain_spec c;
	char root[300], err[512];
	snprintf(root, sizeof(root), "%s/root", base);
	if ((mkdir(root, 0755) && errno != EEXIST) || (mkdir(strcat(strcpy(err, root), "/w"), 0755) && errno != EEXIST))
		die("mkdir root");
	FILE *fp = fopen(strcat(strcpy(err, root), "/data.txt"), "w");
	if (!fp)
		die("data file");
	fputs("line one\nline two\nline three\n", fp);
	fclose(fp);
	spec_free(&c);        /* the previous image's (c outlives each domain) */
	memset(&c, 0, sizeof(c));
	/* a name that would break out of the `ip -batch` and nft scripts */
	c.name = xstrdup(craft == CRAFT_BAD_NAME ? "x\nflush ruleset" : "fuzz");
	c.program = xstrdup("/bin/prog");
	c.argv = list("prog", "arg");
	c.envp = list("PATH=/bin", NULL);
	c.cwd = xstrdup("/");
	c.root = xstrdup(root);
	c.writable = list("/w", NULL);
	c.memory = 32ULL << 20;
	struct domain *d = dom_new(&c);
	d->trap = &trap_backend_pvm;
	if (mm_init(d, c.memory) || trap_kernel_init(d) || files_init(d, &c, err, sizeof(err)))
		die("domain set-up");
	long a = mm_map(d, 0, 3 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (a < 0)
		die("mm_map");
	for (int i = 0; i < 300; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "page %d of the fuzz image ", i);
		if (i % 3 && copy_to_user(d, (gva_t)a + (gva_t)i * 8192, line, (size_t)n))
			die("copy_to_user");
	}
	int h = path_open(d, AT_FDCWD, "/data.txt", O_RDONLY, 0, NULL);
	struct ofd *o = h >= 0 ? ofd_new(h, O_RDONLY, OFD_FILE, "/data.txt") : NULL;
	if (!o || fd_install_at(d, o, 3, false) != 3 || fd_install_at(d, ofd_get(o), 7, true) != 7)
		die("file fds");
	lseek(h, 5, SEEK_SET);
	/* Two pages of the memory mapping the file (mm 2's file table). */
	struct vmfile *vf = vmfile_of_fd(d->init->files, h, "/data.txt");
	if (!vf || mm_name_range(d, (gva_t)a + (1 << 20), (gva_t)a + (1 << 20) + 8192, vf, 4096))
		die("name a mapping");
	vmfile_put(vf);
	/* Two pages of a shared mapping of a file: the page cache's. */
	int sh = path_open(d, AT_FDCWD, "/w/shared.txt", O_RDWR | O_CREAT, 0644, NULL), e = 0;
	struct pcfile *pc = sh >= 0 && write(sh, "shared\n", 7) == 7 ? pcache_attach(d, sh, "/w/shared.txt", true, &e) : NULL;
	struct vmfile *sf = pc ? vmfile_of_fd(d->init->files, sh, "/w/shared.txt") : NULL;
	if (!sf || mm_map_file(d, (gva_t)a + (2 << 20), 8192, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED | VMA_CACHED | VMA_MAYWRITE, sf, 0) != a + (2 << 20))
		die("shared mapping");
	/* A cached page no mapping maps (an anonymous page's frame): nothing
	 * could reach it, and its write-back would put that page into the
	 * file. */
	struct pcpage *stray;
	if (craft == CRAFT_STRAY_CACHED_PAGE &&
	    pcache_adopt_page(d, pc, 99, pt_lookup(&dom_mm(d)->pt, (gva_t)a, NULL) & PTE_ADDR & HPAGE_MASK, &stray))
		die("craft: a stray cached page");
	pcache_unpin(d, pc);
	vmfile_put(sf);
	close(sh);
	int p[2];
	if (pipe2(p, O_CLOEXEC) || write(p[1], "in flight", 9) != 9)
		die("pipe");
	if (fd_install_at(d, ofd_new(p[0], O_RDONLY, OFD_PIPE, "pipe"), 4, false) != 4 ||
	    fd_install_at(d, ofd_new(p[1], O_WRONLY, OFD_PIPE, "pipe"), 5, false) != 5)
		die("pipe fds");

	struct pgtable *pt = &dom_mm(d)->pt;
	if (craft == CRAFT_USER_MAPS_TABLE &&
	    pt_map(pt, (gva_t)a + (8 << 20), pt->root, PAGE_SIZE, PTE_P | PTE_U | PTE_W | PTE_NX, false))
		die("craft: map the root table");
	if (craft == CRAFT_USER_KERNEL_PAGE && pt_edit(pt, KERN_IDT, PAGE_SIZE, set_user, NULL))
		die("craft: open the IDT to user mode");
	if (craft == CRAFT_STUB_GARBAGE)
		memset(frames_host(&d->frames, pt_lookup(pt, KERN_STUB, NULL) & PTE_ADDR), 0xcc, 64);

	struct img_writer w;
	struct img_meta m = { 0 };
	snprintf(img, sizeof(img), "%s", dir);
	strcpy(m.name, "fuzz");
	if (img_begin(&w, img, err, sizeof(err)))
		die(err);
	struct sbuf b = { 0 };
	if (policy_lie)
		policy_lie(&c);
	snap_put_domain(d, &b);
	put(&w, "domain", &b);
	snap_put_mm(d, &b);
	put(&w, "mm", &b);
	if (snap_put_files(d, NULL, &b, err, sizeof(err)))
		die(err);
	put(&w, "files", &b);
	struct thread t[2];
	memset(t, 0, sizeof(t));
	struct kvm_xsave xs;
	struct kvm_xcrs xcrs;
	struct kvm_sregs sregs;
	memset(&xs, 0, sizeof(xs));
	memset(&xcrs, 0, sizeof(xcrs));
	memset(&sregs, 0, sizeof(sregs));
	sb_u32(&b, 2);
	for (int i = 0; i < 2; i++) {
		t[i].tid = 100 + i;
		t[i].regs.rip = (uint64_t)a;
		t[i].fs_base = (uint64_t)a + 4096;
		/* The second thread has a working directory of its own. */
		struct snap_thread_fs own = { .kind = SNAP_FS_OWN, .umask = 077, .cwd = "/" };
		snap_put_thread(&b, &t[i], &xs, &xcrs, &sregs, 12345, i ? &own : NULL);
	}
	put(&w, "vcpus", &b);
	/* Optional sections: pending signals with siginfo, a timer, an
	 * altstack, a stopped thread; the vvar address; a shared file
	 * mapping. */
	proc_cur(d)->sig_pending = SIGBIT(10);
	proc_cur(d)->sig_info[9] = (struct ksiginfo){ .signo = 10, .code = -6 };
	proc_cur(d)->timers[0] = (struct ktimer){ .used = true, .clock = 1, .signo = 14, .deadline_ns = 123456789,
					.interval_ns = 1000000 };
	t[1].sig_pending = SIGBIT(12);
	t[1].sig_info[11] = (struct ksiginfo){ .signo = 12 };
	t[1].ss_sp = (uint64_t)a;
	t[1].ss_size = 65536;
	t[1].stopped = true;
	proc_cur(d)->stop_sig = 19; /* SIGSTOP, not yet reported */
	d->threads[0] = &t[0];
	d->threads[1] = &t[1];
	d->nthreads = 2;
	if (snap_put_signals(d, &b, err, sizeof(err)))
		die(err);
	put(&w, "signals", &b);
	d->threads[0] = d->threads[1] = NULL;
	d->nthreads = 0;
	d->vvar_gva = (gva_t)a;
	snap_put_vdso(d, &b, err, sizeof(err));
	put(&w, "vdso", &b);
	snap_put_shmaps(d, &b, err, sizeof(err));
	put(&w, "shmaps", &b);
	/* A read lock of the first process on bytes 0..9 of data.txt (fd 3). */
	sb_u64(&b, 1);
	sb_u64(&b, (uint64_t)proc_cur(d)->pid);
	sb_u64(&b, 3);
	sb_u32(&b, 0);
	sb_u64(&b, 0);
	sb_u64(&b, 9);
	put(&w, "locks", &b);
	struct mem_stats st;
	if (snap_mem_write(&w, &d->frames, NULL, 2, &st, err, sizeof(err)) || img_commit(&w, &m, err, sizeof(err)))
		die(err);
	printf("image: %llu pages stored, %llu zero pages skipped\n", (unsigned long long)st.pages,
	       (unsigned long long)st.zero);
	if (st.pages == 0 || st.zero == 0)
		die("the image should hold data pages and skip zero ones");
	dom_free(d);
}

static const char *files[] = { "domain.bin", "mm.bin", "files.bin", "vcpus.bin", "memory.bin", "memidx.bin",
				"signals.bin", "vdso.bin", "shmaps.bin", "locks.bin" };
static const char *names[] = { "domain", "mm", "files", "vcpus", "memory", "memidx", "signals", "vdso", "shmaps",
				"locks" };
#define NSECTIONS (sizeof(files) / sizeof(files[0]))

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		die(path);
	uint8_t *p = malloc((size_t)st.st_size + 1);
	if (!p || read(fd, p, (size_t)st.st_size) != st.st_size)
		die("read");
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static void spit(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);
	if (fd < 0 || write(fd, p, len) != (ssize_t)len)
		die(path);
	close(fd);
}

/* Rewrites a section's size and CRC in the manifest: a "hand-edited"
 * image that passes the checksums, so the field validators get tested. */
static void fix_manifest(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	json_object *o = json_object_from_file(path), *a;
	if (!o || !json_object_object_get_ex(o, "sections", &a) || !json_object_is_type(a, json_type_array)) {
		json_object_put(o);
		return; /* an earlier mutation broke the manifest already */
	}
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *s = json_object_array_get_idx(a, i), *n;
		if (json_object_object_get_ex(s, "name", &n) && !strcmp(json_object_get_string(n), name)) {
			json_object_object_add(s, "size", json_object_new_int64((int64_t)len));
			json_object_object_add(s, "crc32", json_object_new_int64(img_crc(0, p, len)));
		}
	}
	json_object_to_file(path, o);
	json_object_put(o);
}

/* A fresh copy of the image to mutate (files copied in-process: a
 * fork per iteration would dominate the run time). */
static void copy_image(const char *from, const char *to)
{
	mkdir(to, 0700);
	for (int i = 0; i <= (int)NSECTIONS; i++) {
		const char *f = i < (int)NSECTIONS ? files[i] : "manifest.json";
		char a[700], b[700];
		size_t len;
		snprintf(a, sizeof(a), "%s/%s", from, f);
		snprintf(b, sizeof(b), "%s/%s", to, f);
		uint8_t *p = slurp(a, &len);
		spit(b, p, len);
		free(p);
	}
}

static void mutate(const char *dir, int kind)
{
	int k = (int)(rnd() % NSECTIONS);
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", dir, files[k]);
	size_t len;
	uint8_t *p = slurp(path, &len);
	switch (kind) {
	case 0: /* raw bit flips */
	case 1: /* bit flips, checksums fixed */
		for (int n = 1 + (int)(rnd() % 4); n > 0 && len; n--)
			p[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
		break;
	case 2: /* truncation (raw or fixed) */
		len = len ? (size_t)(rnd() % len) : 0;
		break;
	case 3: { /* small values planted at 8-byte offsets: counts, lengths */
		static const uint64_t v[] = { 0, 1, 2, 0xffffffff, 0xffffffffffffffffULL, 4096, 1ULL << 40, 0x7fffffff };
		for (int n = 1 + (int)(rnd() % 3); n > 0 && len >= 8; n--) {
			size_t off = (rnd() % (len / 8)) * 8;
			memcpy(p + off, &v[rnd() % 8], rnd() % 2 ? 8 : 4);
		}
		break;
	}
	case 4: { /* section swap: two sections' files exchange contents */
		int k2 = (int)(rnd() % NSECTIONS);
		char path2[700];
		snprintf(path2, sizeof(path2), "%s/%s", dir, files[k2]);
		size_t len2;
		uint8_t *q = slurp(path2, &len2);
		spit(path2, p, len);
		spit(path, q, len2);
		if (rnd() % 2) {
			fix_manifest(dir, names[k], q, len2);
			fix_manifest(dir, names[k2], p, len);
		}
		free(q);
		free(p);
		return;
	}
	default: { /* manifest text edits */
		char mp[700];
		snprintf(mp, sizeof(mp), "%s/manifest.json", dir);
		size_t ml;
		uint8_t *m = slurp(mp, &ml);
		if (rnd() % 2)
			m[rnd() % ml] = (uint8_t)rnd();
		else
			ml = rnd() % ml;
		spit(mp, m, ml);
		free(m);
		free(p);
		return;
	}
	}
	spit(path, p, len);
	if (kind != 0 && rnd() % 4)
		fix_manifest(dir, names[k], p, len);
	free(p);
}

static void set_writable(struct domain_spec *c, char **l)
{
	for (char **p = c->writable; p && *p; p++)
		free(*p);
	free(c->writable);
	c->writable = l;
}
static void lie_write_all(struct domain_spec *c) { set_writable(c, list("/", NULL)); }
static void lie_write_up(struct domain_spec *c) { set_writable(c, list("/w/../..", NULL)); }
static void lie_write_etc(struct domain_spec *c) { set_writable(c, list("/w", "/etc")); }
static void lie_root_up(struct domain_spec *c) { free(c->root); c->root = xstrdup("/"); }
static void lie_name(struct domain_spec *c) { free(c->name); c->name = xstrdup("../../etc/cron.d/x"); }
static void lie_log(struct domain_spec *c) { free(c->log); c->log = xstrdup("/etc/pdvm-fuzz-log"); }
static void lie_cwd(struct domain_spec *c) { free(c->cwd); c->cwd = xstrdup("/../../../etc"); }

/* Images that lie about their policy: each is refused with a message, or
 * restores with what the operator allowed (never the image's log). */
static void policy_fuzz(const struct restore_opts *o)
{
	static const struct { void (*lie)(struct domain_spec *); int want; const char *what; } lies[] = {
		{ lie_write_all, EXIT_BAD_IMAGE, "writable / (the operator allows only /w)" },
		{ lie_write_up, EXIT_BAD_IMAGE, "writable /w/../.." },
		{ lie_write_etc, EXIT_BAD_IMAGE, "writable /w and /etc" },
		{ lie_root_up, EXIT_BAD_IMAGE, "root / (the operator's root is the domain's)" },
		{ lie_name, EXIT_BAD_IMAGE, "a name that is a path" },
		{ lie_log, 0, "a log in /etc (ignored: the default log)" },
		{ lie_cwd, EXIT_BAD_IMAGE, "a cwd above the root (resolves inside it, where no etc is)" },
	};
	/* The operator: root BASE/root, /w in it writable. */
	struct restore_opts in_root = *o;
	char oroot[300], msg[400], w[] = "/w";
	char *allow[] = { w, NULL };
	snprintf(oroot, sizeof(oroot), "%s/root", base);
	in_root.root = oroot;
	in_root.writable = allow;
	snprintf(msg, sizeof(msg), "%s/policy.err", base);
	int saved = dup(2);
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		char dir[300];
		snprintf(dir, sizeof(dir), "%s/lie%zu", base, i);
		policy_lie = lies[i].lie;
		make_image(dir, CRAFT_NONE);
		policy_lie = NULL;
		int e = open(msg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(e, 2);
		int r = restore_check(dir, &in_root);
		dup2(saved, 2);
		close(e);
		struct stat st;
		bool said = stat(msg, &st) == 0 && st.st_size > 0;
		printf("image lying about its policy, %s: restore check %d (want %d)%s\n", lies[i].what, r,
		       lies[i].want, r && said ? ", with a message" : "");
		if (r != lies[i].want || (r && !said))
			die(lies[i].what);
		if (access("/etc/pdvm-fuzz-log", F_OK) == 0)
			die("a restore wrote the image's log path");
	}
	close(saved);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/pdvm-snapfuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base) || chmod(base, 0755))
		die("mkdtemp");
	syscall_init();
	/* Files reopen with the domain's identity: pdvm's default account. */
	struct domain_config who = { 0 };
	char why[200];
	if (config_resolve_user(&who, why, sizeof(why)))
		die(why);
	/* The operator allows what the image asks for: the root and its /w. */
	char allow_w[300];
	snprintf(allow_w, sizeof(allow_w), "%s/root/w", base);
	char *allow[] = { allow_w, NULL };
	struct restore_opts o = { .writable = allow, .cred = who.dom.cred };
	/* Hostile page tables are refused; a stub overwritten in the image
	 * restores (its contents are never taken from the image). */
	static const struct { enum craft c; int want; const char *what; } crafts[] = {
		{ CRAFT_USER_MAPS_TABLE, EXIT_BAD_IMAGE, "a user page mapping a page-table frame" },
		{ CRAFT_USER_KERNEL_PAGE, EXIT_BAD_IMAGE, "the IDT open to user mode" },
		{ CRAFT_STUB_GARBAGE, 0, "garbage in the stub's code page" },
		{ CRAFT_BAD_NAME, EXIT_BAD_IMAGE, "a domain name with a newline" },
		{ CRAFT_STRAY_CACHED_PAGE, EXIT_BAD_IMAGE, "a cached file page no mapping maps" },
	};
	for (size_t i = 0; i < sizeof(crafts) / sizeof(crafts[0]); i++) {
		char dir[300];
		snprintf(dir, sizeof(dir), "%s/craft%zu", base, i);
		make_image(dir, crafts[i].c);
		int r = restore_check(dir, &o);
		printf("%s: restore check %d (want %d)\n", crafts[i].what, r, crafts[i].want);
		if (r != crafts[i].want)
			die(crafts[i].what);
	}
	/* ... because the restore rewrites the kernel area from the binary. */
	{
		static struct domain_spec kc = { .name = "kpages", .memory = 8ULL << 20 };
		struct domain *kd = dom_new(&kc);
		if (!kd)
			die("dom_new");
		kd->trap = &trap_backend_pvm;
		if (mm_init(kd, kc.memory) || trap_kernel_init(kd))
			die("kernel area set-up");
		struct pgtable *kpt = &dom_mm(kd)->pt;
		uint8_t *stub = frames_host(&kd->frames, pt_lookup(kpt, KERN_STUB, NULL) & PTE_ADDR);
		uint64_t *idt = frames_host(&kd->frames, pt_lookup(kpt, KERN_IDT, NULL) & PTE_ADDR);
		uint8_t want[64];
		uint64_t idt0 = idt[0];
		memcpy(want, stub, sizeof(want));
		memset(stub, 0xcc, sizeof(want));
		idt[0] = 0;
		if (trap_kpages_rebuild(kd, dom_mm(kd)) || memcmp(stub, want, sizeof(want)) || idt[0] != idt0)
			die("the kernel area is not rebuilt from the binary");
		printf("kernel area rebuilt from the binary: ok\n");
		dom_free(kd);
	}
	policy_fuzz(&o);
	char dir0[300];
	snprintf(dir0, sizeof(dir0), "%s/img", base);
	make_image(dir0, CRAFT_NONE);
	/* stderr of the checks is noise here: one line per refusal. */
	int saved = dup(2), null = open("/dev/null", O_WRONLY);
	if (restore_check(img, &o) != 0)
		die("the unmutated image must pass the restore check");
	/* Policy is the operator's: without --writable the image may not write
	 * /w, and its root must lie inside --root. */
	struct restore_opts no_w = { .cred = who.dom.cred }, other_root = { .root = "/usr", .writable = allow,
									  .cred = who.dom.cred };
	if (restore_check(img, &no_w) != EXIT_BAD_IMAGE)
		die("an image that writes /w must be refused without --writable");
	if (restore_check(img, &other_root) != EXIT_BAD_IMAGE)
		die("an image whose root lies outside --root must be refused");
	printf("operator policy: image writes refused without --writable, root outside --root refused: ok\n");
	/* An open file the domain's user may not read (as /etc/shadow) is not
	 * reopened for it, whatever the image says; root, the opt-in, may. */
	char data[400];
	snprintf(data, sizeof(data), "%s/root/data.txt", base);
	struct restore_opts as_root = o;
	as_root.cred = (struct dom_cred){ .as_root = true };
	if (chmod(data, 0600) || restore_check(img, &o) != EXIT_BAD_IMAGE || restore_check(img, &as_root) != 0 ||
	    chmod(data, 0644))
		die("a file unreadable to the domain's user must not be reopened for it");
	printf("open files reopen as the domain's user (a 0600 root file refused, accepted as root): ok\n");
	snprintf(work, sizeof(work), "%s/work", base);
	int counts[256] = { 0 }, bad = 0;
	for (int i = 0; i < ITERATIONS; i++) {
		copy_image(img, work);
		mutate(work, i % 6);
		if (rnd() % 3 == 0)
			mutate(work, (int)(rnd() % 6));
		dup2(null, 2);
		int st = restore_check(work, &o);
		dup2(saved, 2);
		counts[st & 255]++;
		if (st != 0 && st != EXIT_BAD_IMAGE) {
			printf("iteration %d: restore check exited %d (want 0 or %d)\n", i, st, EXIT_BAD_IMAGE);
			bad++;
		}
	}
	printf("%d mutated images: %d refused (exit 2), %d accepted, %d other\n", ITERATIONS,
	       counts[EXIT_BAD_IMAGE], counts[0], bad);
	if (counts[EXIT_BAD_IMAGE] < ITERATIONS / 2)
		die("most mutations should be refused");
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		return 1;
	return bad ? 1 : 0;
}
