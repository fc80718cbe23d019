/* test_mm.c: unit tests of the address-space code (VMAs, page tables, path copies) without KVM. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/domain.h"
#include "vmm/mm.h"
#include "vmm/trap.h"
#include "vmm/uaccess.h"
#include "check.h"

static struct domain *new_domain(uint64_t mem)
{
	struct domain *d = calloc(1, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->vm.fd = d->vm.kvm = -1;
	d->trap = &trap_backend_pvm; /* the strict one: quarantine on */
	if (mm_init(d, mem)) {
		printf("mm_init failed\n");
		exit(1);
	}
	return d;
}

static void test_map_rw(struct domain *d)
{
	long a = mm_map(d, 0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	CHECK(a > 0 && !(a & 0xfff), "mm_map returns a page address (%ld)", a);
	uint64_t v = 0x1122334455667788ULL, r = 0;
	CHECK(copy_to_user(d, (gva_t)a + 8, &v, 8) == 0, "write mapped");
	CHECK(copy_from_user(d, &r, (gva_t)a + 8, 8) == 0 && r == v, "read back");
	CHECK(copy_from_user(d, &r, (gva_t)a - 8, 16) == -EFAULT, "read across unmapped start faults");
	CHECK(mm_protect(d, (gva_t)a, PAGE_SIZE, PROT_READ) == 0, "mprotect read-only");
	CHECK(copy_to_user(d, (gva_t)a, &v, 8) == -EFAULT, "write to read-only faults");
	CHECK(copy_from_user(d, &r, (gva_t)a + 8, 8) == 0 && r == v, "contents kept after mprotect");
	CHECK(mm_protect(d, (gva_t)a, PAGE_SIZE, PROT_NONE) == 0, "mprotect none");
	CHECK(copy_from_user(d, &r, (gva_t)a + 8, 8) == -EFAULT, "PROT_NONE unreadable");
	CHECK(mm_protect(d, (gva_t)a, PAGE_SIZE, PROT_READ | PROT_WRITE) == 0, "mprotect back");
	CHECK(copy_from_user(d, &r, (gva_t)a + 8, 8) == 0 && r == v, "contents survive PROT_NONE");
	CHECK(mm_unmap(d, (gva_t)a, 3 * PAGE_SIZE) == 0, "munmap");
	CHECK(copy_from_user(d, &r, (gva_t)a + 8, 8) == -EFAULT, "unmapped unreadable");
	CHECK(mm_protect(d, (gva_t)a, PAGE_SIZE, PROT_READ) == -ENOMEM, "mprotect of a hole is ENOMEM");
}

static void test_remap(struct domain *d)
{
	const size_t P = PAGE_SIZE;
	/* grow in place then shrink: the grown mapping is one VMA */
	long q = mm_map(d, 0, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	long q2 = mm_remap(d, (gva_t)q, 4 * P, 64 * P, MREMAP_MAYMOVE, 0);
	CHECK(q2 > 0, "grow (%ld)", q2);
	CHECK(mm_remap(d, (gva_t)q2, 64 * P, 2 * P, 0, 0) == q2, "shrink a grown mapping in place");
	mm_unmap(d, (gva_t)q2, 2 * P);

	long m = mm_map(d, 0, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	for (int i = 0; i < 4; i++) {
		uint64_t v = 100 + i;
		copy_to_user(d, (gva_t)m + i * P, &v, 8);
	}
	/* a neighbour blocks growing in place */
	long n = mm_map(d, (gva_t)m + 4 * P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	CHECK(n == m + 4 * (long)P, "neighbour at fixed address");
	CHECK(mm_remap(d, (gva_t)m, 4 * P, 8 * P, 0, 0) == -ENOMEM, "grow in place blocked: ENOMEM");
	long g = mm_remap(d, (gva_t)m, 4 * P, 256 * P, MREMAP_MAYMOVE, 0);
	CHECK(g > 0 && g != m, "grow with MAYMOVE moves (%ld)", g);
	int ok = 1;
	for (int i = 0; i < 4; i++) {
		uint64_t v = 0;
		ok &= copy_from_user(d, &v, (gva_t)g + i * P, 8) == 0 && v == 100u + i;
	}
	CHECK(ok, "moved contents kept");
	uint64_t z = 1;
	CHECK(copy_from_user(d, &z, (gva_t)g + 255 * P, 8) == 0 && z == 0, "grown tail zero");
	CHECK(copy_from_user(d, &z, (gva_t)m, 8) == -EFAULT, "old range unmapped");
	long s = mm_remap(d, (gva_t)g, 256 * P, 2 * P, 0, 0);
	CHECK(s == g, "shrink in place (%ld)", s);
	long f = mm_map(d, 0, 16 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	long mv = mm_remap(d, (gva_t)g, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, (gva_t)f + 4 * P);
	CHECK(mv == f + 4 * (long)P, "MREMAP_FIXED moves to the target (%ld)", mv);
	uint64_t v = 0;
	CHECK(copy_from_user(d, &v, (gva_t)mv + P, 8) == 0 && v == 101, "fixed move keeps contents");
	mm_unmap(d, (gva_t)f, 16 * P);
	mm_unmap(d, (gva_t)n, P);
}

/* The property the guest relies on: after unmap+map at the same address the
 * page tables reached from the current root show the new frame, and every
 * table changed since the last publish is fresh (never seen by the guest). */
static void test_path_copy(struct domain *d)
{
	gva_t at = 0x500000000UL;
	uint64_t flushes0 = dom_mm(d)->flushes;
	for (int i = 0; i < 2000; i++) {
		long a = mm_map(d, at, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
		uint64_t v = (uint64_t)i, r = ~0ULL;
		if (a != (long)at || copy_from_user(d, &r, at, 8) || r != 0 || copy_to_user(d, at, &v, 8) ||
		    copy_from_user(d, &r, at, 8) || r != v) {
			CHECK(0, "iteration %d: fresh page not zero or not writable", i);
			break;
		}
		gpa_t root = dom_mm(d)->pt.root;
		mm_unmap(d, at, PAGE_SIZE);
		if (dom_mm(d)->pt.root == root) {
			CHECK(0, "iteration %d: unmap of a published mapping kept the root", i);
			break;
		}
	}
	CHECK(dom_mm(d)->flushes - flushes0 >= 2000, "one flush per unmap (%llu)",
	      (unsigned long long)(dom_mm(d)->flushes - flushes0));
}

static void test_huge(struct domain *d)
{
	long a = mm_map(d, 0, 8 * HPAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	CHECK(a > 0 && !(a & ~HPAGE_MASK), "large mapping is 2 MiB aligned");
	uint64_t sz = 0;
	pt_lookup(&dom_mm(d)->pt, (gva_t)a, &sz);
	CHECK(sz == HPAGE_SIZE, "large mapping uses 2 MiB pages");
	uint64_t v = 7, r = 0;
	copy_to_user(d, (gva_t)a + HPAGE_SIZE + 3 * PAGE_SIZE, &v, 8);
	CHECK(mm_protect(d, (gva_t)a + HPAGE_SIZE + 3 * PAGE_SIZE, PAGE_SIZE, PROT_READ) == 0, "split by mprotect");
	pt_lookup(&dom_mm(d)->pt, (gva_t)a + HPAGE_SIZE, &sz);
	CHECK(sz == PAGE_SIZE, "split into 4 KiB pages");
	CHECK(copy_from_user(d, &r, (gva_t)a + HPAGE_SIZE + 3 * PAGE_SIZE, 8) == 0 && r == 7, "split keeps data");
	CHECK(copy_to_user(d, (gva_t)a + HPAGE_SIZE + 3 * PAGE_SIZE, &v, 8) == -EFAULT, "split page read-only");
	CHECK(copy_to_user(d, (gva_t)a + HPAGE_SIZE + 4 * PAGE_SIZE, &v, 8) == 0, "neighbour still writable");
	CHECK(mm_unmap(d, (gva_t)a, 8 * HPAGE_SIZE) == 0, "unmap all");
}

static void test_limit(struct domain *d)
{
	long a = mm_map(d, 0, 1UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	CHECK(a == -ENOMEM, "mapping beyond the memory limit is ENOMEM (%ld)", a);
	CHECK(mm_map(d, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS) == -EINVAL, "zero length EINVAL");
	CHECK(mm_map(d, 0x1001, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) == -EINVAL,
	      "unaligned fixed EINVAL");
}

static int refs(struct vmfile *f)
{
	return atomic_load(&f->refs);
}

/* File mappings: a split's upper part maps the file from further on, only
 * the same record at contiguous offsets merges, every VMA (and a forked
 * copy's) holds one reference, and all of them go with the mappings. */
static void test_file_vmas(struct domain *d)
{
	const gva_t P = PAGE_SIZE;
	struct mm *mm = dom_mm(d);
	struct vmfile *f = vmfile_new("/lib/x.so", 0x801, 42, false), *g = vmfile_new("/lib/x.so", 0x801, 42, false);
	long r = mm_map(d, 0, 64 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	CHECK(r > 0 && f && g, "a reservation");
	gva_t a = (gva_t)r;
	CHECK(mm_map_file(d, a, 8 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, f, 16 * P) == (long)a && refs(f) == 2,
	      "a file mapping holds a reference");
	const struct vma *v = mm_vma_at(mm, a);
	CHECK(v && v->file == f && v->pgoff == 16 * P && v->end == a + 8 * P, "one VMA at the offset");
	CHECK(mm_unmap(d, a + 2 * P, P) == 0, "munmap of a middle page");
	v = mm_vma_at(mm, a + 3 * P);
	CHECK(v && v->start == a + 3 * P && v->file == f && v->pgoff == 19 * P && refs(f) == 3,
	      "the upper part maps from offset + 3 pages (%llx)", v ? (unsigned long long)v->pgoff : 0ULL);
	CHECK(mm_protect(d, a + 5 * P, P, PROT_READ | PROT_WRITE) == 0, "mprotect of a middle page");
	v = mm_vma_at(mm, a + 6 * P);
	CHECK(v && v->start == a + 6 * P && v->pgoff == 22 * P && refs(f) == 5, "split in three");
	CHECK(mm_protect(d, a + 5 * P, P, PROT_READ) == 0 && mm_vma_at(mm, a + 5 * P)->start == a + 5 * P,
	      "once writable, a private page stays apart (VM_ACCOUNT)");
	CHECK(mm_map_file(d, a + 8 * P, 2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, f, 24 * P) == (long)(a + 8 * P),
	      "the file again, right after");
	v = mm_vma_at(mm, a + 9 * P);
	CHECK(v && v->start == a + 6 * P && v->end == a + 10 * P && refs(f) == 5, "contiguous offsets merge");
	CHECK(mm_map_file(d, a + 10 * P, P, PROT_READ, MAP_PRIVATE | MAP_FIXED, g, 26 * P) == (long)(a + 10 * P) &&
	      mm_vma_at(mm, a + 10 * P)->start == a + 10 * P, "another description of the file does not");
	CHECK(mm_map_file(d, a + 11 * P, P, PROT_READ, MAP_PRIVATE | MAP_FIXED, g, 28 * P) == (long)(a + 11 * P) &&
	      mm_vma_at(mm, a + 11 * P)->start == a + 11 * P, "nor the same one at another offset");
	CHECK(mm_remap(d, a + 3 * P, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, a + 40 * P) == (long)(a + 40 * P),
	      "mremap moves two pages");
	v = mm_vma_at(mm, a + 41 * P);
	CHECK(v && v->start == a + 40 * P && v->file == f && v->pgoff == 19 * P && !mm_vma_at(mm, a + 3 * P),
	      "the moved VMA keeps its offset");
	CHECK(mm_unmap(d, a + 42 * P, 2 * P) == 0 && mm_remap(d, a + 40 * P, 2 * P, 3 * P, 0, 0) == (long)(a + 40 * P) &&
	      mm_vma_at(mm, a + 42 * P) == mm_vma_at(mm, a + 40 * P), "grown in place, still one VMA");
	CHECK(mm_map(d, a + 41 * P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) == (long)(a + 41 * P) &&
	      mm_vma_at(mm, a + 42 * P)->pgoff == 21 * P && !mm_vma_at(mm, a + 41 * P)->file,
	      "MAP_FIXED anonymous memory over the middle");
	int before = refs(f), err = 0;
	struct mm *child = mm_fork(d, mm, &err);
	CHECK(child && refs(f) == 2 * before - 1, "fork copies the references (%d -> %d)", before, refs(f));
	mm_put(d, child);
	CHECK(refs(f) == before, "and its end drops them");
	CHECK(mm_unmap(d, a, 64 * P) == 0 && refs(f) == 1 && refs(g) == 1, "unmapped, only ours are left");
	vmfile_put(f);
	vmfile_put(g);
}

int main(void)
{
	struct domain *d = new_domain(64UL << 20);
	test_map_rw(d);
	test_remap(d);
	test_path_copy(d);
	test_huge(d);
	test_limit(d);
	test_file_vmas(d);
	printf("test_mm: %d checks, %d failed (quarantine %zu, resync attempts %llu)\n", checks, failures,
	       dom_mm(d)->pt.nquar, (unsigned long long)dom_mm(d)->resyncs);
	mm_destroy(d);
	free(d);
	return failures ? 1 : 0;
}
