/**
 * A service that cannot start, told in words: what is wrong and what to do. Entry points
 * print these two lines instead of a stack trace and exit with 1.
 */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

/** Runs an entry point; a StartupError ends it with its two lines, anything else with the stack. */
export async function runEntryPoint(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof StartupError) {
      console.error(`[${name}] ${error.message}\n[${name}] fix: ${error.fix}`);
    } else {
      console.error(`[${name}] failed:`, error);
    }
    process.exit(1);
  }
}
