/**
 * Background tasks: functions run after the response has been sent, in order.
 */

/** A function a background task may run; sync or async. */
export type TaskFunction<A extends unknown[] = unknown[]> = (...args: A) => unknown;

/**
 * One function and its arguments, run after the response is sent.
 *
 * @example
 * ```ts
 * const task = new BackgroundTask(sendWelcomeEmail, 'alice@example.org');
 * return new JSONResponse({ ok: true }, { background: task });
 * ```
 */
export class BackgroundTask<A extends unknown[] = any[]> {
  readonly func: TaskFunction<A>;
  readonly args: A;

  constructor(func: TaskFunction<A>, ...args: A) {
    this.func = func;
    this.args = args;
  }

  /** Runs the function (awaiting it when it returns a promise). */
  async run(): Promise<void> {
    await this.func(...this.args);
  }
}

/**
 * Several tasks run one after the other; an error stops the rest and propagates (so it is logged by the
 * error middleware or the server, never silently lost).
 *
 * @example
 * ```ts
 * const tasks = new BackgroundTasks();
 * tasks.addTask(log, 'signup', user.id);
 * tasks.addTask(async () => await mailer.send(user));
 * return new PlainTextResponse('ok', { background: tasks });
 * ```
 */
export class BackgroundTasks extends BackgroundTask<[]> {
  readonly tasks: BackgroundTask[];

  constructor(tasks: Iterable<BackgroundTask> = []) {
    super(() => undefined);
    this.tasks = [...tasks];
  }

  /** Queues `func(...args)`. */
  addTask<A extends unknown[]>(func: TaskFunction<A>, ...args: A): void {
    this.tasks.push(new BackgroundTask(func, ...args) as BackgroundTask);
  }

  override async run(): Promise<void> {
    for (const task of this.tasks) await task.run();
  }
}
