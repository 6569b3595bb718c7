// SPDX-License-Identifier: MIT
/*
 * vm_status_pass: the cost of one status pass over N stopped VMs, as
 * droverd's tick makes it (qemu_runtime_read() for each VM), with each VM
 * scanning /proc by itself (no index: what droverd did before the
 * process index) and with one qemu_proc_index shared by the pass.
 *
 *	vm_status_pass [-n VMS] [-r REPS]
 *
 * The VMs are VMIDs 1000.. under a new empty run directory: no pid file,
 * no QMP socket, so every one is stopped and reaches the /proc step, as a
 * VM that is configured on the node and not running. The two ways
 * alternate rep by rep (which goes first too). Prints one line of JSON:
 * the median and minimum CPU time (CLOCK_PROCESS_CPUTIME_ID) and wall
 * time of a pass in microseconds, and the processes in /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libdrover/guest/guest_runtime.h"

static double now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int count_processes(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
	closedir(d);
	return n;
}

/* One pass: every VM's runtime, the index (when wanted) shared. Returns the running ones or -1. */
static int pass(const char *run_dir, int vms, bool indexed, double *cpu_us, double *wall_us)
{
	struct qemu_proc_index *ix = NULL;
	double c0 = now_us(CLOCK_PROCESS_CPUTIME_ID), w0 = now_us(CLOCK_MONOTONIC);
	int running = 0;

	if (indexed && qemu_proc_index_new(NULL, &ix) < 0)
		return -1;
	for (int i = 0; i < vms; i++) {
		struct guest_runtime rt;

		if (qemu_runtime_read(run_dir, 1000 + (uint32_t)i, ix, &rt) < 0)
			return -1;
		running += rt.running;
	}
	qemu_proc_index_free(ix);
	*cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
	*wall_us = now_us(CLOCK_MONOTONIC) - w0;
	return running;
}

int main(int argc, char **argv)
{
	char run_dir[] = "/tmp/drover-vm-status-pass-XXXXXX";
	double *cpu[2], *wall[2];
	int vms = 100, reps = 20, opt;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			vms = atoi(optarg);
		else if (opt == 'r')
			reps = atoi(optarg);
		else {
			fprintf(stderr, "usage: vm_status_pass [-n VMS] [-r REPS]\n");
			return 2;
		}
	}
	if (vms < 1 || reps < 1) {
		fprintf(stderr, "vm_status_pass: -n and -r take a number above 0\n");
		return 2;
	}
	if (!mkdtemp(run_dir)) {
		fprintf(stderr, "vm_status_pass: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	for (int k = 0; k < 2; k++) {
		cpu[k] = calloc((size_t)reps, sizeof(double));
		wall[k] = calloc((size_t)reps, sizeof(double));
		if (!cpu[k] || !wall[k]) {
			fprintf(stderr, "vm_status_pass: out of memory\n");
			return 1;
		}
	}
	for (int r = 0; r < reps; r++) {
		for (int j = 0; j < 2; j++) {
			int k = (r + j) % 2; /* 0: a scan per VM, 1: the index */

			if (pass(run_dir, vms, k == 1, &cpu[k][r], &wall[k][r]) != 0) {
				fprintf(stderr, "vm_status_pass: a VM of the empty run directory "
						"is running, or the pass failed\n");
				rmdir(run_dir);
				return 1;
			}
		}
	}
	rmdir(run_dir);
	printf("{\"vms\":%d,\"processes\":%d,\"reps\":%d", vms, count_processes(), reps);
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "index" : "scan_per_vm";
		double cmin, wmin;

		qsort(cpu[k], (size_t)reps, sizeof(double), cmp_double);
		qsort(wall[k], (size_t)reps, sizeof(double), cmp_double);
		cmin = cpu[k][0];
		wmin = wall[k][0];
		printf(",\"%s_cpu_us\":%.1f,\"%s_cpu_min_us\":%.1f,\"%s_wall_us\":%.1f,"
		       "\"%s_wall_min_us\":%.1f",
		       name, median(cpu[k], reps), name, cmin, name, median(wall[k], reps), name,
		       wmin);
		free(cpu[k]);
		free(wall[k]);
	}
	printf("}\n");
	return 0;
}
