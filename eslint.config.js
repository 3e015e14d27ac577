// ESLint: the code's habits, and the floors of the house (docs/architecture.md). A file imports
// only from its own floor or below, never up and never in a circle; a wrong-way import fails
// `npm test`. Formatting is Prettier's (npm run format), not ESLint's.
import js from "@eslint/js";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

/** Floors, top to bottom: the folders (or files) of src/ on each. */
const FLOORS = [
  ["faces", ["cli", "server", "index.ts"]],
  ["protocol", ["protocol"]],
  ["live", ["watch", "queue", "testing", "report"]],
  ["engine", ["orchestrator"]],
  ["loading", ["compiler"]],
  ["parts", ["registry", "models", "store", "cache", "context", "telemetry"]],
  ["language", ["config", "schema", "expr"]],
  ["ground", ["events", "diagnostics", "util"]],
];

const path = (name) => `./src/${name}`;

/** One zone per floor: its folders may not import from any floor above it. */
const zones = FLOORS.slice(1).map(([floor, folders], i) => {
  const above = FLOORS.slice(0, i + 1);
  return {
    target: folders.map(path),
    from: above.flatMap(([, f]) => f.map(path)),
    message: `the ${floor} floor imports only from its own floor or below (${above.map(([f]) => f).join(", ")} are above it; see docs/architecture.md)`,
  };
});

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "bench/**", "scripts/**", "test/fixtures/**", "*.config.*"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.ts", "test/**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": [".ts", ".js"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "./tsconfig.json" })],
    },
    rules: {
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-restricted-paths": ["error", { zones }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports", disallowTypeAnnotations: false }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // Rules that need types: the source only (the tests are not in tsconfig.json, and
    // type-checking them would double the time lint takes).
    files: ["src/**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      // A switch over a union names every member, even with a default: a new run event or
      // step kind is a lint error wherever it is not handled (the default ends in unreachable()).
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: false }],
    },
  },
  {
    // Only the faces write to the console (STYLE section 4).
    files: ["src/**/*.ts"],
    ignores: ["src/cli/**"],
    rules: { "no-console": "error" },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "no-restricted-syntax": ["error", { selector: "MemberExpression[object.name=/^(it|describe|test)$/][property.name='only']", message: "never commit .only" }],
    },
  },
);
