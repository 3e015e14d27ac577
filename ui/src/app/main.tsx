/**
 * The web UI served by `mcp serve` at /: pipelines (the live set, updated as files are
 * saved), a pipeline's graph and run form, runs (filterable), and a run's live page.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ThemeToggle, applyTheme } from "../components/theme.js";
import { apiKey, onUnauthorized, setApiKey } from "./api.js";
import { LoginPage } from "./pages/login.js";
import { PipelinePage } from "./pages/pipeline.js";
import { PipelinesPage } from "./pages/pipelines.js";
import { RunPage } from "./pages/run.js";
import { RunsPage } from "./pages/runs.js";
import { href, useRoute } from "./router.js";
import "../styles.css";

function App() {
  const route = useRoute();
  const [needsKey, setNeedsKey] = useState(false);
  // Why the key given was refused (a wrong key): shown above the prompt. None when none was given.
  const [refused, setRefused] = useState<string | undefined>();
  const [epoch, setEpoch] = useState(0);
  useEffect(
    () =>
      onUnauthorized((message) => {
        setRefused(apiKey() ? message : undefined);
        setNeedsKey(true);
      }),
    [],
  );
  const [section = "pipelines", id] = route.path;

  let page;
  if (needsKey)
    page = (
      <LoginPage
        {...(refused ? { refused } : {})}
        onLogin={(key) => {
          setApiKey(key);
          setNeedsKey(false);
          setEpoch((n) => n + 1);
        }}
      />
    );
  else if (section === "pipelines" && id) page = <PipelinePage name={id} />;
  else if (section === "runs" && id) page = <RunPage id={id} />;
  else if (section === "runs") page = <RunsPage query={route.query} />;
  else page = <PipelinesPage />;

  return (
    <>
      <header class="topbar">
        <h1>mcp</h1>
        <nav aria-label="main">
          <a href={href(["pipelines"])} class={section === "pipelines" ? "active" : ""} aria-current={section === "pipelines" ? "page" : undefined}>
            Pipelines
          </a>
          <a href={href(["runs"])} class={section === "runs" ? "active" : ""} aria-current={section === "runs" ? "page" : undefined}>
            Runs
          </a>
        </nav>
        <span class="spacer" />
        {apiKey() ? (
          <button
            type="button"
            onClick={() => {
              setApiKey(undefined);
              setRefused(undefined);
              setNeedsKey(true);
            }}
          >
            forget key
          </button>
        ) : null}
        <ThemeToggle />
      </header>
      <main key={epoch}>{page}</main>
    </>
  );
}

applyTheme();
render(<App />, document.getElementById("app")!);
