/** Light, dark, or the system's choice; remembered in localStorage where it is allowed. */
import { useState } from "preact/hooks";

type Theme = "auto" | "light" | "dark";

function stored(): Theme {
  try {
    return (localStorage.getItem("mcp-theme") as Theme | null) ?? "auto";
  } catch {
    return "auto";
  }
}

export function applyTheme(t: Theme = stored()): void {
  if (t === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(stored);
  applyTheme(theme);
  const next: Record<Theme, Theme> = { auto: "light", light: "dark", dark: "auto" };
  return (
    <button
      type="button"
      class="theme-toggle"
      aria-label={`colour theme: ${theme} (click to change)`}
      onClick={() => {
        const t = next[theme];
        setTheme(t);
        try {
          localStorage.setItem("mcp-theme", t);
        } catch {
          // file:// pages may not have storage: the choice lasts for the page.
        }
      }}
    >
      theme: {theme}
    </button>
  );
}
