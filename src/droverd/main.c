/* SPDX-License-Identifier: MIT */
/* droverd: the drover node agent. See droverd(8). */
#include "droverd.h"

int main(int argc, char **argv)
{
	return droverd_main(argc, argv, NULL);
}
