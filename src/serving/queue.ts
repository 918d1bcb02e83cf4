/**
 * The bounded waiting queue: jobs that have not started prefill, in arrival
 * order. Capacity is counted in rows (a job with n = 4 takes four places).
 */
import type { Job } from './state.js';

export class WaitingQueue {
  private readonly jobs: Job[] = [];

  get length(): number { return this.jobs.length; }

  /** Rows waiting. */
  get rows(): number {
    let n = 0;
    for (const j of this.jobs) n += j.n;
    return n;
  }

  push(job: Job): void { this.jobs.push(job); }

  /** The oldest job, without taking it. */
  peek(): Job | undefined { return this.jobs[0]; }

  shift(): Job | undefined { return this.jobs.shift(); }

  /** Takes `job` out of the queue; false when it is not waiting here. */
  remove(job: Job): boolean {
    const i = this.jobs.indexOf(job);
    if (i < 0) return false;
    this.jobs.splice(i, 1);
    return true;
  }

  all(): readonly Job[] { return this.jobs; }
}
