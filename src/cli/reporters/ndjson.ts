/** Every event as one JSON line (for log shippers and end-to-end tests). */
import type { Writable } from "node:stream";
import type { RunEvent, RunObserver } from "../../events/event.js";

export class NdjsonReporter implements RunObserver {
  constructor(readonly out: Writable) {}
  onEvent(e: RunEvent): void {
    this.out.write(JSON.stringify(e) + "\n");
  }
}
