/* SPDX-License-Identifier: MIT */
/* drover vm terminal (the serial console) and monitor (a QMP shell). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "basic/util.h"
#include "vm_cli.h"

#define CTRL_O 0x0f
/* Without a terminal: stop once the console has been quiet this long after stdin ended. */
#define QUIET_MS 2000

/* Copy between the terminal and the console until Ctrl-O, EOF or (no tty) quiet. */
static int relay(int sock, bool tty)
{
	struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
	bool in_open = true;
	char b[4096];

	for (;;) {
		int n = poll(p, in_open ? 2 : 1, in_open ? -1 : QUIET_MS);
		ssize_t got;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		if (p[0].revents) {
			got = read(sock, b, sizeof(b));
			if (got <= 0)
				return 0;
			if (write_all(1, b, (size_t)got) < 0)
				return -EIO;
		}
		if (in_open && p[1].revents) {
			got = read(0, b, sizeof(b));
			if (got <= 0) {
				in_open = false;
				continue;
			}
			if (tty && memchr(b, CTRL_O, (size_t)got))
				return 0;
			if (write_all(sock, b, (size_t)got) < 0)
				return -EIO;
		}
	}
}

int vm_cmd_terminal(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct termios saved, raw;
	unsigned index = 0;
	uint32_t vmid;
	struct vm_env e;
	bool tty = isatty(0);
	int fd, r, i = 1;

	if (argc > 3 && streq(argv[1], "--iface") && sscanf(argv[2], "serial%u", &index) == 1)
		i = 3;
	if (argc != i + 1 || vm_parse_vmid("terminal", argv[i], &vmid) < 0)
		return argc != i + 1 ? vm_usage_error("terminal", "VMID needed") : CLI_EXIT_USAGE;
	if (vm_open(ctx, &e) < 0)
		return CLI_EXIT_FAIL;
	r = vm_serial_open(&e, vmid, index, &fd, &err);
	vm_env_close(&e);
	if (r < 0)
		return cli_fail(&err, r);
	if (tty) {
		fprintf(stderr,
			"starting serial terminal on interface serial%u (press Ctrl+O to exit)\n",
			index);
		tcgetattr(0, &saved);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	r = relay(fd, tty);
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	close(fd);
	return r < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* One "COMMAND [ARGS-JSON]" line run; the answer or the error printed. */
static void monitor_line(struct qmp *q, char *line)
{
	struct drover_err err = { "" };
	struct json_object *args = NULL, *ret = NULL;
	char *space = strchr(line, ' ');
	int r;

	if (space) {
		*space = '\0';
		args = json_tokener_parse(space + 1);
		if (!args) {
			printf("error: the arguments are not JSON\n");
			return;
		}
	}
	r = qmp_execute(q, line, args, VM_QMP_TIMEOUT_MS, &ret, &err);
	json_object_put(args);
	if (r < 0)
		printf("error: %s\n", err.text[0] ? err.text : strerror(-r));
	else
		printf("%s\n",
		       ret ? json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN) : "{}");
	json_object_put(ret);
	fflush(stdout);
}

int vm_cmd_monitor(struct cli_context *ctx, int argc, char **argv)
{
	struct drover_err err = { "" };
	struct qmp *q = NULL;
	char *line = NULL;
	size_t cap = 0;
	uint32_t vmid;
	struct vm_env e;
	bool tty = isatty(0);
	int r;

	if (argc != 2 || vm_parse_vmid("monitor", argv[1], &vmid) < 0)
		return argc != 2 ? vm_usage_error("monitor", "VMID needed") : CLI_EXIT_USAGE;
	if (vm_open(ctx, &e) < 0)
		return CLI_EXIT_FAIL;
	r = vm_qmp_open(&e, vmid, &q, &err);
	vm_env_close(&e);
	if (r < 0)
		return cli_fail(&err, r);
	if (tty)
		printf("Entering QMP monitor of VM %" PRIu32 " (QEMU %s); an empty line leaves\n",
		       vmid, qmp_version(q));
	for (;;) {
		ssize_t n;

		if (tty) {
			printf("qmp> ");
			fflush(stdout);
		}
		n = getline(&line, &cap, stdin);
		if (n <= 0)
			break;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			break;
		monitor_line(q, line);
	}
	free(line);
	qmp_close(q);
	return CLI_EXIT_OK;
}
