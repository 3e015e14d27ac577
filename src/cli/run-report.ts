/** Writing a run's HTML report and GitHub step summary from the command line. */
import { writeRunReports, type WriteReportOptions } from "../report/write-report.js";
import { writeLine, type CliIo } from "./io.js";

export { EventRecorder } from "../report/write-report.js";

/** Writes the HTML report and the step summary; a failure to write is an error message, not a stack. */
export async function writeReports(io: CliIo, o: WriteReportOptions, quiet: boolean): Promise<boolean> {
  try {
    const written = await writeRunReports(o);
    if (!quiet && o.htmlFile !== undefined) writeLine(io.stderr, `report: ${o.htmlFile}`);
    return written.length > 0;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "EISDIR" && o.htmlFile !== undefined ? `'${o.htmlFile}' is a folder; give a file name, like ${o.htmlFile.replace(/\/+$/, "")}/run.html` : (e as Error).message;
    writeLine(io.stderr, `error: could not write the run report: ${why}`);
    return false;
  }
}
