/* SPDX-License-Identifier: MIT */
/* Random (version 4) UUIDs as text. */
#pragma once

#define UUID_TEXT_LEN 37 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" and its NUL */

/* A new random UUID into out. Returns 0 or -EIO (no random bytes). */
int uuid_random_text(char out[UUID_TEXT_LEN]);
