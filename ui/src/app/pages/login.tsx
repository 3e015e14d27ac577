/** The API key prompt: the key is kept in this tab's sessionStorage and sent as a Bearer header only. */
import { useState } from "preact/hooks";

export function LoginPage({ onLogin, refused }: { onLogin: (key: string) => void; refused?: string }) {
  const [key, setKey] = useState("");
  return (
    <form
      class="card login"
      data-testid="login"
      onSubmit={(e) => {
        e.preventDefault();
        if (key.trim()) onLogin(key.trim());
      }}
    >
      <h2>API key</h2>
      <p class="muted">This server asks for an API key (mcp.yaml server.keys or MCP_API_KEYS). It is kept in this tab only (sessionStorage) and sent in the Authorization header, never in a URL.</p>
      {refused ? (
        <p class="error-text" role="alert" data-testid="login-refused">
          The server refused the key: {refused}
        </p>
      ) : null}
      <div class="form-field">
        <label for="api-key">key</label>
        <input id="api-key" type="password" autoComplete="current-password" autoFocus value={key} onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)} />
      </div>
      <button type="submit" class="primary">
        Sign in
      </button>
    </form>
  );
}
