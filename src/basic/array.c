/* SPDX-License-Identifier: MIT */
#include "array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define ARRAY_MIN_CAP 16

int array_grow(void **items, size_t *cap, size_t need, size_t size)
{
	size_t room = *cap ? *cap : ARRAY_MIN_CAP;
	void *p;

	if (need <= *cap)
		return 0;
	while (room < need) {
		if (room > SIZE_MAX / 2)
			return -ENOMEM;
		room *= 2;
	}
	if (size && room > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*items, room * size);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = room;
	return 0;
}
