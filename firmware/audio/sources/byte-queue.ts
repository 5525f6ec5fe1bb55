// A FIFO of byte chunks read out in whole frames: the buffer between a producer
// (ffmpeg's stdout, a pipe) and the engine's 20 ms reads.

export class ByteQueue {
  private parts: Buffer[] = [];
  private offset = 0; // consumed bytes of parts[0]
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.length += b.length;
  }

  /** Copies out `bytes` (≤ length) into `dst` starting at dstOffset. */
  take(bytes: number, dst?: Uint8Array, dstOffset = 0): void {
    let left = Math.min(bytes, this.length);
    this.length -= left;
    while (left > 0) {
      const head = this.parts[0];
      if (!head) break;
      const n = Math.min(left, head.length - this.offset);
      if (dst) dst.set(head.subarray(this.offset, this.offset + n), dstOffset);
      dstOffset += n;
      left -= n;
      this.offset += n;
      if (this.offset === head.length) {
        this.parts.shift();
        this.offset = 0;
      }
    }
  }

  /** Reads up to `frames` whole frames as samples. */
  readFrames(frames: number, bpf: number): Int16Array {
    const n = Math.max(0, Math.min(Math.floor(frames), Math.floor(this.length / bpf)));
    const out = new Int16Array((n * bpf) / 2);
    this.take(n * bpf, new Uint8Array(out.buffer));
    return out;
  }

  clear(): void {
    this.parts = [];
    this.offset = 0;
    this.length = 0;
  }
}
