// Optional peer dependencies (ccxt, openai): loaded only by the part that needs them, and a missing
// one is an error that names the package and the command that installs it.

/** Whether `error` is Node failing to find `pkg` itself (not a module that `pkg` imports). */
export function isMissingPackage(error: unknown, pkg: string): boolean {
  const e = error as NodeJS.ErrnoException | null | undefined;
  const code = e?.code;
  return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && typeof e?.message === 'string' && e.message.includes(`'${pkg}'`);
}

/** `require(pkg)`, or an error saying that `feature` needs the optional package `pkg` and how to install it. */
export function requireOptional(pkg: string, feature: string): unknown {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(pkg) as unknown;
  } catch (error) {
    if (isMissingPackage(error, pkg)) throw new Error(`axon-llm: ${feature} needs the optional package "${pkg}": npm install ${pkg}`, { cause: error });
    throw error;
  }
}
