// A benchmark that cannot vouch for its numbers (lost, duplicated or late messages, a broken setup) stops with this.

export class BenchFailure extends Error {
  override readonly name = "BenchFailure";
}
