// Things a benchmark started, stopped in reverse order however the run ends (including Ctrl-C).

export class CleanupStack {
  private readonly steps: { what: string; run: () => Promise<void> | void }[] = [];

  add(what: string, run: () => Promise<void> | void): void {
    this.steps.push({ what, run });
  }

  /** Runs every step, newest first; a failing step is reported and does not stop the others. */
  async runAll(report: (line: string) => void): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        report(`could not stop ${step.what}: ${(err as Error)?.message ?? String(err)}`);
      }
    }
  }
}
