// Search as you type: only the answer to the latest keystroke is shown, however the answers
// arrive (a slow answer to "mar" must not replace the one to "mart").

export function latestOnly<A extends unknown[], T>(run: (...args: A) => Promise<T>) {
  let ticket = 0;
  return async (...args: A): Promise<{ current: boolean; value: T }> => {
    const mine = ++ticket;
    const value = await run(...args);
    return { current: mine === ticket, value };
  };
}
