// "Copy diagnostics": the desk's text for support (built in Rust, no guest data nor secrets)
// put on the clipboard. What the clerk is told comes back as an i18n key.

export type CopyOutcome = "support.copied" | "support.copyFailed";

export async function copyDiagnostics(
  get: () => Promise<string>,
  write: (text: string) => Promise<void>,
): Promise<CopyOutcome> {
  try {
    await write(await get());
    return "support.copied";
  } catch {
    return "support.copyFailed";
  }
}
