/** The engine answers some idempotent requests with a status that means "already so" (304, 404, 409). */
export async function ignoreStatus<T>(p: Promise<T>, ...statuses: number[]): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (statuses.includes((e as { statusCode?: number }).statusCode ?? -1)) return undefined;
    throw e;
  }
}
