// `watchgate run` serving Streamable HTTP as a server of its own (the config says transport: http,
// port 0): resolves with the process and the address it logs ("listening on <url>").
import { spawn } from "node:child_process";

export function startHttpGateway(watchgate, config) {
  const gateway = spawn(watchgate, ["run", "--config", config], { stdio: ["ignore", "inherit", "pipe"] });
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`no "listening on" in the gateway's log: ${seen}`)), 30000);
    gateway.stderr.on("data", (chunk) => {
      process.stderr.write(chunk);
      seen += chunk;
      const found = /listening on (https?:\/\/\S+)/.exec(seen);
      if (found) {
        clearTimeout(timer);
        resolve({ gateway, endpoint: new URL(found[1]) });
      }
    });
    gateway.on("exit", (code) => reject(new Error(`the gateway exited (${code}): ${seen}`)));
  });
}
