// IndexedDB reports failures as DOMExceptions named after the failure (ConstraintError, DataError ...); callers (the
// crypto engine's Rust side) tell them apart by name.
export function idbError(name: string, message: string): DOMException {
  return new DOMException(message, name);
}
