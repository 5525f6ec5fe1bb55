// systeminformation's memory module on its own (the package's types cover only its index).
declare module 'systeminformation/lib/memory.js' {
  import type { Systeminformation } from 'systeminformation';
  const memory: { mem(): Promise<Systeminformation.MemData> };
  export default memory;
}
