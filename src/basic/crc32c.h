/* SPDX-License-Identifier: MIT */
/* CRC-32C (Castagnoli), as used by iSCSI, ext4 and btrfs, for record checksums. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: crc32c(0, ...) starts a new one. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);
