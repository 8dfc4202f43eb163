// ESLint for the desk's UI: the recommended rules of JavaScript, TypeScript (typescript-eslint) and
// Svelte 5 (eslint-plugin-svelte). Formatting is Prettier's job (`npm run format`), not ESLint's.
import js from "@eslint/js";
import svelte from "eslint-plugin-svelte";
import globals from "globals";
import ts from "typescript-eslint";

export default ts.config(
  { ignores: ["dist/", "node_modules/", "src/lib/generated/"] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ["**/*.svelte", "**/*.svelte.ts"],
    languageOptions: { parserOptions: { parser: ts.parser } },
    rules: {
      // Reading a value as a statement inside `$effect` is how Svelte 5 declares a dependency.
      "@typescript-eslint/no-unused-expressions": "off",
    },
  },
  {
    // The WebDriver run is a Node script.
    files: ["e2e/**/*.mjs"],
    languageOptions: { globals: { ...globals.node } },
  },
);
