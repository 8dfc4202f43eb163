// Search as you type: only the answer to the latest keystroke is shown, however the answers
// arrive (a slow answer to "mar" must not replace the one to "mart").

export function latestOnly<T>(run: (term: string) => Promise<T>) {
  let ticket = 0;
  return async (term: string): Promise<{ current: boolean; value: T; term: string }> => {
    const mine = ++ticket;
    const value = await run(term);
    return { current: mine === ticket, value, term };
  };
}
