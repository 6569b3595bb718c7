/* SPDX-License-Identifier: MIT */
#include "runtime.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/util.h"

int qemu_paths_init(const char *run_dir, uint32_t vmid, struct qemu_paths *p,
		    struct drover_err *err)
{
	const char *d = run_dir ? run_dir : QEMU_RUN_DIR;
	int n = 0, dl = (int)strlen(d);

	memset(p, 0, sizeof(*p));
	/*
	 * One spelling of each path, trailing slashes or not: a running
	 * QEMU is recognised by the paths on its command line.
	 */
	while (dl > 1 && d[dl - 1] == '/')
		dl--;
	/* The longest socket name decides: VMID.serial3. */
	n = snprintf(p->serial[QEMU_SERIAL_COUNT - 1], sizeof(p->serial[0]), "%.*s/%u.serial%d", dl,
		     d, vmid, QEMU_SERIAL_COUNT - 1);
	if (n < 0 || (size_t)n >= sizeof(p->serial[0]))
		return drover_fail(err, -ENAMETOOLONG,
				   "run directory '%s' is too long for socket paths", d);
	snprintf(p->qmp, sizeof(p->qmp), "%.*s/%u.qmp", dl, d, vmid);
	snprintf(p->qga, sizeof(p->qga), "%.*s/%u.qga", dl, d, vmid);
	snprintf(p->pid, sizeof(p->pid), "%.*s/%u.pid", dl, d, vmid);
	for (int i = 0; i < QEMU_SERIAL_COUNT; i++) {
		snprintf(p->serial[i], sizeof(p->serial[i]), "%.*s/%u.serial%d", dl, d, vmid, i);
		snprintf(p->serial_log[i], sizeof(p->serial_log[i]), "%.*s/%u.serial%d.log", dl, d,
			 vmid, i);
	}
	return 0;
}

/* mkdir -p for the parents of path (0755). */
static int make_parents(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			int r = -errno;

			*s = '/';
			return r;
		}
		*s = '/';
	}
	return 0;
}

int qemu_run_dir_prepare(const char *run_dir, struct drover_err *err)
{
	const char *d = run_dir ? run_dir : QEMU_RUN_DIR;
	char path[QEMU_SOCK_PATH_MAX];
	struct stat st;
	int r;

	if (d[0] != '/' || snprintf(path, sizeof(path), "%s", d) >= (int)sizeof(path))
		return drover_fail(err, -EINVAL, "run directory '%s' must be a short absolute path",
				   d);
	r = make_parents(path);
	if (r < 0)
		return drover_fail(err, r, "mkdir parents of %s: %s", d, strerror(-r));
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		return drover_fail(err, -errno, "mkdir %s: %m", d);
	if (lstat(d, &st) < 0)
		return drover_fail(err, -errno, "%s: %m", d);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return drover_fail(err, -EPERM, "%s is not a directory of ours", d);
	if ((st.st_mode & 07777) != 0700 && chmod(d, 0700) < 0)
		return drover_fail(err, -errno, "chmod 0700 %s: %m", d);
	return 0;
}

/*
 * The guest of the KVM smoke test, at 0x1000, entered in real mode. It
 * walks the way every x86-64 kernel's setup does, with its own
 * instructions: to 32-bit protected mode, then PAE, page tables, EFER.LME
 * and paging into 64-bit long mode; there it writes 16 MiB (as a kernel
 * unpacking itself does), then "mov al, 0x42; out 0x10, al; hlt".
 */
static const uint8_t smoke_code[] = {
	/* 0x1000, real mode */
	0xfa, /* cli */
	0x0f, 0x01, 0x16, 0x00, 0x12, /* lgdt [0x1200] */
	0x0f, 0x20, 0xc0, /* mov eax, cr0 */
	0x0c, 0x01, /* or al, 1 (PE) */
	0x0f, 0x22, 0xc0, /* mov cr0, eax */
	0x66, 0xea, 0x20, 0x10, 0x00, 0x00, 0x08, 0x00, /* jmp dword 0x08:0x1020 */
	0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
	/* 0x1020, 32-bit protected mode */
	0x0f, 0x20, 0xe0, /* mov eax, cr4 */
	0x83, 0xc8, 0x20, /* or eax, 0x20 (PAE) */
	0x0f, 0x22, 0xe0, /* mov cr4, eax */
	0xb8, 0x00, 0x20, 0x00, 0x00, /* mov eax, 0x2000 (PML4) */
	0x0f, 0x22, 0xd8, /* mov cr3, eax */
	0xb9, 0x80, 0x00, 0x00, 0xc0, /* mov ecx, 0xc0000080 (EFER) */
	0x0f, 0x32, /* rdmsr */
	0x0d, 0x00, 0x01, 0x00, 0x00, /* or eax, 0x100 (LME) */
	0x0f, 0x30, /* wrmsr */
	0x0f, 0x20, 0xc0, /* mov eax, cr0 */
	0x0d, 0x00, 0x00, 0x00, 0x80, /* or eax, 0x80000000 (PG) */
	0x0f, 0x22, 0xc0, /* mov cr0, eax */
	0xea, 0x60, 0x10, 0x00, 0x00, 0x18, 0x00, /* jmp 0x18:0x1060 */
	0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
	/* 0x1060, 64-bit long mode */
	0x48, 0xc7, 0xc7, 0x00, 0x00, 0x20, 0x00, /* mov rdi, 0x200000 */
	0x48, 0xc7, 0xc1, 0x00, 0x00, 0x20, 0x00, /* mov rcx, 0x200000 (qwords: 16 MiB) */
	0x48, 0x31, 0xc0, /* xor rax, rax */
	0xf3, 0x48, 0xab, /* rep stosq */
	0xb0, 0x42, /* mov al, 0x42 */
	0xe6, 0x10, /* out 0x10, al */
	0xf4, /* hlt */
};

/* GDT at 0x1100: null, 32-bit code (0x08), data (0x10), 64-bit code (0x18); its pointer at 0x1200. */
static const uint8_t smoke_gdt[] = {
	0,    0,    0, 0, 0, 0,	   0,	 0, 0xff, 0xff, 0, 0, 0, 0x9a, 0xcf, 0,
	0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x9a, 0xaf, 0,
};
static const uint8_t smoke_gdt_ptr[] = { 0x1f, 0x00, 0x00, 0x11, 0x00, 0x00 };

#define SMOKE_MEM (32u << 20)

/* Identity map of the first GiB in 2 MiB pages: PML4 at 0x2000, PDPT at 0x3000, PD at 0x4000. */
static void smoke_page_tables(uint8_t *mem)
{
	uint64_t pml4 = 0x3000 | 0x3, pdpt = 0x4000 | 0x3; /* present, writable */

	memcpy(mem + 0x2000, &pml4, sizeof(pml4));
	memcpy(mem + 0x3000, &pdpt, sizeof(pdpt));
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t pde = (i << 21) | 0x83; /* present, writable, 2 MiB page */

		memcpy(mem + 0x4000 + 8 * i, &pde, sizeof(pde));
	}
}

/* The vCPU gets what KVM supports (long mode among it): without CPUID, EFER.LME faults. */
static int smoke_cpuid(int kvm, int cpu)
{
	struct {
		struct kvm_cpuid2 head;
		struct kvm_cpuid_entry2 entries[256];
	} c = { .head.nent = 256 };

	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c) < 0)
		return -1;
	return ioctl(cpu, KVM_SET_CPUID2, &c) < 0 ? -1 : 0;
}

static int smoke_setup(int vm, int cpu, uint8_t *mem)
{
	struct kvm_userspace_memory_region region = { .slot = 0, .memory_size = SMOKE_MEM };
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	struct kvm_sregs sregs;

	memcpy(mem + 0x1000, smoke_code, sizeof(smoke_code));
	memcpy(mem + 0x1100, smoke_gdt, sizeof(smoke_gdt));
	memcpy(mem + 0x1200, smoke_gdt_ptr, sizeof(smoke_gdt_ptr));
	smoke_page_tables(mem);
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
	    ioctl(cpu, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	if (ioctl(cpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(cpu, KVM_SET_REGS, &regs) < 0)
		return -1;
	return 0;
}

/*
 * Does KVM run the smoke guest to its end: the OUT, then the HLT? Some
 * hosts offer a /dev/kvm that creates VMs and runs real mode, yet a guest
 * never gets through its own switch to long mode. Returns 0 when it ran.
 */
static int kvm_smoke(int kvm)
{
	struct kvm_run *run;
	bool out_seen = false;
	int vm, cpu, size;
	uint8_t *mem;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	cpu = vm < 0 ? -1 : ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	mem = mmap(NULL, SMOKE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cpu < 0 || size <= 0 || mem == MAP_FAILED || smoke_cpuid(kvm, cpu) < 0 ||
	    smoke_setup(vm, cpu, mem) < 0)
		return -1;
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED)
		return -1;
	for (int exits = 0; exits < 16; exits++) {
		if (ioctl(cpu, KVM_RUN, 0) < 0)
			return -1;
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port == 0x10 && *((uint8_t *)run + run->io.data_offset) == 0x42)
			out_seen = true;
		else if (run->exit_reason == KVM_EXIT_HLT)
			return out_seen ? 0 : -1;
		else
			return -1;
	}
	return -1;
}

/* Wait for the smoke test child; its run time into *ms. 0 when it ran to its end. */
static int smoke_wait(pid_t pid, uint64_t start, unsigned *ms)
{
	uint64_t deadline = start + 2000000000ull;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_monotonic_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			*ms = 2000;
			return -ETIMEDOUT;
		}
		usleep(2000);
	}
	*ms = (unsigned)((now_monotonic_ns() - start) / 1000000);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

bool qemu_kvm_probe(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), r;
	uint64_t start;
	unsigned ms;
	pid_t pid;

	if (fd < 0) {
		snprintf(why, len, "/dev/kvm: %m");
		return false;
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(fd);
		snprintf(why, len, "/dev/kvm speaks another API version");
		return false;
	}
	/* A broken KVM may hang in KVM_RUN: the guest runs in a child with a deadline. */
	start = now_monotonic_ns();
	pid = fork();
	if (pid == 0)
		_exit(kvm_smoke(fd) == 0 ? 0 : 1);
	close(fd);
	if (pid < 0) {
		snprintf(why, len, "fork: %m");
		return false;
	}
	r = smoke_wait(pid, start, &ms);
	if (r == 0 && ms <= QEMU_KVM_SMOKE_MAX_MS) {
		snprintf(why, len, "KVM ran the test guest in %u ms", ms);
		return true;
	}
	if (r == 0)
		snprintf(why, len, "KVM is too slow: %u ms for the test guest (at most %d)", ms,
			 QEMU_KVM_SMOKE_MAX_MS);
	else if (r == -ETIMEDOUT)
		snprintf(why, len, "KVM did not finish the test guest in 2 s");
	else
		snprintf(why, len, "KVM could not run the test guest to its end");
	return false;
}

bool qemu_kvm_usable(void)
{
	char why[128];

	return qemu_kvm_probe(why, sizeof(why));
}
