/* SPDX-License-Identifier: MIT */
/* pct enter and pct exec: the lxc-attach command line the CLI executes in its place. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ct_internal.h"
#include "libdrover/guest/conf_edit.h"

int ct_attach_argv(uint32_t ctid, char *const cmd[], char id[16], char ***argv,
		   struct drover_err *err)
{
	char *const head[] = { "lxc-attach", "-P",	    CT_LXC_PATH,  "-n",
			       id,	     "--clear-env", "--keep-var", "TERM" };
	static char *const shell[] = { "/bin/sh", "-l", NULL };
	size_t nh = sizeof(head) / sizeof(head[0]), nc = 0, k = 0;
	char **v;

	struct guest_conf *c = NULL;
	int r = guest_conf_read(GUEST_LXC, ctid, &c, err);

	/* this node's container (err names the node that has it) */
	guest_conf_free(c);
	if (r < 0)
		return r;
	if (!ct_running(ctid))
		return drover_fail(err, -ESRCH, "CT %" PRIu32 " is not running", ctid);
	if (!cmd || !cmd[0])
		cmd = shell;
	while (cmd[nc])
		nc++;
	v = calloc(nh + nc + 2, sizeof(*v));
	if (!v)
		return drover_fail(err, -ENOMEM, "out of memory");
	snprintf(id, 16, "%" PRIu32, ctid);
	for (size_t i = 0; i < nh; i++)
		v[k++] = head[i];
	v[k++] = "--";
	for (size_t i = 0; i < nc; i++)
		v[k++] = cmd[i];
	*argv = v;
	return 0;
}
