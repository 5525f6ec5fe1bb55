// glibc raises its mmap threshold each time a large block is freed, after which
// blocks of that size come from per-thread heaps and stay there once freed. The
// box's owner login (scrypt: 16 MB per check, on libuv's thread pool) then left
// the process about 64 MB larger for good after a storm of logins, one block per
// pool thread. A fixed threshold (1 MiB) keeps such blocks mmapped: they return
// to the system when freed. Not glibc (or no libc to load): nothing to do.

import koffi from 'koffi';

const M_MMAP_THRESHOLD = -3; // <malloc.h>

export function fixMmapThreshold(bytes = 1 << 20): boolean {
  try {
    const mallopt = koffi.load('libc.so.6').func('int mallopt(int param, int value)');
    return mallopt(M_MMAP_THRESHOLD, bytes) === 1;
  } catch {
    return false;
  }
}
