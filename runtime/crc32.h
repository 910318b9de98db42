/* crc32.h - the two implementations behind kiln_crc32 (the bundle checksum, kiln/bundle.h), so
 * that the tests can check each against the other whatever the CPU picks. */
#ifndef KILN_RT_CRC32_H
#define KILN_RT_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Table-driven, any CPU. */
uint32_t kiln_crc32_portable(uint32_t crc, const void *p, size_t n);
/* Carry-less multiplication (x86-64 PCLMULQDQ) for the bulk, the table for the tail; the
 * portable one when this build or CPU lacks the instruction. */
uint32_t kiln_crc32_clmul(uint32_t crc, const void *p, size_t n);
/* 1 when kiln_crc32_clmul really uses the instruction here. */
int kiln_crc32_clmul_supported(void);

#endif
