// The size of the crypto engine's wasm heap. wasm memory only grows (it is never handed back to the OS), so this is
// the high-water mark of what the open machines needed; the pool logs it so that a leak shows as steady growth.
// The wasm module keeps its instance private: the instance is picked up as it is created, which works when this is
// called before the module is first loaded (installCryptoStorage does), and reports undefined otherwise.
// TypeScript's ES2023 library has no WebAssembly types; Node has the API. The few parts used here:
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  instantiate: (...args: unknown[]) => Promise<unknown>;
  Instance: new (...args: never[]) => { exports: Record<string, unknown> };
  Memory: new (...args: never[]) => WasmMemory;
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let memory: WasmMemory | undefined;
let hooked = false;

export function watchWasmMemory(): void {
  if (hooked) return;
  hooked = true;
  const original = WebAssembly.instantiate;
  const hook = async function (this: unknown, ...args: unknown[]) {
    const out = (await original.apply(this, args)) as { instance?: { exports: Record<string, unknown> } } | { exports: Record<string, unknown> };
    const instance = out instanceof WebAssembly.Instance ? out : (out as { instance?: { exports: Record<string, unknown> } }).instance;
    const exports = instance?.exports ?? {};
    const mem = exports["memory"];
    if (mem instanceof WebAssembly.Memory && typeof exports["__wbg_olmmachine_free"] === "function") {
      memory = mem;
      WebAssembly.instantiate = original;
    }
    return out;
  };
  WebAssembly.instantiate = hook;
}

/** Bytes of the crypto engine's wasm heap, when known. */
export function wasmHeapBytes(): number | undefined {
  return memory?.buffer.byteLength;
}
