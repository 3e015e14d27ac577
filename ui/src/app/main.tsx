import { render } from "preact";
import "../styles.css";

render(<p>mcp</p>, document.getElementById("app")!);
